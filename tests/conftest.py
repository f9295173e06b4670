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
