"""Serving over real SIP: the placeholder keeps the place, the agent is rung first with a
screen-pop, then the customer is dialed; declines, no answer and expiry end as
docs/explanation/lifecycle.md says.

SIPp phones play the agents (5071-5073) and the carrier's customers (5090); what they
received (INVITEs, headers, RTP audio, RFC 4733 digits) is what the tests check, together
with the queue as AMI reports it and the store.
"""

from contextlib import AsyncExitStack
from pathlib import Path

from panoramisk import Manager
from panoramisk.message import Message

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import CallOutcome, ContactOutcome, State
from agi_app.store.open import ServiceStore
from tests.acceptance.calls import (
    AGENT1,
    SOUNDS,
    SUCCESS,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invites,
    not_heard,
    placeholder_at,
    request_callback,
    set_paused,
    store,
    stored_requests,
    the_request,
)
from tests.support.ami import action, cli, eventually, eventually_local, queue_callers
from tests.support.rtp import wait_dtmf, wait_heard
from tests.support.testbed import current
from tests.support.uas import Behaviour


async def answered(ami: Manager, number: str) -> None:
    """The live caller ``number`` left the queue to talk to an agent."""
    await eventually(
        lambda: queue_callers(ami, "support"),
        lambda es: all(e.get("CallerIDNum") != number for e in es),
        within=20,
        what=f"{number} answered",
    )


async def waits_in_silence(ami: Manager, placeholder: str) -> None:
    """The queue's offer reaches the placeholder as silence, the live callers as speech."""
    (var,) = await action(ami, Action="Getvar", Channel=placeholder, Variable="CHANNEL(language)")
    assert var.get("Value") == "callback-placeholder"
    sound = await cli(ami, "core show sound callback/offer")
    assert "Language callback-placeholder:" in sound and "Language en:" in sound


async def connected(store: ServiceStore, count: int) -> None:
    """``count`` callbacks reached their customer."""
    await eventually(
        lambda: store.requests(State.CONNECTED, State.DONE),
        lambda rs: len(rs) == count,
        within=20,
        what=f"{count} callbacks connected",
    )


