"""Retries over real SIP: a customer not reached is called again after the interval, an
agent first again, from the request's original place; nothing is dialed meanwhile."""

from contextlib import AsyncExitStack
from pathlib import Path

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.domain.request import CallOutcome, ContactOutcome, State
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
from tests.support.poll import eventually_local
from tests.support.rtp import wait_heard
from tests.support.uas import Behaviour, Phone

NUMBER = "+15551230061"


async def test_a_busy_customer_is_called_again_after_the_interval(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, agent_heard = await phones.start(5071, Behaviour.ANSWER, "agent1")
    async with AsyncExitStack() as stack:
        busy = await stack.enter_async_context(Phone(5090, tmp_path, Behaviour.BUSY, name="busy"))
        await request_callback(stack, ami, tmp_path, "5010", NUMBER)
        await the_request(store(service), State.WAITING)
        await set_paused(ami, AGENT1, False)
        await invites(agent, 1)
        await invites(busy, 1)
        await wait_heard(agent_heard, SOUNDS / "customer-no-answer.wav", timeout=30)
        held = await eventually(
            lambda: the_request(store(service), State.PENDING),
            lambda r: r.customer_attempts == 1,
            within=20,
            what="the retry decided",
        )
        # Between the dials: no placeholder in the queue, no second INVITE to anyone.
        assert held.not_before is not None and held.call_outcome is None
        assert [e for e in await queue_callers(ami, "support") if NUMBER in str(e)] == []
        assert len(busy.invites()) == 1 and len(agent.invites()) == 1
    answering, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    (again,) = await invites(answering, 1, within=30)
    assert NUMBER in again["to"]
    offers = agent.invites()
    assert len(offers) == 2  # the agent was rung first again, then the customer
    # Hung up once the customer's answer is seen (the INVITE alone is not an answer).
    await the_request(store(service), State.CONNECTED)
    await hang_up_agent(ami, AGENT1)
    done = await the_request(store(service), State.DONE)
    assert (done.call_outcome, done.contact_outcome) == (
        CallOutcome.ANSWERED, ContactOutcome.ANSWERED
    )  # fmt: skip
    assert done.attempt == 2 and done.customer_attempts == 1
    events = await store(service).events(done.id)
    unreached = [e for e in events if e.event == "CustomerUnreached"]
    assert [e.detail.get("status") for e in unreached] == ["BUSY"]
    assert [e.detail.get("attempt") for e in events if e.event == "CustomerDialed"] == [1, 2]
    await eventually_local(
        lambda: agent.received("BYE"), lambda n: n >= 1, within=20, what="agent BYE"
    )
