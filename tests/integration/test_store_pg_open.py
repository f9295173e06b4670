"""Opening the PostgreSQL store: its schema versions, the settings that choose a backend,
and a server that is unreachable, slow, restarted or gone (StoreUnavailable, as SQLite's)."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from agi_app.config.settings import Settings
from agi_app.domain.errors import StoreMissing, StoreUnavailable
from agi_app.domain.request import CallbackRequest
from agi_app.store.open import StoreConfig, open_store, shown
from agi_app.store.postgres import PgStore, locks
from agi_app.store.postgres.migrations import MIGRATIONS
from agi_app.store.rows import COLUMNS
from agi_app.store.sqlite.store import Store
from tests.integration.pg_locks import hold, session
from tests.support.poll import eventually
from tests.support.postgres import PostgresServer, start
from tests.support.store_samples import NOW, REQUEST


async def test_a_new_database_is_migrated_once_by_services_starting_together(
    new_postgres_url: str,
) -> None:
    async def open_and_add(n: int) -> int:
        async with PgStore.open(new_postgres_url) as store:
            await store.note(await store.add(REQUEST), "opened", NOW, {"by": n})
            return await store.schema_version()

    assert await asyncio.gather(*(open_and_add(n) for n in range(4))) == [len(MIGRATIONS)] * 4
    async with PgStore.open(new_postgres_url) as store:  # reopened: kept, not migrated again
        assert [r.id for r in await store.requests()] == ["r1"]
        assert [e.event for e in await store.events("r1")].count("opened") == 4


async def test_a_database_newer_than_the_service_is_refused(new_postgres_url: str) -> None:
    async with PgStore.open(new_postgres_url), session(new_postgres_url) as test:
        await test.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreUnavailable, match="schema 99 is newer"):
        async with PgStore.open(new_postgres_url):
            pass


async def test_a_read_only_command_creates_no_store_in_a_new_database(
    new_postgres_url: str,
) -> None:
    settings = Settings(store_url=new_postgres_url)
    with pytest.raises(StoreMissing, match="no callback store in the PostgreSQL database"):
        async with open_store(StoreConfig.of(settings), existing=True):
            pass
    async with session(new_postgres_url) as test:
        cursor = await test.execute("SELECT to_regclass('schema_version') IS NULL")
        assert await cursor.fetchone() == (True,)
    async with (
        open_store(StoreConfig.of(settings)),
        open_store(StoreConfig.of(settings), existing=True) as store,
    ):
        assert await store.requests() == []  # once there, it opens


async def test_the_schema_has_a_column_for_every_field_of_a_request(postgres_url: str) -> None:
    """A field added to CallbackRequest needs a PostgreSQL migration too (store_pg)."""
    async with PgStore.open(postgres_url), session(postgres_url) as test:
        cursor = await test.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'requests'"
        )
        columns = {str(row[0]) for row in await cursor.fetchall()}
    assert set(COLUMNS) - columns == set()


async def test_an_unreachable_server_is_unavailable_within_the_timeout(tmp_path: Path) -> None:
    url = f"postgresql://callback@/callbacks?host={tmp_path}"  # no server's socket there
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="cannot reach"):
        async with PgStore.open(url, timeout=1.0):
            pass
    assert time.monotonic() - started < 3


async def test_a_write_kept_waiting_past_the_timeout_is_unavailable(postgres_url: str) -> None:
    async with PgStore.open(postgres_url, timeout=0.5) as store, session(postgres_url) as test:
        await hold(test, locks.EVENTS)  # as a writer that never commits would
        with pytest.raises(StoreUnavailable, match="timeout"):
            await store.add(REQUEST)
        assert await store.requests() == []  # nothing of it was kept
        await test.execute("SELECT pg_advisory_unlock_all()")
        assert await store.add(REQUEST) == REQUEST


async def test_connections_the_server_dropped_cost_no_request(postgres_url: str) -> None:
    async with PgStore.open(postgres_url, pool_size=4) as store, session(postgres_url) as test:
        await asyncio.gather(*(store.get(f"r{n}") for n in range(8)))  # fill the pool
        await test.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert await store.add(REQUEST) == REQUEST


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server of this test's own, to stop and start."""
    server = start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_server_gone_is_unavailable_and_its_return_is_served(
    own_server: PostgresServer,
) -> None:
    url = own_server.new_database()
    async with PgStore.open(url, timeout=1.0) as store:
        await store.add(REQUEST)
        own_server.halt()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.get("r1")
        assert time.monotonic() - started < 5
        own_server.resume()
        # The same store, no restart of the service: its pool connects again.
        await eventually(_reads(store), lambda got: got == REQUEST, within=15, what="served")


def _reads(store: PgStore) -> Callable[[], Awaitable[CallbackRequest | None]]:
    async def read() -> CallbackRequest | None:
        try:
            return await store.get("r1")
        except StoreUnavailable:
            return None

    return read


async def test_the_settings_choose_the_backend(tmp_path: Path, postgres_url: str) -> None:
    path = tmp_path / "var" / "cb.sqlite3"
    assert Settings(store_path=path).store_address() == f"sqlite:///{path}"  # as before
    async with open_store(StoreConfig.of(Settings(store_path=path))) as store:
        assert isinstance(store, Store)
        await store.add(REQUEST)
    async with open_store(StoreConfig.of(Settings(store_url=f"sqlite:///{path}"))) as store:
        assert await store.get("r1") == REQUEST
    async with open_store(
        StoreConfig.of(Settings(store_url=postgres_url, store_pool_size=2))
    ) as store:
        assert isinstance(store, PgStore)
        assert await store.get("r1") is None  # another store altogether
    with pytest.raises(ValidationError):
        Settings(store_url="mysql://callback@db/callbacks")


def test_a_url_is_logged_without_its_password() -> None:
    assert shown("postgresql://cb:s3cret@db.example:5433/callbacks") == (
        "postgresql://cb:***@db.example:5433/callbacks"
    )
    assert shown("postgresql://cb@db/callbacks") == "postgresql://cb@db/callbacks"
