"""The caller's language over real SIP: a caller whose channel language is es (5040, 5041)
hears Spanish, the request keeps es, the customer called back later hears the Spanish
prompts and the agent hears the English ones (the agent's channel's language). What each
phone heard is matched against the prompt WAVs (tests/support/rtp.py)."""

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
    in_queue,
    invites,
    not_heard,
    request_callback,
    set_paused,
    store,
    the_request,
)
from tests.support.ami import action, channels
from tests.support.rtp import wait_heard
from tests.support.testbed import CARRIER_PORT
from tests.support.uas import Behaviour

SPANISH = SOUNDS.parent / "es" / "callback"


async def spanish_request(stack: AsyncExitStack, ami: Manager, workdir: Path, did: str,
                          number: str) -> None:  # fmt: skip
    """A Spanish-speaking caller presses 1 in the queue and hears success, in Spanish."""
    caller, sink = await stack.enter_async_context(calling(workdir, did, number, ["1"]))
    await in_queue(ami, number)
    await caller.nudge()
    await wait_heard(sink, SPANISH / "request-successful.wav", timeout=20)
    await caller.finished()
    assert not_heard(sink, SOUNDS / "request-successful.wav")


async def test_the_customer_is_greeted_in_the_callers_language(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    """Customer first (5041): the call to the customer plays the Spanish greeting."""
    number = "+15551230141"
    person, heard = await phones.start(CARRIER_PORT, Behaviour.PERSON, "silent")
    async with AsyncExitStack() as stack:
        await spanish_request(stack, ami, tmp_path, "5041", number)
    request = await the_request(store(service), State.WAITING)
    assert request.language == "es"
    await set_paused(ami, AGENT1, False)  # its turn: the customer is called
    (called,) = await invites(person, 1)
    assert called["request_uri"].startswith(f"sip:{number}@")
    await wait_heard(heard, SPANISH / "customer-first-greeting.wav", timeout=30)
    assert not_heard(heard, SOUNDS / "customer-first-greeting.wav")


async def test_the_agent_hears_the_agents_language_and_the_customer_the_callers(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    """Agent first (5040), the customer does not answer: the agent (no language on its
    endpoint: Asterisk's default, en) hears "the customer didn't answer" in English."""
    agent, agent_heard = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.NO_ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await spanish_request(stack, ami, tmp_path, "5040", "+15551230142")
        request = await the_request(store(service), State.WAITING)
        assert request.language == "es"
        await set_paused(ami, AGENT1, False)
        await invites(agent, 1)
        await invites(customer, 1)
        await wait_heard(agent_heard, SOUNDS / "customer-no-answer.wav", timeout=30)
    assert not_heard(agent_heard, SPANISH / "customer-no-answer.wav")
    done = await the_request(store(service), State.DONE)
    assert (done.call_outcome, done.language) == (CallOutcome.MISSED, "es")


async def test_the_agents_prompt_follows_the_agents_channel_language(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    """An English caller (5000), an agent whose channel speaks Spanish (as an endpoint's
    language=es would make it, set here on the answered channel while the customer rings):
    the agent hears "the customer didn't answer" in Spanish."""
    _, agent_heard = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.NO_ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230144")
        await the_request(store(service), State.WAITING)
        await set_paused(ami, AGENT1, False)
        dialing = await the_request(store(service), State.DIALING)
        assert dialing.language == "en"  # the caller's: the test bed's default
        (channel,) = [c["Channel"] for c in await channels(ami)
                      if c["Channel"].startswith(f"{AGENT1}-")]  # fmt: skip
        await action(
            ami, Action="Setvar", Channel=channel, Variable="CHANNEL(language)", Value="es"
        )
        await invites(customer, 1)
        await wait_heard(agent_heard, SPANISH / "customer-no-answer.wav", timeout=30)
    assert not_heard(agent_heard, SOUNDS / "customer-no-answer.wav")


async def test_the_informative_call_is_in_the_callers_language(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    """Every available agent declines (5040): the customer is told, in Spanish."""
    phones_declining = [
        await phones.start(5071, Behaviour.DECLINE, "agent1"),
        await phones.start(5072, Behaviour.DECLINE, "agent2"),
    ]
    customer, heard = await phones.start(CARRIER_PORT, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await spanish_request(stack, ami, tmp_path, "5040", "+15551230143")
        await the_request(store(service), State.WAITING)
        for agent in (AGENT1, "PJSIP/agent2"):  # agent3 stays paused: not available
            await set_paused(ami, agent, False)
        done = await the_request(store(service), State.DONE)
        await invites(customer, 1)
        await wait_heard(heard, SPANISH / "timeout.wav", timeout=20)
    assert not_heard(heard, SOUNDS / "timeout.wav")
    assert (done.call_outcome, done.contact_outcome) == (
        CallOutcome.ABANDONED,
        ContactOutcome.MISSED,
    )
    assert all(agent.invites() for agent, _ in phones_declining)
