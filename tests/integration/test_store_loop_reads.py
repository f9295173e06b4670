"""The store's narrow reads for the periodic loops (agi_app.store.port, issue 31), held to the
same rules on each store: the waiting callbacks with hours of their own (the calling rules'
sweep) and those whose turn is watched (the turn check), each only of the given states, in
serving order; one server's share sees its own; each read can go by its partial index."""

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from agi_app.domain.affinity import OVER, RINGING, waits_for_preferred
from agi_app.domain.options import Mode
from agi_app.domain.request import WAITING_STATES, CallbackRequest, State
from agi_app.store.one_server import ServerStore
from agi_app.store.open import ServiceStore
from agi_app.store.port import RequestStore
from agi_app.store.postgres import PgStore
from agi_app.store.postgres.sql_files import QUERIES as PG_QUERIES
from agi_app.store.sqlite.sql_files import QUERIES
from agi_app.store.sqlite.store import Store
from tests.integration.pg_locks import session
from tests.support.store_samples import NOW, REQUEST

HOURS = "08:00-21:00"


@pytest.fixture
def store(each_store: ServiceStore) -> RequestStore:
    return each_store


def one(n: int, **fields: object) -> CallbackRequest:
    """A request of its own channel and number, later in line the higher ``n``."""
    return replace(
        REQUEST,
        id=f"r{n}",
        channel=f"1795650000.{n}",
        callback_number=f"+155512300{n:02d}",
        queue_entered_at=NOW + timedelta(seconds=n),
        **fields,  # type: ignore[arg-type]
    )


async def stored(store: RequestStore, request: CallbackRequest, state: State) -> None:
    added = await store.add(request)
    if state is not State.PENDING:
        await store.save(added, replace(added, state=state), "Test", NOW)


async def test_those_with_customer_hours_in_the_states_are_read_in_serving_order(
    store: RequestStore,
) -> None:
    for request, state in [
        (one(1, customer_hours=HOURS), State.WAITING),
        (one(2), State.WAITING),  # no hours of its own
        (one(3, customer_hours=HOURS, priority=1), State.PENDING),  # first in line
        (one(4, customer_hours=HOURS), State.DONE),
        (one(5, customer_hours=HOURS), State.OFFERED),
    ]:
        await stored(store, request, state)
    chosen = await store.requests_with_customer_hours(*WAITING_STATES)
    assert [r.id for r in chosen] == ["r3", "r1", "r5"]
    assert chosen[0] == await store.get("r3")  # whole requests, as requests() gives them
    assert [r.id for r in await store.requests_with_customer_hours(State.PENDING)] == ["r3"]
    assert await store.requests_with_customer_hours() == []  # no state: none


async def test_those_whose_turn_is_watched_are_read_in_serving_order(
    store: RequestStore,
) -> None:
    agent = "PJSIP/agent2"
    for request, state in [
        (one(1, mode=Mode.CUSTOMER_FIRST), State.WAITING),
        (one(2), State.WAITING),  # agent first, no preferred agent
        (one(3, preferred_agent=agent, affinity_timeout=30), State.WAITING),  # not tried yet
        (one(4, preferred_agent=agent, affinity=RINGING), State.WAITING),
        (one(5, preferred_agent=agent, affinity=OVER), State.WAITING),
        (one(6, mode=Mode.CUSTOMER_FIRST, priority=1), State.WAITING),  # first in line
        (one(7, mode=Mode.CUSTOMER_FIRST), State.PENDING),  # not in the queue yet
        (one(8, preferred_agent="last"), State.OFFERED),
    ]:
        await stored(store, request, state)
    chosen = await store.requests_awaiting_turn(State.WAITING)
    assert [r.id for r in chosen] == ["r6", "r1", "r3"]
    # The same as the domain's rule applied to every waiting one (what turns.py did).
    assert chosen == [
        r
        for r in await store.requests(State.WAITING)
        if r.mode is Mode.CUSTOMER_FIRST or waits_for_preferred(r)
    ]
    assert [r.id for r in await store.requests_awaiting_turn(*WAITING_STATES)] == [
        "r6", "r1", "r3", "r7", "r8",
    ]  # fmt: skip


async def test_one_servers_share_reads_its_own(store: RequestStore) -> None:
    await stored(store, one(1, customer_hours=HOURS, mode=Mode.CUSTOMER_FIRST, server="a"),
                 State.WAITING)  # fmt: skip
    await stored(store, one(2, customer_hours=HOURS, mode=Mode.CUSTOMER_FIRST, server="b"),
                 State.WAITING)  # fmt: skip
    for server, expected in (("a", ["r1"]), ("b", ["r2"]), ("c", [])):
        share = ServerStore(store, server)
        assert [r.id for r in await share.requests_with_customer_hours(State.WAITING)] == expected
        assert [r.id for r in await share.requests_awaiting_turn(State.WAITING)] == expected


@pytest.mark.parametrize("query", ["requests_with_customer_hours", "requests_awaiting_turn"])
async def test_sqlite_reads_them_by_their_partial_index(tmp_path: Path, query: str) -> None:
    """Not every waiting row visited: the query repeats its index's condition (a partial
    index is used only then)."""
    path = tmp_path / "cb.sqlite3"
    async with Store.open(path):
        pass
    with sqlite3.connect(path) as db:
        plan = db.execute(f"EXPLAIN QUERY PLAN {QUERIES[query]}", ('["waiting"]',)).fetchall()
    assert any(f"USING INDEX {query} " in str(step[-1]) for step in plan), plan


@pytest.mark.parametrize("query", ["requests_with_customer_hours", "requests_awaiting_turn"])
async def test_postgresql_can_read_them_by_their_partial_index(
    postgres_url: str, query: str
) -> None:
    """The planner proves the query's condition implies the index's (a table this small is
    read whole otherwise: sequential scans are turned off to see the choice)."""
    async with PgStore.open(postgres_url), session(postgres_url) as test:
        await test.execute("SET enable_seqscan = off")
        await test.execute(f"PREPARE planned AS {PG_QUERIES[query].replace('%s', '$1')}")
        try:
            cursor = await test.execute("EXPLAIN EXECUTE planned('{waiting}')")
            plan = "\n".join(str(row[0]) for row in await cursor.fetchall())
        finally:
            await test.execute("DEALLOCATE planned")
    assert f" {query} " in plan, plan  # "Index Scan using <index> on requests", or bitmap
