"""Calling hours over real SIP, with the service's clock set just before 17:00 on a Monday:
a callback waiting at closing leaves the queue and rings an agent only at the opening (its
customer dialed after that), or expires at closing with its message, by option."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import ScheduleSettings, Settings
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    SOUNDS,
    Phones,
    hang_up_agent,
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

CLOSING = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # a Monday
OPENING = CLOSING + timedelta(seconds=10)
# Time enough before the closing for a caller to join, press 1 and hear the prompt.
BEFORE = timedelta(seconds=20)
OFFICE = ScheduleSettings(timezone="UTC", hours={"mon": "09:00-17:00,17:00:10-18:00"})


@pytest.fixture
async def office(ami: Manager, settings: Settings) -> AsyncIterator[Service]:
    """The service with queue support in the "office" hours, 20 s before closing."""
    hours = settings.model_copy(
        update={"schedules": {"office": OFFICE}, "queue_schedules": {"support": "office"}}
    )
    async with Service(hours, clock=clock_from(CLOSING - BEFORE)) as running:
        yield running


async def test_a_callback_waiting_at_closing_rings_an_agent_only_at_the_opening(
    office: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230081")
    waiting = await the_request(store(office), State.WAITING)
    assert waiting.schedule == "office"
    carried = await the_request(store(office), State.PENDING, within=30)
    assert carried.not_before == OPENING
    # It left the queue at closing: the store says so first, Asterisk a moment later.
    await eventually(
        lambda: queue_callers(ami, "support"), lambda es: es == [], within=10, what="no caller"
    )
    await set_paused(ami, AGENT1, False)  # an agent free while closed is not rung for it
    await invites(agent, 1, within=30)
    await invites(customer, 1)
    # Hung up once the customer's answer is seen (the INVITE alone is not an answer).
    await the_request(store(office), State.CONNECTED)
    await hang_up_agent(ami, AGENT1)
    done = await the_request(store(office), State.DONE)
    assert done.call_outcome is CallOutcome.ANSWERED and done.attempt == 2
    events = await store(office).events(done.id)
    offered = [e.at for e in events if e.event == "Offered"]
    dialed = [e.at for e in events if e.event == "CustomerDialed"]
    assert offered and dialed and min(offered + dialed) >= OPENING
    assert len(agent.invites()) == 1 and len(customer.invites()) == 1


async def test_a_callback_set_to_expire_at_closing_gets_its_message(
    office: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    customer, customer_heard = await phones.start(5090, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5011", "+15551230082")
    await the_request(store(office), State.WAITING)
    done = await the_request(store(office), State.DONE, within=30)
    assert done.call_outcome is CallOutcome.EXPIRED
    (informed,) = await invites(customer, 1)
    assert informed["request_uri"].startswith("sip:+15551230082@")
    await wait_heard(customer_heard, SOUNDS / "timeout.wav", timeout=20)
    await eventually(
        lambda: queue_callers(ami, "support"), lambda es: es == [], within=10, what="no caller"
    )
