"""Scheduled callbacks over real SIP (5012: ask_time=yes), the service's clock set at
17:59:25 UTC with later times every hour from 18:00: the caller chooses 18:00, and the
callback waits in the store, out of the queue, until then; then an agent is rung first and
the customer dialed."""

from datetime import UTC, datetime
from pathlib import Path

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    ERROR,
    SOUNDS,
    SUCCESS,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invites,
    not_heard,
    set_paused,
    store,
    the_request,
)
from tests.support.ami import queue_callers
from tests.support.clock import clock_from
from tests.support.rtp import wait_heard
from tests.support.uas import Behaviour

START = datetime(2026, 11, 30, 17, 59, 25, tzinfo=UTC)
SIX_PM = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
WHEN = SOUNDS / "when.wav"
FOR = SOUNDS / "slot-intro.wav"


def hourly(settings: Settings) -> Settings:
    return settings.model_copy(update={"later_lead_minutes": 0})


async def test_a_callback_at_a_chosen_time_rings_an_agent_only_then(
    ami: Manager, settings: Settings, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    async with Service(hourly(settings), clock=clock_from(START)) as service:
        async with calling(tmp_path, "5012", "+15551230091", ["1", "2", "1"]) as (caller, sink):
            await in_queue(ami, "+15551230091")
            await caller.nudge()  # 1: call me back
            await wait_heard(sink, WHEN, timeout=20)
            await caller.nudge()  # 2: a later time
            await wait_heard(sink, FOR, timeout=20)
            await caller.nudge()  # 1: the first time offered, 18:00
            await wait_heard(sink, SUCCESS, timeout=20)
            await caller.finished()
        request = await the_request(store(service), State.PENDING)
        assert (request.scheduled_for, request.not_before) == (SIX_PM, SIX_PM)
        assert await queue_callers(ami, "support") == []  # not in the queue before its time
        await set_paused(ami, AGENT1, False)
        await invites(agent, 1, within=60)
        await invites(customer, 1)
        # Hung up once the customer's answer is seen (the INVITE alone is not an answer).
        await the_request(store(service), State.CONNECTED)
        await hang_up_agent(ami, AGENT1)
        done = await the_request(store(service), State.DONE)
        assert done.call_outcome is CallOutcome.ANSWERED
        events = await store(service).events(done.id)
        placed = [e.at for e in events if e.event == "Placed"]
        offered = [e.at for e in events if e.event == "Offered"]
        assert placed and offered and min(placed + offered) >= SIX_PM
        assert len(agent.invites()) == 1


async def test_a_later_choice_that_names_no_time_stores_nothing(
    ami: Manager, settings: Settings, tmp_path: Path
) -> None:
    async with Service(hourly(settings), clock=clock_from(START)) as service:
        async with calling(tmp_path, "5012", "+15551230092", ["1", "2", "9"]) as (caller, sink):
            await in_queue(ami, "+15551230092")
            await caller.nudge()
            await wait_heard(sink, WHEN, timeout=20)
            await caller.nudge()
            await wait_heard(sink, FOR, timeout=20)
            await caller.nudge()  # 9: no such time
            await wait_heard(sink, ERROR, timeout=30)
            await caller.finished()
        assert not_heard(sink, SUCCESS)
        assert await store(service).requests() == []
