"""Calling rules over real SIP: a caller whose number is on the do-not-call list hears the
error prompt and nothing is stored; a number listed while its callback waits is never
dialed; a callback outside its customer's own hours rings an agent (and dials the customer)
only once they open, with the service's clock set just before."""

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.calling_rules import CallingRules
from agi_app.config.settings import Settings
from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    ERROR,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invites,
    request_callback,
    set_paused,
    store,
    the_request,
)
from tests.support.ami import eventually, queue_callers
from tests.support.clock import clock_from
from tests.support.rtp import wait_heard
from tests.support.uas import Behaviour

LISTED = "+15551230091"
# The customer's window opens at 08:00:30 UTC (the number is fictional: no known zone, so
# the centre's, calling_rules.timezone, UTC by default); the clock starts 30 s before.
OPENING = datetime(2027, 3, 1, 8, 0, 30, tzinfo=UTC)
BEFORE = timedelta(seconds=30)


@pytest.fixture
async def listing(ami: Manager, settings: Settings) -> AsyncIterator[Service]:
    rules = settings.model_copy(update={"calling_rules": CallingRules(do_not_call=[LISTED])})
    async with Service(rules) as running:
        yield running


@pytest.fixture
async def customer_hours(ami: Manager, settings: Settings) -> AsyncIterator[Service]:
    window = CallingRules(customer_hours={"support": "08:00:30-21:00"})
    hours = settings.model_copy(update={"calling_rules": window})
    async with Service(hours, clock=clock_from(OPENING - BEFORE)) as running:
        yield running


async def test_a_listed_caller_hears_the_error_and_nothing_is_stored(
    listing: Service, ami: Manager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "agi_app.ivr.request_dialogue")
    async with calling(tmp_path, "5000", LISTED, ["1"]) as (caller, sink):
        await in_queue(ami, LISTED)
        await caller.nudge()
        await wait_heard(sink, ERROR, timeout=20)
        await caller.finished()
    assert await store(listing).requests() == []
    assert any("code=do-not-call" in r.getMessage() for r in caplog.records)


async def test_a_number_listed_while_its_callback_waits_is_never_dialed(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230092")
    waiting = await the_request(store(service), State.WAITING)
    # As `agi-callback do-not-call add` does: into the store; the service finds it there.
    added = DoNotCallEntry("+15551230092", datetime.now(UTC), "cli:test")
    await store(service).add_do_not_call(added)
    done = await the_request(store(service), State.DONE)
    assert done.id == waiting.id and done.call_outcome is CallOutcome.CANCELLED
    events = await store(service).events(done.id)
    assert [e.detail for e in events if e.event == "DoNotCall"] == [{"entry": "+15551230092"}]
    assert [e.detail.get("by") for e in events if e.event == "Cancelled"] == ["do-not-call"]
    await eventually(
        lambda: queue_callers(ami, "support"), lambda es: es == [], within=10, what="no caller"
    )
    # A callback after it, then a free agent: rung once, for that one alone (the listed one,
    # ahead of it, would have come first), and only its number is dialed.
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230093")
    await the_request(store(service), State.WAITING)
    await set_paused(ami, AGENT1, False)
    await invites(agent, 1, within=30)
    (dialed,) = await invites(customer, 1)
    assert dialed["request_uri"].startswith("sip:+15551230093@")
    await the_request(store(service), State.CONNECTED)
    await hang_up_agent(ami, AGENT1)


async def test_outside_the_customers_hours_it_is_placed_and_dialed_when_they_open(
    customer_hours: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230094")
    (held,) = await eventually(
        lambda: store(customer_hours).requests(State.PENDING),
        lambda rs: len(rs) == 1 and rs[0].not_before == OPENING,
        within=20,
        what="held until the customer's hours open",
    )
    assert held.customer_hours == "08:00:30-21:00"
    await eventually(
        lambda: queue_callers(ami, "support"), lambda es: es == [], within=10, what="no caller"
    )
    await set_paused(ami, AGENT1, False)  # an agent free before the opening
    assert agent.invites() == [] and customer.invites() == []
    await invites(agent, 1, within=40)
    (dialed,) = await invites(customer, 1)
    assert dialed["request_uri"].startswith("sip:+15551230094@")
    await the_request(store(customer_hours), State.CONNECTED)
    await hang_up_agent(ami, AGENT1)
    done = await the_request(store(customer_hours), State.DONE)
    assert done.call_outcome is CallOutcome.ANSWERED
    assert done.queue_entered_at == held.queue_entered_at  # at its original place
    events = await store(customer_hours).events(done.id)
    offered = [e.at for e in events if e.event == "Offered"]
    dialed_at = [e.at for e in events if e.event == "CustomerDialed"]
    assert offered and dialed_at and min(offered + dialed_at) >= OPENING
