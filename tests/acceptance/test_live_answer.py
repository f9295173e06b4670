"""No stale duplicate over real SIP: a customer asks for a callback, hangs up, calls again and
is answered by an agent as a live caller of the same queue; their callback, still waiting
there, is cancelled (cancel_on_live_answer, on by default): its placeholder leaves the
Asterisk queue and the customer's phone is never called.

SIPp callers on the carrier, an agent phone (5071) and the customers' phone (5090); the queue
as AMI reports it, what the phones received, and the store.
"""

from contextlib import AsyncExitStack
from pathlib import Path

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.domain.request import CallOutcome, ContactOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    calling,
    hang_up_agent,
    invite_from,
    placeholder_at,
    placeholders,
    request_callback,
    set_paused,
    store,
    the_request,
)
from tests.support.ami import eventually, queue_callers
from tests.support.uas import Behaviour


async def test_a_number_answered_live_cancels_its_waiting_callback(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    number = "+15551230071"
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", number)
        await placeholder_at(ami, 1, 1)
        (placeholder,) = await placeholders(ami)
        request = await the_request(store(service), State.WAITING)

        # The same number calls again, at level 1 (5003): it waits live, ahead of its callback.
        await stack.enter_async_context(calling(tmp_path, "5003", number, []))
        live, _ = await eventually(
            lambda: queue_callers(ami, "support"),
            lambda es: (
                [e["Uniqueid"] for e in es][1:] == [placeholder]
                and es[0]["Channel"].startswith("PJSIP/pstn")
                and es[0].get("CallerIDNum") == number
            ),
            within=20,
            what=f"{number} waiting live ahead of its callback",
        )

        # An agent answers the live call: the callback is cancelled, its placeholder gone.
        await set_paused(ami, AGENT1, False)
        offered = await invite_from(agent, number)
        assert "x-callback-request-id" not in offered  # the live call, not the callback
        done = await the_request(store(service), State.DONE)
        assert done.id == request.id
        assert (done.call_outcome, done.contact_outcome) == (
            CallOutcome.CANCELLED,
            ContactOutcome.MISSED,
        )
        last = (await store(service).events(done.id))[-1]
        assert (last.event, last.detail) == (
            "Cancelled",
            {
                "by": f"answered as a live call: {live['Uniqueid']} by {AGENT1}",
                "credential": "service",
            },
        )
        await eventually(
            lambda: queue_callers(ami, "support"),
            lambda es: es == [],
            within=20,
            what="the placeholder gone from the queue, the live caller with the agent",
        )
        await hang_up_agent(ami, AGENT1)
    assert customer.invites() == []  # the customer's phone was never called
    assert len(agent.invites()) == 1  # the agent was rung for the live call alone
    assert (await store(service).get(request.id)) == done
