"""Active and standby on one PostgreSQL: one leader at a time, chosen by the database; a
takeover raises the serving lease's epoch, and the old leader's fenced writes change nothing.

Two PgLeadership objects in one test play two service processes (each its own connection);
the test's own session ends a leader's session (pg_terminate_backend) as a server that lost
sight of it would.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from psycopg import AsyncConnection

from agi_app.config.settings import Settings
from agi_app.domain.errors import NotLeader
from agi_app.domain.request import State
from agi_app.store.open import SoloLeadership, StoreConfig, open_backend
from agi_app.store.postgres import PgStore, locks
from agi_app.store.postgres.fenced import FencedStore
from agi_app.store.postgres.leadership import SERVING, PgLeadership
from tests.integration.pg_locks import hold, release, session, waiting
from tests.support.poll import eventually, eventually_local
from tests.support.store_samples import NOW, REQUEST

T = 1.0  # the leaders' timeout: checks every 0.5 s, a silent session ended after 2 s
SOON = 5.0  # for a step of milliseconds, on a loaded machine (not a bound this tier states)
PLACED = replace(REQUEST, state=State.WAITING, attempt=1)
CANCELLED = replace(REQUEST, state=State.DONE)


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PgStore]:
    async with PgStore.open(postgres_url) as opened:  # migrated: serving_lease exists
        yield opened


@pytest.fixture
async def test_session(postgres_url: str) -> AsyncIterator[AsyncConnection[tuple[object, ...]]]:
    async with session(postgres_url) as conn:
        yield conn


@pytest.fixture
async def two(postgres_url: str) -> AsyncIterator[tuple[PgLeadership, PgLeadership]]:
    one = PgLeadership(postgres_url, timeout=T, holder="one")
    other = PgLeadership(postgres_url, timeout=T, holder="other")
    try:
        yield one, other
    finally:
        await one.release()
        await other.release()


async def leader_pid(test: AsyncConnection[tuple[object, ...]]) -> int:
    """The backend holding the serving lock (a bigint key: two 32-bit halves in pg_locks)."""
    key = SERVING & 0xFFFFFFFFFFFFFFFF
    cursor = await test.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid = %s AND objid = %s AND objsubid = 1",
        (key >> 32, key & 0xFFFFFFFF),
    )
    (row,) = await cursor.fetchall()
    return int(str(row[0]))


async def lease(test: AsyncConnection[tuple[object, ...]]) -> tuple[object, ...] | None:
    cursor = await test.execute("SELECT epoch, holder FROM serving_lease WHERE id = 1")
    return await cursor.fetchone()


async def test_one_leads_the_other_waits_and_leads_with_a_higher_epoch_after_release(
    store: PgStore,
    test_session: AsyncConnection[tuple[object, ...]],
    two: tuple[PgLeadership, PgLeadership],
) -> None:
    one, other = two
    assert await one.acquire() == 1
    second = asyncio.ensure_future(other.acquire())
    await waiting(test_session, "advisory", 1, "the second at the serving lock")
    assert not second.done()
    assert await lease(test_session) == (1, "one")
    await one.release()
    assert await asyncio.wait_for(second, SOON) == 2
    assert await lease(test_session) == (2, "other")
    assert not one.lost.is_set()  # it stepped down: nothing was lost


async def test_a_leader_renews_the_lease_for_operators_to_see(
    store: PgStore,
    test_session: AsyncConnection[tuple[object, ...]],
    two: tuple[PgLeadership, PgLeadership],
) -> None:
    one, _ = two
    await one.acquire()

    async def renewed() -> object:
        cursor = await test_session.execute(
            "SELECT renewed_at > now() - interval '0.3 s' FROM serving_lease"
        )
        row = await cursor.fetchone()
        return row[0] if row else None

    await test_session.execute("UPDATE serving_lease SET renewed_at = now() - interval '1 h'")
    assert await renewed() is False
    await eventually(renewed, lambda fresh: fresh is True, within=SOON, what="renewed_at renewed")


async def test_a_leader_whose_session_is_ended_loses_the_role_and_the_standby_takes_over(
    store: PgStore,
    test_session: AsyncConnection[tuple[object, ...]],
    two: tuple[PgLeadership, PgLeadership],
) -> None:
    one, other = two
    await one.acquire()
    second = asyncio.ensure_future(other.acquire())
    await waiting(test_session, "advisory", 1, "the second at the serving lock")
    started = time.monotonic()
    await test_session.execute("SELECT pg_terminate_backend(%s)", (await leader_pid(test_session),))
    assert await asyncio.wait_for(second, SOON) == 2
    await asyncio.wait_for(one.lost.wait(), T)
    print(f"takeover and lost after an ended session: {time.monotonic() - started:.3f} s")
    assert await lease(test_session) == (2, "other")
    again = asyncio.ensure_future(one.acquire())  # stepped down, it stands by again
    await waiting(test_session, "advisory", 1, "the old leader back at the serving lock")
    await other.release()
    assert await asyncio.wait_for(again, SOON) == 3
    assert not one.lost.is_set()


async def test_the_old_leaders_fenced_writes_after_a_takeover_change_nothing(
    store: PgStore,
    test_session: AsyncConnection[tuple[object, ...]],
    two: tuple[PgLeadership, PgLeadership],
) -> None:
    one, other = two
    await store.add(REQUEST)
    old = FencedStore(store, await one.acquire())
    await old.note(REQUEST, "Checked", NOW, {"by": "one"})  # the leader's writes go through
    await test_session.execute("SELECT pg_terminate_backend(%s)", (await leader_pid(test_session),))
    new = FencedStore(store, await asyncio.wait_for(other.acquire(), SOON))
    with pytest.raises(NotLeader, match="epoch 2, this process had 1"):
        await old.save(REQUEST, PLACED, "Placed", NOW)
    with pytest.raises(NotLeader):
        await old.note(REQUEST, "Placement", NOW, {})
    with pytest.raises(NotLeader):
        await old.advance_webhook("crm", 1)
    assert await store.get("r1") == REQUEST
    assert [e.event for e in await store.events("r1")] == ["requested", "Checked"]
    assert await store.webhook_cursor("crm") is None
    await new.save(REQUEST, PLACED, "Placed", NOW)  # the new leader's do
    assert await store.get("r1") == PLACED


async def test_a_takeover_waits_for_the_old_leaders_write_in_flight(
    store: PgStore,
    test_session: AsyncConnection[tuple[object, ...]],
    two: tuple[PgLeadership, PgLeadership],
) -> None:
    """A write past its fence when the role changes hands commits before the new epoch:
    the new leader, reconciling after its takeover, sees it."""
    one, other = two
    await store.add(REQUEST)
    old = FencedStore(store, await one.acquire())
    await hold(test_session, locks.EVENTS)
    in_flight = asyncio.ensure_future(old.save(REQUEST, PLACED, "Placed", NOW))
    await waiting(test_session, "advisory", 1, "the old leader's save at the event log")
    await one.release()
    takeover = asyncio.ensure_future(other.acquire())
    await waiting(test_session, "transactionid", 1, "the takeover at the lease row")
    assert not takeover.done()
    await release(test_session, locks.EVENTS)
    await in_flight
    assert await asyncio.wait_for(takeover, SOON) == 2
    assert await store.get("r1") == PLACED
    with pytest.raises(NotLeader):
        await old.save(PLACED, CANCELLED, "Cancelled", NOW)
    assert [e.event for e in await store.events("r1")] == ["requested", "Placed"]


async def test_a_lease_moved_on_under_a_live_leader_is_lost_at_the_next_check(
    store: PgStore,
    test_session: AsyncConnection[tuple[object, ...]],
    two: tuple[PgLeadership, PgLeadership],
) -> None:
    """The check reads the epoch, not only the connection (an operator's hand, a bug)."""
    one, _ = two
    await one.acquire()
    await test_session.execute("UPDATE serving_lease SET epoch = epoch + 1")
    await asyncio.wait_for(one.lost.wait(), 2 * T)
    await eventually(
        lambda: _granted_advisory(test_session),
        lambda n: n == 0,
        within=SOON,
        what="the serving lock freed",
    )


async def _granted_advisory(test: AsyncConnection[tuple[object, ...]]) -> int:
    cursor = await test.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
    row = await cursor.fetchone()
    return int(str(row[0])) if row else 0


async def test_a_renewal_never_waits_for_the_leaders_own_writes(
    store: PgStore,
    test_session: AsyncConnection[tuple[object, ...]],
    two: tuple[PgLeadership, PgLeadership],
) -> None:
    """A fenced write held up for longer than a check (its row lock on the lease) does not
    make the leader give up the role."""
    one, _ = two
    await store.add(REQUEST)
    fenced = FencedStore(store, await one.acquire())
    await hold(test_session, locks.EVENTS)
    held = asyncio.ensure_future(fenced.save(REQUEST, PLACED, "Placed", NOW))
    await waiting(test_session, "advisory", 1, "the save at the event log")
    with pytest.raises(TimeoutError):  # three checks come and go
        await asyncio.wait_for(one.lost.wait(), 3 * T / 2 + 0.2)
    await release(test_session, locks.EVENTS)
    await held
    assert not one.lost.is_set()


async def test_a_leader_frozen_past_the_timeout_does_not_act_until_checked_again(
    store: PgStore, two: tuple[PgLeadership, PgLeadership]
) -> None:
    """Its lock may be freed 2T after its last check: past T it holds back (an Originate
    waits), and the next check, the lock still its own, lets it act again."""
    one, _ = two
    await one.acquire()
    assert one.leads()
    time.sleep(T + 0.1)  # noqa: ASYNC251 (the freeze itself: the loop stalls, no check runs)
    assert not one.leads()
    await eventually_local(one.leads, bool, within=SOON, what="confirmed by the next check")
    assert not one.lost.is_set()


async def test_the_leader_alone_hears_what_other_processes_tell_serving(
    store: PgStore, test_session: AsyncConnection[tuple[object, ...]], postgres_url: str
) -> None:
    """A request stored by a standby's FastAGI is announced (pg_notify in its transaction):
    the process that leads places it; the standby, not serving, hears nothing."""
    heard: dict[str, list[str]] = {"one": [], "other": []}
    one, other = (
        PgLeadership(postgres_url, timeout=T, holder=name, listen={"stored": heard[name].append})
        for name in ("one", "other")
    )
    try:
        await one.acquire()
        second = asyncio.ensure_future(other.acquire())
        await waiting(test_session, "advisory", 1, "the second at the serving lock")
        await test_session.execute("SELECT pg_notify('stored', 'r1')")
        await eventually_local(lambda: heard, lambda h: h["one"] == ["r1"], within=SOON, what="r1")
        await test_session.execute(
            "SELECT pg_terminate_backend(%s)", (await leader_pid(test_session),)
        )
        await asyncio.wait_for(second, SOON)
        await test_session.execute("SELECT pg_notify('stored', 'r2')")
        await eventually_local(
            lambda: heard, lambda h: h["other"] == ["r2"], within=SOON, what="r2"
        )
        assert heard["one"] == ["r1"]
    finally:
        await one.release()
        await other.release()


async def test_one_process_on_sqlite_always_leads(tmp_path: Path) -> None:
    async with open_backend(
        StoreConfig.of(Settings(store_path=tmp_path / "callbacks.db"))
    ) as backend:
        solo = backend.leadership
        assert isinstance(solo, SoloLeadership)
        assert await solo.acquire() == 1
        assert await solo.acquire() == 1  # a second service on one SQLite file is not a standby
        assert backend.fenced(1) is backend.store  # nobody else writes: nothing to fence
    assert not solo.lost.is_set()


async def test_on_postgresql_the_backend_leads_fenced_and_steps_down_when_closed(
    postgres_url: str,
) -> None:
    """What the service gets from open_backend: the database's leadership, a store fenced
    by its epoch, and the role given up when the backend closes."""
    async with open_backend(
        StoreConfig.of(Settings(store_url=postgres_url, store_timeout=T))
    ) as backend:
        assert isinstance(backend.leadership, PgLeadership)
        assert isinstance(backend.store, PgStore)
        fenced = backend.fenced(await backend.leadership.acquire())
        assert isinstance(fenced, FencedStore) and fenced.epoch == 1
        await fenced.add(REQUEST)
    other = PgLeadership(postgres_url, timeout=T, holder="other")
    try:
        assert await asyncio.wait_for(other.acquire(), SOON) == 2
        with pytest.raises(NotLeader):  # the old epoch's writes are refused
            async with PgStore.open(postgres_url) as store:
                await FencedStore(store, 1).note(REQUEST, "Checked", NOW, {})
    finally:
        await other.release()
