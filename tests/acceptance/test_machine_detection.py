"""Machine detection in agent first (amd=yes), over real SIP with real audio on the customer's
leg (tests/support/speech.py): AMD() hears a machine's long greeting and a person's short
"Hello?", the agent alone is told of the machine (whispered), the machine is retried as an
unanswered dial, and a person is an answered call."""

from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    SOUNDS,
    Phones,
    hang_up_agent,
    invites,
    not_heard,
    request_callback,
    set_paused,
    store,
    the_request,
)
from tests.support.ami import eventually
from tests.support.rtp import RtpSink, wait_heard
from tests.support.testbed import CARRIER_PORT
from tests.support.uas import Behaviour, Phone

NUMBER = "+15551230081"
NOTICE = SOUNDS / "machine-answered.wav"


async def test_a_machine_is_told_to_the_agent_and_retried_until_a_person_answers(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, agent_heard = await phones.start(5071, Behaviour.ANSWER, "agent1")
    async with AsyncExitStack() as stack:
        machine_heard = await stack.enter_async_context(RtpSink())
        machine = await stack.enter_async_context(
            Phone(CARRIER_PORT, tmp_path, Behaviour.MACHINE, rtp_port=machine_heard.port,
                  name="machine")
        )  # fmt: skip
        await request_callback(stack, ami, tmp_path, "5013", NUMBER)
        await the_request(store(service), State.WAITING)
        await set_paused(ami, AGENT1, False)
        await invites(agent, 1)
        await invites(machine, 1)
        # The greeting is judged a machine before the bridge; the agent alone hears why.
        await wait_heard(agent_heard, NOTICE, timeout=30)
        judged = await the_request(store(service), State.CONNECTED)
        assert judged.amd_status == "MACHINE", judged.amd_cause
        assert not_heard(machine_heard, NOTICE)  # never recorded on the customer's voicemail
        await set_paused(ami, AGENT1, True)
        await hang_up_agent(ami, AGENT1)  # the agent leaves no message
        held = await eventually(
            lambda: the_request(store(service), State.PENDING),
            lambda r: r.customer_attempts == 1,
            within=20,
            what="the retry decided",
        )
        assert held.call_outcome is None and held.not_before is not None
    person, _ = await phones.start(CARRIER_PORT, Behaviour.PERSON, "person")
    await set_paused(ami, AGENT1, False)
    await invites(person, 1, within=40)
    talking = await eventually(
        lambda: the_request(store(service), State.CONNECTED),
        lambda r: r.attempt == 2 and r.amd_status != "",
        within=30,
        what="the person judged",
    )
    assert talking.amd_status == "HUMAN", talking.amd_cause
    await hang_up_agent(ami, AGENT1)
    done = await the_request(store(service), State.DONE)
    assert (done.call_outcome, done.contact_outcome) == (
        CallOutcome.ANSWERED,
        ContactOutcome.ANSWERED,
    )
    events = await store(service).events(done.id)
    assert [e.detail["status"] for e in events if e.event == "AmdVerdict"] == ["MACHINE", "HUMAN"]


async def test_a_machine_without_a_retry_left_ends_machine_answered(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    """5013 allows one retry: the second machine ends the request Machine Answered."""
    agent, agent_heard = await phones.start(5071, Behaviour.ANSWER, "agent1")
    machine, _ = await phones.start(CARRIER_PORT, Behaviour.MACHINE, "machine")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5013", NUMBER)
    await the_request(store(service), State.WAITING)
    await set_paused(ami, AGENT1, False)
    for dial in (1, 2):
        await invites(machine, dial, within=40)
        await eventually(
            lambda: the_request(store(service), State.CONNECTED),
            judged_machine(dial),
            within=30,
            what=f"machine {dial} judged",
        )
        if dial == 1:
            await wait_heard(agent_heard, NOTICE, timeout=30)
        await hang_up_agent(ami, AGENT1)  # the second time during the notice
    done = await the_request(store(service), State.DONE)
    assert (done.call_outcome, done.contact_outcome, done.customer_attempts) == (
        CallOutcome.MACHINE,
        ContactOutcome.ANSWERED,
        2,
    )
    assert len(agent.invites()) == 2


def judged_machine(attempt: int) -> Callable[[CallbackRequest], bool]:
    return lambda r: r.attempt == attempt and r.amd_status == "MACHINE"
