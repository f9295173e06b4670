"""The caller's status check over real SIP (5050: [callback-status], then the queue): a caller
whose callback waits hears so and its place, keeps it with 1 or cancels it with 2; anyone
else hears nothing extra and goes on into the queue.

SIPp callers on the carrier; what they heard is matched in their RTP; the queue is read with
QueueStatus and the outcome from the store.
"""

import logging
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    SOUNDS,
    SUCCESS,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invite_from,
    invites,
    not_heard,
    placeholder_at,
    placeholders,
    set_paused,
    store,
    the_request,
)
from tests.support.ami import eventually, queue_callers
from tests.support.rtp import wait_heard
from tests.support.spoken_digits import wait_said
from tests.support.testbed import current
from tests.support.uas import Behaviour

STATUS = "5050"
WAITING = SOUNDS / "status-waiting.wav"
POSITION = SOUNDS / "status-position.wav"
CHOICE = SOUNDS / "status-choice.wav"
KEPT = SOUNDS / "status-kept.wav"
CANCELLED = SOUNDS / "status-cancelled.wav"


async def ask_for_callback(stack: AsyncExitStack, ami: Manager, workdir: Path, number: str) -> None:
    """``number`` calls 5050 with nothing waiting: no status, straight into the queue, where
    it presses 1 and hears success."""
    caller, sink = await stack.enter_async_context(calling(workdir, STATUS, number, ["1"]))
    await in_queue(ami, number)
    assert not_heard(sink, WAITING) and not_heard(sink, CHOICE)
    await caller.nudge()
    await wait_heard(sink, SUCCESS, timeout=20)
    await caller.finished()


async def test_2_cancels_the_waiting_callback_and_the_caller_goes_on_into_the_queue(
    service: Service,
    ami: Manager,
    phones: Phones,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    number = "+15551230051"
    async with AsyncExitStack() as stack:
        await ask_for_callback(stack, ami, tmp_path, number)
        await placeholder_at(ami, 1, 1)
        request = await the_request(store(service), State.WAITING)

        caller, sink = await stack.enter_async_context(calling(tmp_path, STATUS, number, ["2"]))
        await wait_heard(sink, WAITING, timeout=20)
        await wait_heard(sink, POSITION, timeout=20)
        await wait_said(sink, "1", timeout=20)  # SAY NUMBER: first in the queue
        await wait_heard(sink, CHOICE, timeout=20)
        await caller.nudge()
        await wait_heard(sink, CANCELLED, timeout=20)
        # Its placeholder left the queue; the caller is in it now, live.
        (live,) = await eventually(
            lambda: queue_callers(ami, "support"),
            lambda es: len(es) == 1 and es[0]["Channel"].startswith("PJSIP/pstn"),
            within=20,
            what="the placeholder gone, the caller waiting live",
        )
        assert live["CallerIDNum"] == number
        done = await the_request(store(service), State.DONE)
        assert done.id == request.id and done.call_outcome is CallOutcome.CANCELLED
        last = (await store(service).events(done.id))[-1]
        assert last.detail == {"by": f"caller:{number}", "credential": "phone"}
        assert f"id={request.id} channel=" in caplog.text and "position=1: cancelled" in caplog.text

        # An agent is rung for the live call only: the callback is over.
        await set_paused(ami, AGENT1, False)
        offered = await invite_from(agent, number)
        assert "x-callback-request-id" not in offered
        await eventually(
            lambda: queue_callers(ami, "support"), lambda es: not es, within=20, what="served"
        )
        await hang_up_agent(ami, AGENT1)
    assert customer.invites() == []  # nobody was dialed out
    assert len(agent.invites()) == 1
    assert (await store(service).get(request.id)) == done


async def test_1_keeps_the_callback_at_its_place_and_it_is_served(
    service: Service,
    ami: Manager,
    phones: Phones,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    first, number = "+15551230052", "+15551230053"
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(calling(tmp_path, "5000", first, []))
        await in_queue(ami, first)
        await ask_for_callback(stack, ami, tmp_path, number)
        await placeholder_at(ami, 2, 2)
        (placeholder,) = await placeholders(ami)

        caller, sink = await stack.enter_async_context(calling(tmp_path, STATUS, number, ["1"]))
        await wait_heard(sink, WAITING, timeout=20)
        await wait_said(sink, "2", timeout=20)  # second, behind the live caller
        await wait_heard(sink, CHOICE, timeout=20)
        await caller.nudge()
        await wait_heard(sink, KEPT, timeout=20)
        await caller.finished()  # hung up: the callback holds the place
        assert not_heard(sink, CANCELLED)
        assert "position=2: kept (key '1')" in caplog.text  # the place said: 2nd of 2
        assert await placeholders(ami) == [placeholder]
        request = await the_request(store(service), State.WAITING)
        assert "Cancelled" not in [e.event for e in await store(service).events(request.id)]

        # Served as any callback: the live caller ahead first, then the callback.
        await set_paused(ami, AGENT1, False)
        await invites(agent, 1)
        await eventually(
            lambda: queue_callers(ami, "support"),
            lambda es: [e["Uniqueid"] for e in es] == [placeholder],
            within=20,
            what="the live caller answered",
        )
        await hang_up_agent(ami, AGENT1)
        offered = (await invites(agent, 2))[-1]
        assert offered["x-callback-request-id"] == request.id
        (dialed,) = await invites(customer, 1)
        assert dialed["request_uri"].startswith(current().asterisk.carrier_uri(number))
        await the_request(store(service), State.CONNECTED)
        await hang_up_agent(ami, AGENT1)
    done = await the_request(store(service), State.DONE)
    assert done.call_outcome is CallOutcome.ANSWERED


async def test_another_caller_hears_nothing_extra_and_the_callback_stays(
    service: Service, ami: Manager, tmp_path: Path
) -> None:
    number, other = "+15551230054", "+15551230055"
    async with AsyncExitStack() as stack:
        await ask_for_callback(stack, ami, tmp_path, number)
        await placeholder_at(ami, 1, 1)
        (placeholder,) = await placeholders(ami)
        _, sink = await stack.enter_async_context(calling(tmp_path, STATUS, other, []))
        await in_queue(ami, other)
        assert not_heard(sink, WAITING) and not_heard(sink, CHOICE)
        callers = await queue_callers(ami, "support")
        assert callers[0]["Uniqueid"] == placeholder
        assert [e["CallerIDNum"] for e in callers] == [number, other]
    request = await the_request(store(service), State.WAITING)
    assert request.callback_number == number
    assert [e.event for e in await store(service).events(request.id)][-1] == "Joined"
