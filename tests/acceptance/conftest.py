"""Acceptance tier: the sandboxed Asterisk 22 (one per test run, reset between tests), SIPp
phones, and the callback service running in this process against a fresh store.

The store is a fresh SQLite file, or an emptied PostgreSQL database (the throwaway cluster of
tests/support/postgres.py) where ``store_backend`` says so: modules marked with ``BOTH_STORES``
run on each, and CALLBACK_TEST_STORE=postgres runs the whole tier on PostgreSQL
(`make test-acceptance-pg`)."""

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.service import Service
from agi_app.settings import Settings
from tests.acceptance.calls import Phones
from tests.support import second_asterisk as asterisk2
from tests.support.ami import (
    ami_client,
    reset,
    sandbox_secret,
)
from tests.support.postgres import STORES, TEST_STORE, PostgresServer
from tests.support.testbed import TESTBED_NUMBERS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[None]:
    if os.geteuid() != 0 or shutil.which("sipp") is None:
        pytest.fail("the acceptance tier needs root and SIPp: run it with `make test`")
    subprocess.run([str(REPO / "docker" / "sandbox"), "up"], check=True)
    yield


@pytest.fixture
def restarts_asterisk(sandbox: None) -> Iterator[None]:
    """For a test that restarts Asterisk: the agents come back unpaused and are rung with no
    phone listening, and Asterisk retransmits such an INVITE for 32 s (it cannot CANCEL before
    a provisional answer) to whatever phone the next test starts on that port. A last restart
    with no call left ends those transactions. Ask for it first, so it runs after the test's
    own teardown."""
    yield
    for step in ("down", "up"):
        subprocess.run([str(REPO / "docker" / "sandbox"), step], check=True)


@pytest.fixture
async def ami(sandbox: None) -> AsyncIterator[Manager]:
    """An AMI connection to a PBX with no calls and every agent paused."""
    async with ami_client() as manager:
        await reset(manager)
        yield manager


@pytest.fixture(scope="module")
def second_asterisk(sandbox: None) -> Iterator[None]:
    """The second Asterisk (127.0.0.2, tests/support/second_asterisk.py), up for the module's
    tests that ask for it and down after them: never left running after the run."""
    with asterisk2.running():
        yield


@pytest.fixture
async def ami2(second_asterisk: None) -> AsyncIterator[Manager]:
    """As ``ami``, on the second Asterisk: no calls, every agent paused."""
    async with asterisk2.ami() as manager:
        await asterisk2.reset(manager)
        yield manager


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test of a BOTH_STORES module that runs the service runs on each store."""
    marked = metafunc.definition.get_closest_marker("both_stores") is not None
    if marked and "store_backend" in metafunc.fixturenames:
        metafunc.parametrize("store_backend", STORES, indirect=True)


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    """sqlite or postgres: a module's BOTH_STORES parameter, else CALLBACK_TEST_STORE's."""
    chosen = str(getattr(request, "param", None) or os.environ.get(TEST_STORE) or "sqlite")
    if chosen not in STORES:
        pytest.fail(f"{TEST_STORE}={chosen!r}: one of {', '.join(STORES)}")
    return chosen


@pytest.fixture
def store_url(store_backend: str, request: pytest.FixtureRequest) -> str | None:
    """The test's PostgreSQL database (emptied), or None for the SQLite file."""
    if store_backend == "sqlite":
        return None
    postgres: PostgresServer = request.getfixturevalue("postgres")
    return postgres.emptied()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str | None) -> Settings:
    monkeypatch.setenv("CALLBACK_CONFIG", "/nonexistent.toml")
    return Settings(
        store_url=store_url,
        store_path=tmp_path / "callbacks.sqlite3",
        store_busy_timeout=0.3,
        customer_ring_seconds=5,
        ami_secret_file=sandbox_secret("callback"),
        allowed_number_prefixes=TESTBED_NUMBERS,
    )


@pytest.fixture
async def phones(tmp_path: Path) -> AsyncIterator[Phones]:
    async with AsyncExitStack() as stack:
        yield Phones(stack, tmp_path)


@pytest.fixture
async def service(ami: Manager, settings: Settings) -> AsyncIterator[Service]:
    async with Service(settings) as running:
        yield running
