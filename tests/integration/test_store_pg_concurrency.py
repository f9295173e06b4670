"""The PostgreSQL store's guarantees where several connections or processes write at once:
each test lines the writers up (an advisory lock of the test's own session holds them at a
known point) so that they really are inside their transactions together.

Holding one of the store's own locks (agi_app/store/postgres/locks.py) is how a test stops a
transaction at a chosen step; what it asserts is what the store holds afterwards.
"""

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from agi_app.domain.errors import RateLimited, StoreUnavailable
from agi_app.domain.request import RateLimits, State
from agi_app.store.port import StaleUpdate
from agi_app.store.postgres import PgStore, locks
from tests.integration.pg_locks import hold, release, session, waiting
from tests.support.store_samples import NOW, REQUEST, nth


@pytest.fixture
async def two(postgres_url: str) -> AsyncIterator[tuple[PgStore, PgStore]]:
    """Two stores on one database, as two service processes have: two pools."""
    async with PgStore.open(postgres_url) as one, PgStore.open(postgres_url) as other:
        yield one, other


async def test_two_connections_adding_one_number_and_queue_make_one_request(
    postgres_url: str, two: tuple[PgStore, PgStore]
) -> None:
    one, other = two
    repeat = replace(REQUEST, id="r2", channel="other-call", dialed_number="5001")
    async with session(postgres_url) as test:
        await hold(test, locks.EVENTS)
        first = asyncio.ensure_future(one.add(REQUEST))  # its row in, its commit held
        await waiting(test, "advisory", 1, "the first add at the event log")
        second = asyncio.ensure_future(other.add(repeat))
        await waiting(test, "transactionid", 1, "the second add at the first's row")
        await release(test, locks.EVENTS)
        assert await first == REQUEST
        assert await second == REQUEST  # the one that committed keeps the place
    assert [r.id for r in await one.requests()] == ["r1"]
    assert [e.event for e in await other.events("r1")] == ["requested", "repeated"]


async def test_an_add_that_rolls_back_leaves_the_place_to_the_other(
    postgres_url: str, two: tuple[PgStore, PgStore]
) -> None:
    one, other = two
    repeat = replace(REQUEST, id="r2", channel="other-call")
    async with session(postgres_url) as test:
        await hold(test, locks.EVENTS)
        first = asyncio.ensure_future(one.add(REQUEST))
        (first_pid,) = await waiting(test, "advisory", 1, "the first add at the event log")
        second = asyncio.ensure_future(other.add(repeat))
        await waiting(test, "transactionid", 1, "the second add at the first's row")
        await test.execute("SELECT pg_cancel_backend(%s)", (first_pid,))
        with pytest.raises(StoreUnavailable):
            await first
        await waiting(test, "advisory", 1, "the second add at the event log")
        await release(test, locks.EVENTS)
        assert await second == repeat
    assert [r.id for r in await one.requests()] == ["r2"]
    assert [e.event for e in await one.events("r2")] == ["requested"]
    assert await one.events("r1") == []


async def test_of_two_saves_from_one_read_the_second_is_stale(
    postgres_url: str, two: tuple[PgStore, PgStore]
) -> None:
    """Two services acting on the same read: the second waits for the first's row, then
    finds it changed (its state and attempt are checked again after the wait)."""
    one, other = two
    await one.add(REQUEST)
    placed = replace(REQUEST, state=State.WAITING, attempt=1)
    cancelled = replace(REQUEST, state=State.DONE)
    async with session(postgres_url) as test:
        await hold(test, locks.EVENTS)
        first = asyncio.ensure_future(one.save(REQUEST, placed, "Placed", NOW))
        await waiting(test, "advisory", 1, "the first save at the event log")
        second = asyncio.ensure_future(other.save(REQUEST, cancelled, "Cancelled", NOW))
        await waiting(test, "transactionid", 1, "the second save at the first's row")
        await release(test, locks.EVENTS)
        await first
        with pytest.raises(StaleUpdate):
            await second
    assert await other.get("r1") == placed
    assert [e.event for e in await other.events("r1")] == ["requested", "Placed"]


async def test_adders_on_two_connections_cannot_exceed_the_rate_limit(
    postgres_url: str, two: tuple[PgStore, PgStore]
) -> None:
    limits = RateLimits(per_caller=0, per_destination=3)
    target = "+15551249999"
    together = [nth(n, caller=f"+1555123000{n}", callback=target, queue=f"q{n}") for n in range(8)]
    async with session(postgres_url) as test:
        await hold(test, locks.number_key(target))
        adds = [
            asyncio.ensure_future(two[n % 2].add(request, limits))
            for n, request in enumerate(together)
        ]
        await waiting(test, "advisory", len(adds), "every adder at the number's lock")
        await release(test, locks.number_key(target))
        results = await asyncio.gather(*adds, return_exceptions=True)
    assert sum(isinstance(r, RateLimited) for r in results) == 5
    assert len(await two[0].requests()) == 3


_CHILD = """
import asyncio, sys
from dataclasses import replace
import psycopg
from agi_app.store.postgres import PgStore
from agi_app.store.port import IdempotencyKey
from tests.support.store_samples import nth

async def main(url: str, n: int) -> None:
    request = nth(n, caller=f"+1555123000{n}", callback=f"+1555124000{n}", queue=f"q{n}")
    async with PgStore.open(url) as store:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as gate:
            await gate.execute("SELECT pg_advisory_lock_shared(%s)", (int(sys.argv[3]),))
        stored, kept = await store.add_once(request, None, IdempotencyKey("crm", "k1", "a" * 64))
    print(stored.id, kept.request_id, kept.status)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""
_GATE = 7_000_001  # the test's own lock: the children pass it together


async def _child(url: str, n: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, url, str(n), str(_GATE),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


async def test_two_processes_with_one_idempotency_key_make_one_request(
    postgres_url: str,
) -> None:
    async with PgStore.open(postgres_url) as store, session(postgres_url) as test:
        await hold(test, _GATE)
        children = [await _child(postgres_url, n) for n in (1, 2)]
        await waiting(test, "advisory", 2, "both processes at the gate")
        await release(test, _GATE)
        answers = [await child.communicate() for child in children]
        assert [child.returncode for child in children] == [0, 0], answers
        lines = sorted(out.decode().split() for out, _ in answers)
        (stored,) = {line[0] for line in lines}
        assert {line[1] for line in lines} == {stored}
        assert [line[2] for line in lines] == ["201", "201"]  # one answer, kept and repeated
        assert [r.id for r in await store.requests()] == [stored]
        kept = await store.kept_answer("crm", "k1")
        assert kept is not None and kept.request_id == stored
