"""The PostgreSQL event log as the webhooks' outbox: a reader going forward from its cursor
never passes over a row that commits late.

With a plain sequence, a transaction may draw seq n, another draw n+1 and commit first; a
reader then sees n+1, moves its cursor past n, and n, committed a moment later, is never
delivered. Here the first transaction is held open after drawing its seq (through the store's
own event writer, on a connection of the test's), while the store writes another event.
"""

import asyncio
from dataclasses import replace
from datetime import timedelta

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from agi_app.domain.event_log import LoggedEvent
from agi_app.domain.request import State
from agi_app.store.postgres import PgStore
from agi_app.store.postgres.request_log import append_event
from tests.integration.pg_locks import session, waiting
from tests.support.store_samples import NOW, REQUEST, nth


async def test_an_event_committed_late_is_not_passed_over(postgres_url: str) -> None:
    async with PgStore.open(postgres_url) as store, session(postgres_url) as test:
        await store.add(REQUEST)
        cursor = await store.last_event_seq()
        held = await AsyncConnection.connect(postgres_url, autocommit=True, row_factory=dict_row)
        async with held:
            async with held.transaction():
                await append_event(held, REQUEST, "Held", NOW, {"n": 1})  # seq drawn
                later = asyncio.ensure_future(store.note(REQUEST, "Later", NOW, {"n": 2}))
                await waiting(test, "advisory", 1, "the later event at the event log")
                assert await store.events_after(cursor, 10) == []  # neither is visible yet
            # committed: now the later one may draw its seq, and commit
            await later
        read: list[LoggedEvent] = []
        while batch := await store.events_after(cursor, 1):  # as a webhook sender goes
            read += batch
            cursor = batch[-1].seq
    assert [e.event.event for e in read] == ["Held", "Later"]


async def test_a_reader_among_many_writers_reads_every_event_once(postgres_url: str) -> None:
    """Two stores (two services) add, save and note at once, taking the store's locks in
    every combination, while a reader follows the log from its cursor: no deadlock, no
    event read twice or out of order (the test above is the one that holds a commit back)."""
    async with PgStore.open(postgres_url) as one, PgStore.open(postgres_url) as other:
        requests = [
            nth(n, caller=f"+1555123{n:04d}", callback=f"+1555123{n:04d}") for n in range(30)
        ]
        done = asyncio.Event()

        async def write() -> None:
            async def life(n: int) -> None:
                store = (one, other)[n % 2]
                request = await store.add(requests[n])
                waiting = replace(request, state=State.WAITING)
                await store.save(request, waiting, "Joined", NOW)
                await store.note(waiting, "placement", NOW + timedelta(seconds=n), {"n": n})

            await asyncio.gather(*(life(n) for n in range(len(requests))))
            done.set()

        async def follow() -> list[int]:
            cursor, seen = 0, []
            while True:
                finished = done.is_set()
                batch = await other.events_after(cursor, 7)
                seen += [e.seq for e in batch]
                cursor = batch[-1].seq if batch else cursor
                if finished and not batch:
                    return seen
                await asyncio.sleep(0)

        _, seen = await asyncio.gather(write(), follow())
        everything = [e.seq for e in await one.events_after(0, 1000)]
    assert len(everything) == 3 * len(requests)
    assert seen == everything  # each once, in order, none passed over
