"""Fixtures every tier may use: the worker's test bed (tests/support/testbed.py) and its
throwaway PostgreSQL server (tests/support/postgres.py), started only when a test asks for a
database."""

from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer
from tests.support.testbed import TestBed, current


@pytest.fixture(scope="session")
def testbed() -> Iterator[TestBed]:
    """This worker's test bed: its Asterisks' addresses and ports, its phones' and carrier's
    addresses, its PostgreSQL server (one per pytest-xdist worker)."""
    bed = current()
    try:
        yield bed
    finally:
        bed.close()


@pytest.fixture(scope="session")
def postgres(testbed: TestBed) -> PostgresServer:
    return testbed.postgres()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """The URL of a database for this test alone, its tables empty (the schema may be
    there: the database is shared by the session's tests, one after the other)."""
    return postgres.emptied()


@pytest.fixture
def new_postgres_url(postgres: PostgresServer) -> str:
    """The URL of a database never used: no schema at all."""
    return postgres.new_database()


# Under xdist's worksteal a run ends when its last test does: the tiers that wait on real time
# go first, longest modules first (a minute each, measured), and the unit tier, milliseconds a
# test, last, where it fills the workers that would otherwise idle while the last call ends.
_TIERS = ("acceptance", "trials", "integration", "bench", "unit")
_LONGEST_FIRST = (
    "test_supervisor_screen.py",
    "test_readback.py",
    "test_attacks.py",
    "test_scheduled.py",
    "test_faults.py",
    "test_bad_input.py",
    "test_live.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def weight(item: pytest.Item) -> tuple[int, int]:
        parts = item.path.parts
        tier = next((_TIERS.index(p) for p in parts if p in _TIERS), len(_TIERS))
        name = item.path.name
        module = _LONGEST_FIRST.index(name) if name in _LONGEST_FIRST else len(_LONGEST_FIRST)
        return tier, module

    items.sort(key=weight)  # stable: the order within a module is kept
