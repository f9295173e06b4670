"""Active and standby on PostgreSQL: two service processes on one database, one serving.

Both take requests over FastAGI (the standby on port 4574); the database chooses which one
places, reconciles and dials. Killing the serving one (-9) at a point of a callback's life
hands serving to the standby, which reconciles with Asterisk as after a restart: the
callback is served once, its customer dialed once, nothing placed twice.
"""

import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import psycopg
import pytest
from panoramisk import Manager

from agi_app.domain.request import CallOutcome, ContactOutcome, State
from agi_app.store.postgres import PgStore
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    hang_up_agent,
    placeholders,
    request_callback,
    served_once,
    set_paused,
    the_request,
)
from tests.support.ami import action, eventually, queue_callers, sandbox_secret
from tests.support.poll import eventually_local
from tests.support.postgres import PostgresServer
from tests.support.service_process import ServiceProcess
from tests.support.testbed import STANDBY_AGI_PORT, TESTBED_NUMBERS, current
from tests.support.uas import Behaviour


class Pair:
    """Two service processes on one database: ``first`` starts first, and serves."""

    def __init__(self, workdir: Path, url: str) -> None:
        common = {
            "store_url": url,
            # The lease's term (checked every half of it, and every store wait's bound): 4 s.
            # Short, so that a takeover comes within the tests' waits; not shorter: with 2 s a
            # renewal delayed on a busy machine (parallel workers on 2 cores) timed out now
            # and then, and the serving process stopped as a lost leader must.
            "store_timeout": "4",
            "customer_ring_seconds": "5",
            "ami_ping_interval": "0.5",
            "ami_secret_file": str(sandbox_secret("callback")),
            "allowed_number_prefixes": json.dumps(TESTBED_NUMBERS),
            "web_enabled": "false",
        }
        for name in ("first", "second"):
            (workdir / name).mkdir()
        self.first = ServiceProcess(workdir / "first", **common)
        self.second = ServiceProcess(workdir / "second", **common, agi_port=str(STANDBY_AGI_PORT))

    async def start(self) -> None:
        await self.first.start()
        await self.second.start(until="service up")
        await eventually_local(
            lambda: "standing by" in self.second.log(), bool, within=10, what="a standby"
        )

    async def stop(self) -> None:
        await self.first.stop()
        await self.second.stop()


@pytest.fixture
async def pair(ami: Manager, tmp_path: Path, postgres: PostgresServer) -> AsyncIterator[Pair]:
    both = Pair(tmp_path, postgres.emptied())
    try:
        yield both
    finally:
        await both.stop()


@pytest.fixture
async def store(pair: Pair) -> AsyncIterator[PgStore]:
    async with PgStore.open(pair.first.settings["store_url"], pool_size=2) as opened:
        yield opened


def lease(url: str) -> tuple[int, str]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT epoch, holder FROM serving_lease").fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


async def placed_events(store: PgStore, request_id: str) -> list[int]:
    """The attempts for which a placeholder was placed, from the event log."""
    return [int(e.detail["attempt"]) for e in await store.events(request_id) if e.event == "Placed"]


async def test_the_standby_serves_a_waiting_callback_once_the_serving_process_is_killed(
    pair: Pair, store: PgStore, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    await pair.start()
    url = pair.first.settings["store_url"]
    epoch, _ = lease(url)
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230601")
        request = await the_request(store, State.WAITING)
        killed = time.monotonic()
        await pair.first.kill9()
        await eventually_local(
            lambda: "resume done" in pair.second.log(), bool, within=20, what="takeover"
        )
        print(f"takeover and reconciliation: {time.monotonic() - killed:.2f} s")
        assert lease(url)[0] == epoch + 1
        assert await placeholders(ami) == [f"cb-{request.id}-1-q"]  # kept, not placed again
        await served_once(ami, store, agent, customer)
    assert await placed_events(store, request.id) == [1]


async def test_killed_while_the_customer_talks_the_standby_records_the_outcome(
    pair: Pair, store: PgStore, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    await pair.start()
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230602")
        await set_paused(ami, AGENT1, False)
        await the_request(store, State.CONNECTED)
        await pair.first.kill9()
        await eventually_local(
            lambda: "resume done" in pair.second.log(), bool, within=20, what="takeover"
        )
        await hang_up_agent(ami, AGENT1)
    done = await the_request(store, State.DONE, within=30)
    assert (done.call_outcome, done.contact_outcome) == (
        CallOutcome.ANSWERED,
        ContactOutcome.ANSWERED,
    )
    assert len(customer.invites()) == 1  # the standby followed the leg, dialed nobody


async def test_a_request_taken_by_the_standby_is_placed_by_the_serving_process(
    pair: Pair, store: PgStore, ami: Manager, tmp_path: Path
) -> None:
    await pair.start()
    to_standby = current().asterisk.agi_url("callback", STANDBY_AGI_PORT)
    await action(ami, Action="Setvar", Variable="CALLBACK_AGI", Value=to_standby)
    try:
        async with AsyncExitStack() as stack:
            await request_callback(stack, ami, tmp_path, "5000", "+15551230603")
    finally:
        back = current().asterisk.agi_url("callback")
        await action(ami, Action="Setvar", Variable="CALLBACK_AGI", Value=back)
    request = await the_request(store, State.WAITING, within=10)
    assert f"id={request.id}" in pair.second.log()  # taken by the standby
    entries = await eventually(
        lambda: queue_callers(ami, "support"), lambda es: len(es) == 1, within=10, what="placed"
    )
    assert entries[0]["Uniqueid"] == f"cb-{request.id}-1-q"
    assert "placed" in pair.first.log() and " placed" not in pair.second.log()
