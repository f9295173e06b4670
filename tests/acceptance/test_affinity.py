"""Agent affinity (preferred_agent) over real SIP: at the callback's turn its preferred agent
alone is rung, with the screen-pop; not answered within affinity_timeout, any agent of the
queue takes it at its place (tests/asterisk_conf/extensions.conf 5042: agent2, 8 s)."""

from contextlib import AsyncExitStack
from pathlib import Path

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    hang_up_agent,
    invites,
    placeholder_at,
    request_callback,
    set_paused,
    store,
    the_request,
)
from tests.support.ami import eventually, eventually_local, queue_callers
from tests.support.testbed import CARRIER_PORT
from tests.support.uas import Behaviour

AGENT2 = "PJSIP/agent2"


async def test_the_preferred_agent_alone_is_rung_first(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent1, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    agent2, _ = await phones.start(5072, Behaviour.ANSWER, "agent2")
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5042", "+15551230141")
    request = await the_request(store(service), State.WAITING)
    await placeholder_at(ami, 1, 1)
    for agent in (AGENT1, AGENT2):  # both free: app_queue would ring agent1 as well
        await set_paused(ami, agent, False)
    (offer,) = await invites(agent2, 1)
    assert offer["x-callback-request-id"] == request.id  # the screen-pop, as agent first's
    assert offer["from_user"] == "+15551230141"
    (called,) = await invites(customer, 1)  # dialed once agent2 answered
    assert called["request_uri"].startswith("sip:+15551230141@")
    talking = await the_request(store(service), State.CONNECTED)
    assert talking.agent == AGENT2
    assert agent1.invites() == []  # never offered to agent1
    assert await queue_callers(ami, "support") == []  # the placeholder left
    await hang_up_agent(ami, AGENT2)
    done = await the_request(store(service), State.DONE)
    assert (done.call_outcome, done.agent) == (CallOutcome.ANSWERED, AGENT2)
    assert agent1.invites() == []


async def test_not_answered_by_the_preferred_agent_any_agent_takes_it(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent1, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    agent2, _ = await phones.start(5072, Behaviour.NO_ANSWER, "agent2")
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5042", "+15551230142")
    request = await the_request(store(service), State.WAITING)
    for agent in (AGENT1, AGENT2):
        await set_paused(ami, agent, False)
    (first,) = await invites(agent2, 1)
    assert first["x-callback-request-id"] == request.id
    assert agent1.invites() == []  # agent2 alone, while it rings
    # affinity_timeout (8 s) passes: placed again at its place, for any agent.
    offer = (await invites(agent1, 1, within=45))[0]
    assert offer["x-callback-request-id"] == request.id
    await invites(customer, 1)
    talking = await the_request(store(service), State.CONNECTED)
    assert (talking.agent, talking.affinity) == (AGENT1, "over")
    events = [e.event for e in await store(service).events(request.id)]
    due, offered = events.index("PreferredDue"), events.index("Offered")
    # The ring's end is told by its DialEnd (AffinityOver) or by its leg's hangup, whichever
    # comes first (PlaceholderLost, LeftQueue): either ends the affinity.
    assert due < offered
    assert {"AffinityOver", "PlaceholderLost", "LeftQueue"} & set(events[due:offered]), events
    await hang_up_agent(ami, AGENT1)
    done = await the_request(store(service), State.DONE)
    assert (done.call_outcome, done.agent) == (CallOutcome.ANSWERED, AGENT1)


async def test_cancelled_while_the_preferred_agent_rings(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    """A supervisor cancels it while agent2 rings: agent2's phone stops (CANCEL), the
    placeholder leaves the queue, nobody else is rung and the customer is never dialed."""
    agent1, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    agent2, _ = await phones.start(5072, Behaviour.NO_ANSWER, "agent2")
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5042", "+15551230143")
    request = await the_request(store(service), State.WAITING)
    for agent in (AGENT1, AGENT2):
        await set_paused(ami, agent, False)
    await invites(agent2, 1)
    assert service.serving is not None
    await service.serving.cancel(request.id, "supervisor", credential="web:boss")
    done = await the_request(store(service), State.DONE)
    assert done.call_outcome is CallOutcome.CANCELLED
    # Stopped by the cancel, well before Dial()'s own 8 s would have.
    await eventually_local(
        lambda: agent2.received("CANCEL"), lambda n: n >= 1, within=5, what="agent2's CANCEL"
    )
    await eventually(
        lambda: queue_callers(ami, "support"), lambda es: es == [], within=10,
        what="the placeholder out of the queue",
    )  # fmt: skip
    assert agent1.invites() == [] and customer.invites() == []
