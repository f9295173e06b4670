"""Customer first (mode=customer_first) over real SIP, with real audio on the customer's leg
(tests/support/speech.py): no agent is rung before the customer, judged by AMD(), pressed 1;
then the customer waits at the head of their level and the next agent takes them. A machine
gets the message after its beep and a retry, and no agent ever hears of it."""

from contextlib import AsyncExitStack
from pathlib import Path

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.domain.request import CallOutcome, ContactOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    SOUNDS,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invites,
    placeholder_at,
    request_callback,
    set_paused,
    store,
    the_request,
)
from tests.support.ami import eventually, queue_callers
from tests.support.rtp import wait_heard
from tests.support.testbed import CARRIER_PORT
from tests.support.uas import Behaviour

NUMBER = "+15551230111"


async def test_the_customer_is_called_first_and_an_agent_only_after_key_1(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.PERSON_PRESSES_1, "person")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5014", NUMBER)
    request = await the_request(store(service), State.WAITING)
    await placeholder_at(ami, 1, 1)
    await set_paused(ami, AGENT1, False)  # its turn: an agent free, nobody before it
    (called,) = await invites(customer, 1)
    assert called["request_uri"].startswith(f"sip:{NUMBER}@")
    assert agent.invites() == []  # no agent rung before the customer said yes
    (offer,) = await invites(agent, 1)
    assert offer["x-callback-request-id"] == request.id  # the screen-pop, as agent first's
    assert offer["from_user"] == NUMBER  # the agent sees the customer
    talking = await the_request(store(service), State.CONNECTED)
    assert (talking.amd_status, talking.customer_key) == ("HUMAN", "1")
    assert talking.customer_joined_at is not None and talking.agent == AGENT1
    # The customer joined in the placeholder's place, which left: nobody waits any more.
    assert await queue_callers(ami, "support") == []
    await hang_up_agent(ami, AGENT1)
    done = await the_request(store(service), State.DONE)
    assert (done.call_outcome, done.contact_outcome) == (
        CallOutcome.ANSWERED,
        ContactOutcome.ANSWERED,
    )
    events = [e.event for e in await store(service).events(done.id)]
    assert events.index("CustomerDue") < events.index("HumanCheck")
    assert events.index("CustomerJoined") < events.index("Offered")


async def test_a_machine_gets_the_message_and_a_retry_and_no_agent_is_rung(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    machine, machine_heard = await phones.start(CARRIER_PORT, Behaviour.MACHINE, "machine")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5014", NUMBER)
    await the_request(store(service), State.WAITING)
    await set_paused(ami, AGENT1, False)
    await invites(machine, 1)
    await wait_heard(machine_heard, SOUNDS / "machine-message.wav", timeout=30)
    held = await eventually(
        lambda: the_request(store(service), State.PENDING),
        lambda r: r.customer_attempts == 1,
        within=30,
        what="the retry decided",
    )
    assert held.amd_status == "MACHINE" and held.call_outcome is None
    await invites(machine, 2, within=40)  # the retry, from its place
    done = await the_request(store(service), State.DONE, within=40)
    assert (done.call_outcome, done.contact_outcome) == (
        CallOutcome.MACHINE,
        ContactOutcome.MISSED,
    )
    assert agent.invites() == []  # no agent ever rung for a machine


async def test_a_person_who_does_not_press_1_is_a_retry_and_no_agent_is_rung(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    """AMD is a hint, the key press is the proof: "Hello?" and no key is not a yes."""
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    person, person_heard = await phones.start(CARRIER_PORT, Behaviour.PERSON, "silent")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5014", NUMBER)
    await the_request(store(service), State.WAITING)
    await set_paused(ami, AGENT1, False)
    await invites(person, 1)
    await wait_heard(person_heard, SOUNDS / "customer-first-greeting.wav", timeout=30)
    held = await eventually(
        lambda: the_request(store(service), State.PENDING),
        lambda r: r.customer_attempts == 1,
        within=30,
        what="the retry decided",
    )
    assert (held.amd_status, held.customer_key) == ("HUMAN", "")
    assert agent.invites() == []


async def test_the_customer_who_pressed_1_goes_before_a_later_caller_of_their_level(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    """The placeholder holds the turn while the customer is called (a live caller of the
    same level who came later is not served by the free agent), and the customer joins at the
    head of the level: the agent gets the customer first, then the live caller."""
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.PERSON_PRESSES_1, "person")
    live_number = "+15551230112"
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5014", NUMBER)
        await the_request(store(service), State.WAITING)
        await stack.enter_async_context(calling(tmp_path, "5000", live_number, []))
        await in_queue(ami, live_number)
        await set_paused(ami, AGENT1, False)
        await invites(customer, 1)
        (first,) = await invites(agent, 1, within=40)
        assert first["from_user"] == NUMBER  # the customer, though the live caller waited
        await the_request(store(service), State.CONNECTED)
        await hang_up_agent(ami, AGENT1)
        second = (await invites(agent, 2, within=40))[1]
        assert second["from_user"] == live_number
