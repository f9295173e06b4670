"""Acceptance tier: the worker's sandboxed Asterisk 22 (one per pytest-xdist worker, reset
between tests; tests/support/testbed.py), SIPp phones, and the callback service running in
this process against a fresh store.

The store is a fresh SQLite file or an emptied PostgreSQL database (the worker's throwaway
cluster, tests/support/postgres.py): every test that runs the service runs on each store,
but in modules marked ``ONE_STORE`` (the store plays no part there: SIP authentication, the
stock installation, benchmarks' smokes). CALLBACK_TEST_STORE=sqlite|postgres runs the tier on
that store alone (a quicker loop; `make test-acceptance-pg`)."""

import fcntl
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.config.voice_messages import VoiceMessages
from tests.acceptance.calls import Phones
from tests.support import second_asterisk as asterisk2
from tests.support.ami import (
    ami_client,
    reset,
    sandbox_secret,
)
from tests.support.postgres import STORES, TEST_STORE, PostgresServer
from tests.support.testbed import TESTBED_NUMBERS, TestBed, current

REPO = Path(__file__).resolve().parents[2]
# How long a session waits for another run to let go of its worker's Asterisk.
LOCK_WAIT_S = 1800


@pytest.fixture(scope="session")
def sandbox(testbed: TestBed) -> Iterator[None]:
    """The worker's Asterisk, up and fully booted, held (flock) for the session: two runs
    on one machine take turns on an instance rather than reset each other's calls. An
    instance other than 1 (the one `make run` and the docs use) is stopped after the run."""
    if os.geteuid() != 0 or shutil.which("sipp") is None:
        pytest.fail("the acceptance tier needs root and SIPp: run it with `make test`")
    asterisk = testbed.asterisk
    with asterisk.lockfile().open("w") as lock:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{asterisk.lockfile()} held by another run for {LOCK_WAIT_S} s")
                time.sleep(0.5)
        asterisk.up()
        try:
            yield
        finally:
            if asterisk.instance != 1:
                asterisk.down()


@pytest.fixture
def restarts_asterisk(sandbox: None, testbed: TestBed) -> Iterator[None]:
    """For a test that restarts Asterisk: the agents come back unpaused and are rung with no
    phone listening, and Asterisk retransmits such an INVITE for 32 s (it cannot CANCEL before
    a provisional answer) to whatever phone the next test starts on that port. A last restart
    with no call left ends those transactions. Ask for it first, so it runs after the test's
    own teardown."""
    yield
    testbed.asterisk.down()
    testbed.asterisk.up()


@pytest.fixture
async def ami(sandbox: None) -> AsyncIterator[Manager]:
    """An AMI connection to a PBX with no calls and every agent paused."""
    async with ami_client() as manager:
        await reset(manager)
        yield manager


@pytest.fixture(scope="module")
def second_asterisk(sandbox: None) -> Iterator[None]:
    """The worker's second Asterisk (tests/support/second_asterisk.py), up for the module's
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
    """A test that runs the service runs on each store (on CALLBACK_TEST_STORE's alone where
    it is set), but in a module marked ONE_STORE."""
    if "store_backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("one_store") is not None:
        return
    chosen = os.environ.get(TEST_STORE)
    metafunc.parametrize("store_backend", [chosen] if chosen else STORES, indirect=True)


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    """sqlite or postgres: the test's parameter, else CALLBACK_TEST_STORE's, else sqlite."""
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
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    host = current().host  # the worker's Asterisk; FastAGI and the web on its address
    return Settings(
        ami_host=host,
        agi_host=host,
        web_host=host,
        store_url=store_url,
        store_path=tmp_path / "callbacks.sqlite3",
        store_busy_timeout=0.3,
        # PostgreSQL's bound on a wait, and its serving lease's term (checked every half of
        # it): the service runs here in the test's own process, beside RTP sinks matching
        # prompts, on 2 cores shared by every worker. At the shipped 5 s a check delayed 2.5 s
        # in the busiest minute of a run (every worker starting its Asterisk, its PostgreSQL
        # and Chromium) now and then passed for a lost lease. Lease timing has tests of its
        # own (test_standby.py, test_store_faults.py, tests/integration/test_leadership*.py).
        store_timeout=10,
        customer_ring_seconds=5,
        ami_secret_file=sandbox_secret("callback"),
        allowed_number_prefixes=TESTBED_NUMBERS,
        # The sandbox's recordings, where this host sees them (the Live view plays them).
        voice_messages=VoiceMessages(local_dir=current().asterisk.voice_messages()),
    )


@pytest.fixture
async def phones(tmp_path: Path) -> AsyncIterator[Phones]:
    async with AsyncExitStack() as stack:
        yield Phones(stack, tmp_path)


@pytest.fixture
async def service(ami: Manager, settings: Settings) -> AsyncIterator[Service]:
    async with Service(settings) as running:
        yield running