async def test_place_kept_and_served_in_order(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    numbers = ["+15551230021", "+15551230022", "+15551230023"]
    async with AsyncExitStack() as stack:
        for number in numbers:
            keys = ["1"] if number == numbers[1] else []
            caller, sink = await stack.enter_async_context(calling(tmp_path, "5000", number, keys))
            await in_queue(ami, number)
            if keys:
                await caller.nudge()
                await wait_heard(sink, SUCCESS, timeout=20)
                await caller.finished()
        queue = await placeholder_at(ami, 2, 3)
        assert [e["CallerIDNum"] for e in queue] == numbers
        assert customer.invites() == []  # nothing is dialed out while it waits
        await waits_in_silence(ami, queue[1]["Channel"])

        await set_paused(ami, AGENT1, False)
        for served, number in enumerate(numbers, start=1):
            offered = await invites(agent, served)
            assert offered[-1]["from_user"] == number
            if number == numbers[1]:
                (dialed,) = await invites(customer, 1)
                assert dialed["request_uri"].startswith(current().asterisk.carrier_uri(number))
                await the_request(store(service), State.CONNECTED)
            else:
                await answered(ami, number)
            await hang_up_agent(ami, AGENT1)

    request = await the_request(store(service), State.DONE)
    assert (request.call_outcome, request.contact_outcome) == (
        CallOutcome.ANSWERED,
        ContactOutcome.ANSWERED,
    )
    assert request.agent == AGENT1
    assert request.customer_dialed_at and request.customer_answered_at
    assert request.customer_ended_at
    assert request.customer_dialed_at <= request.customer_answered_at <= request.customer_ended_at
    assert service.store is not None
    log = await service.store.events(request.id)
    (placed,) = [e.detail for e in log if e.event == "Placed"]
    assert (placed["position"], placed["ahead"], placed["ahead_by_level"]) == (2, 1, {"5": 1})
    assert placed["nearest_ahead"][0]["kind"] == "live"
    events = [e.event for e in log]
    assert events == [
        "requested",
        "PlacementDue",
        "Placed",  # with what its position was computed from
        "Joined",
        "Offered",
        "AgentAnswered",
        "CustomerDialed",
        "CustomerAnswered",
        "CallEnded",
    ]


async def held(service: Service, count: int) -> None:
    """``count`` requests wait in the store, beyond the placement window."""
    serving = service.serving
    assert serving is not None

    async def held_count() -> int:
        return serving.held_count

    await eventually(held_count, lambda n: n == count, within=10, what=f"{count} held")


async def test_held_request_expires_at_its_max_wait(
    ami: Manager, settings: Settings, phones: Phones
) -> None:
    customer, customer_heard = await phones.start(5090, Behaviour.ANSWER, "carrier")
    numbers = ["+15551230065", "+15551230066"]
    await stored_requests(settings, numbers, max_wait=[3600, 6])
    async with Service(settings.model_copy(update={"placement_window": 1})) as service:
        await placeholder_at(ami, 1, 1)
        await held(service, 1)
        (expired,) = await eventually(
            lambda: store(service).requests(State.DONE),
            lambda rs: len(rs) == 1,
            within=30,
            what="the held request expired",
        )
        (informed,) = await invites(customer, 1)
        await wait_heard(customer_heard, SOUNDS / "timeout.wav", timeout=20)
        (still,) = await store(service).requests(State.WAITING)
    assert (expired.callback_number, expired.call_outcome) == (numbers[1], CallOutcome.EXPIRED)
    assert informed["request_uri"].startswith(f"sip:{numbers[1]}@")
    assert still.callback_number == numbers[0]


async def test_beyond_the_window_held_in_the_store_and_served_in_turn(
    ami: Manager, settings: Settings, phones: Phones, tmp_path: Path
) -> None:
    """With room for 2 placeholders, the third request waits in the store; a live caller who
    joins later is ahead of it in Asterisk for a while, yet is served after it."""
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    await phones.start(5090, Behaviour.ANSWER, "carrier")
    numbers = ["+15551230061", "+15551230062", "+15551230063"]
    await stored_requests(settings, numbers)
    async with AsyncExitStack() as stack:
        service = await stack.enter_async_context(
            Service(settings.model_copy(update={"placement_window": 2}))
        )
        await placeholder_at(ami, 2, 2)
        await held(service, 1)
        assert service.serving is not None
        registry = service.serving.metrics.registry

        async def held_gauge() -> float | None:
            return registry.get_sample_value("callback_held", {"queue": "support"})

        await eventually(held_gauge, lambda v: v == 1, within=10, what="callback_held 1")
        view = {v["caller_number"]: v for v in await service.serving.live_view()}
        assert [view[n]["held"] for n in numbers] == [False, False, True]
        assert [view[n]["position"] for n in numbers] == [1, 2, 3]
        third = await store(service).get(str(view[numbers[2]]["id"]))
        assert third is not None and (third.state, third.attempt) == (State.PENDING, 0)

        live = "+15551230064"
        await stack.enter_async_context(calling(tmp_path, "5000", live, []))
        queue = await in_queue(ami, live)
        assert queue["Position"] == "3"  # ahead of the held request, in Asterisk only

        await set_paused(ami, AGENT1, False)
        for served, number in enumerate([*numbers, live], start=1):
            offered = await invites(agent, served, within=30)
            assert offered[-1]["from_user"] == number
            if number == live:
                await answered(ami, number)
            else:
                await connected(store(service), served)
            await hang_up_agent(ami, AGENT1)


async def test_priority_1_callback_before_waiting_level_5_caller(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    await phones.start(5090, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(calling(tmp_path, "5000", "+15551230031", []))
        await in_queue(ami, "+15551230031")
        await request_callback(stack, ami, tmp_path, "5003", "+15551230032")
        queue = await placeholder_at(ami, 1, 2)
        assert queue[1]["CallerIDNum"] == "+15551230031"
        await set_paused(ami, AGENT1, False)
        (first,) = await invites(agent, 1)
        assert first["from_user"] == "+15551230032"
        await the_request(store(service), State.CONNECTED)
        await hang_up_agent(ami, AGENT1)
        second = await invites(agent, 2)
        assert second[1]["from_user"] == "+15551230031"
    request = await the_request(store(service), State.DONE)
    assert request.priority == 1


async def test_screen_pop_headers_and_extension_digits(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    screen_pops: list[Message] = []
    ami.register_event(
        "UserEvent",
        lambda _m, e: screen_pops.append(e) if e.get("UserEvent") == "CallbackScreenPop" else None,
    )
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    _, customer_heard = await phones.start(5090, Behaviour.ANSWER, "carrier")
    name = 'Ann "Boss", Smith'
    async with AsyncExitStack() as stack:
        caller, sink = await stack.enter_async_context(
            calling(tmp_path, "5001", "+15551230041", ["4321#", "1"], name=name)
        )
        await wait_heard(sink, SOUNDS / "enter-extension.wav", timeout=20)
        await caller.nudge()
        await in_queue(ami, "+15551230041")
        await caller.nudge()
        await wait_heard(sink, SUCCESS, timeout=20)
        await caller.finished()
        request = await the_request(store(service), State.WAITING)

        await set_paused(ami, AGENT1, False)
        (invite,) = await invites(agent, 1)
        await wait_dtmf(customer_heard, "4321", timeout=20)
        await hang_up_agent(ami, AGENT1)

    expected = {
        "Request-Id": request.id,
        "Caller-Name": name,
        "Caller-Number": "+15551230041",
        "Callback-Number": "+15551230041",
        "Extension": "4321",
        "Requested-At": request.requested_at.isoformat(),
        "Queue": "support",
        "Dialed-Number": "5001",
        "Priority": "5",
    }
    assert {k: invite.get(f"x-callback-{k.lower()}") for k in expected} == expected
    assert invite["from_user"] == "+15551230041"
    pop = await eventually_local(
        lambda: screen_pops, lambda p: len(p) >= 1, within=5, what="screen-pop"
    )
    fields = {k: pop[0].get(k.replace("-", "")) for k in expected}
    assert fields == expected
    assert pop[0].get("Agent") == AGENT1


async def test_customer_does_not_answer(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, agent_heard = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.NO_ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230051")
        await the_request(store(service), State.WAITING)
        await set_paused(ami, AGENT1, False)
        await invites(agent, 1)
        await invites(customer, 1)
        await wait_heard(agent_heard, SOUNDS / "customer-no-answer.wav", timeout=30)
    request = await the_request(store(service), State.DONE)
    assert (request.call_outcome, request.contact_outcome) == (
        CallOutcome.MISSED,
        ContactOutcome.ANSWERED,
    )
    await eventually_local(
        lambda: agent.received("BYE"), lambda n: n >= 1, within=20, what="agent BYE"
    )


async def test_every_available_agent_declines(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent1, _ = await phones.start(5071, Behaviour.DECLINE, "agent1")
    agent2, _ = await phones.start(5072, Behaviour.DECLINE, "agent2")
    customer, customer_heard = await phones.start(5090, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230061")
        await the_request(store(service), State.WAITING)
        for agent in (AGENT1, "PJSIP/agent2"):  # agent3 stays paused: not available
            await set_paused(ami, agent, False)
        request = await the_request(store(service), State.DONE)
        (informed,) = await invites(customer, 1)
        await wait_heard(customer_heard, SOUNDS / "timeout.wav", timeout=20)
    assert informed["request_uri"].startswith("sip:+15551230061@")
    assert (request.call_outcome, request.contact_outcome) == (
        CallOutcome.ABANDONED,
        ContactOutcome.MISSED,
    )
    assert request.declined_by == {AGENT1, "PJSIP/agent2"}
    assert agent1.invites() and agent2.invites()
    assert await queue_callers(ami, "support") == []


async def test_max_wait_expiry_with_message(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    customer, customer_heard = await phones.start(5090, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5005", "+15551230071")
        request = await the_request(store(service), State.DONE, within=30)
        # It waited in the queue first (not expired while held), dialing no one: its waiting
        # spell is read from its history, as 5 s can pass unseen on a busy machine.
        events = [e.event for e in await store(service).events(request.id)]
        assert "Joined" in events, events
        (informed,) = await invites(customer, 1)
        await wait_heard(customer_heard, SOUNDS / "timeout.wav", timeout=20)
    assert informed["request_uri"].startswith("sip:+15551230071@")
    assert (request.call_outcome, request.contact_outcome) == (
        CallOutcome.EXPIRED,
        ContactOutcome.MISSED,
    )
    assert (request.expires_at - request.requested_at).total_seconds() == 5
    assert await queue_callers(ami, "support") == []
    assert not_heard(customer_heard, SUCCESS)


async def test_the_customer_sees_the_number_they_called(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    """present_dialed_number (on by default): called on the DID +15557770100, the customer is
    called back from it, with the outbound caller ID's name; on 5000 (a short internal
    number, no number to present) from outbound_caller_id."""
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "+15557770100", "+15551230091")
    request = await the_request(store(service), State.WAITING)
    assert request.dialed_number == "+15557770100"
    await set_paused(ami, AGENT1, False)
    await invites(agent, 1)
    (dialed,) = await invites(customer, 1)
    assert dialed["from_user"] == "+15557770100"
    assert dialed["from"].startswith('"Support"')
    await hang_up_agent(ami, AGENT1)
    await the_request(store(service), State.DONE)
