"""A request stored on PostgreSQL is announced to the serving process at its commit
(agi_app/store/postgres/notices.py): a standby's FastAGI stores it, the leader places it at once.
The service hears only request ids, through open_backend (agi_app/store/open.py)."""

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from agi_app.config.settings import Settings
from agi_app.store.open import StoreConfig, open_backend
from agi_app.store.postgres import PgStore
from agi_app.store.postgres.leadership import PgLeadership
from agi_app.store.postgres.notices import PROCESS, STORED, stored_elsewhere
from tests.integration.pg_locks import session
from tests.support.poll import eventually_local
from tests.support.store_samples import REQUEST


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PgStore]:
    async with PgStore.open(postgres_url) as opened:
        yield opened


async def test_a_stored_request_is_announced_to_the_leader_once_committed(
    store: PgStore, postgres_url: str
) -> None:
    heard: list[str] = []
    leader = PgLeadership(postgres_url, timeout=1.0, listen={STORED: heard.append})
    try:
        await leader.acquire()
        stored = await store.add(REQUEST)
        await eventually_local(lambda: heard, lambda h: len(h) == 1, within=5, what="a notice")
        assert heard == [f"{PROCESS} {stored.id}"]
        await store.add(replace(REQUEST, id="another-id"))  # a repeat: nothing new to place
        await store.add(replace(REQUEST, id="other", channel="ch-2", callback_number="+15550002"))
        await eventually_local(lambda: heard, lambda h: len(h) == 2, within=5, what="2 notices")
        assert heard[1].endswith(" other")
    finally:
        await leader.release()


def test_a_process_ignores_its_own_notices_and_reads_the_others() -> None:
    assert stored_elsewhere(f"{PROCESS} r1") is None  # told in-process already
    assert stored_elsewhere("db2:4242 r1") == "r1"
    assert stored_elsewhere("garbage") is None


async def test_the_leading_backend_hands_the_service_the_ids_other_processes_stored(
    postgres_url: str,
) -> None:
    heard: list[str] = []
    settings = Settings(store_url=postgres_url, store_timeout=1.0)
    async with (
        open_backend(StoreConfig.of(settings), stored_elsewhere=heard.append) as backend,
        session(postgres_url) as other_process,
    ):
        await backend.store.add(REQUEST)  # before it leads: found by its reconciliation
        await backend.leadership.acquire()
        await backend.store.add(replace(REQUEST, id="mine", channel="ch-2", queue="sales"))
        await other_process.execute("SELECT pg_notify(%s, %s)", (STORED, "db2:4242 r9"))
        await eventually_local(lambda: heard, lambda h: len(h) == 1, within=5, what="a notice")
        assert heard == ["r9"]  # its own ("mine") was told in-process, and is not heard again
