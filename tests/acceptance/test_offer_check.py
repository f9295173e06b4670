"""The offer check over real SIP (5021: the check, then the IVR offer only on yes, else the
queue; at most 1 callback waiting). Every agent is paused, so the estimate comes from the
queue's recent served callbacks, which each test puts in the store (10 minutes each)."""

import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from panoramisk import Manager
from prometheus_client import generate_latest

from agi_app.app.service import Service
from agi_app.config.settings import ScheduleSettings, Settings
from agi_app.domain.request import State
from tests.acceptance.calls import SOUNDS, SUCCESS, calling, in_queue, not_heard, store
from tests.acceptance.web import VIEWER, base, web_service
from tests.support.ami import action
from tests.support.http import get
from tests.support.rtp import wait_heard
from tests.support.samples import PENDING

OFFER = SOUNDS / "ivr-offer.wav"
WAITED = 600  # seconds, each recent served callback


async def served_history(service: Service) -> None:
    """Three callbacks of queue support an agent answered 5 minutes ago, after 10 minutes."""
    answered = datetime.now(UTC) - timedelta(minutes=5)
    entered = answered - timedelta(seconds=WAITED)
    for i in range(3):
        await store(service).add(
            replace(
                PENDING,
                id=f"history-{i}",
                channel=f"history.{i}",
                state=State.DONE,
                callback_number=f"+1555123007{i}",
                caller_number=f"+1555123007{i}",
                queue_entered_at=entered,
                requested_at=entered,
                expires_at=entered + timedelta(hours=1),
                agent_answered_at=answered,
            )
        )


async def variables(ami: Manager, number: str, *names: str) -> dict[str, str]:
    """Channel variables of the caller's channel (PJSIP, from ``number``)."""
    (channel,) = [
        m.get("Channel")
        for m in await action(ami, Action="CoreShowChannels")
        if m.get("Event") == "CoreShowChannel" and m.get("CallerIDNum") == number
    ]
    found = {}
    for name in names:
        (reply,) = await action(ami, Action="Getvar", Channel=channel, Variable=name)
        found[name] = str(reply.get("Value") or "")
    return found


def counted(service: Service, line: str) -> bool:
    assert service.serving is not None
    return line in generate_latest(service.serving.metrics.registry).decode()


CHECKED = ("CALLBACK_OFFER", "CALLBACK_OFFER_REASON", "CALLBACK_EXPECTED_WAIT")


async def test_a_long_wait_is_offered_and_the_key_stores_the_request(
    ami: Manager, settings: Settings, tmp_path: Path
) -> None:
    async with web_service(settings) as service:
        await offered_and_taken(service, ami, tmp_path)


async def offered_and_taken(service: Service, ami: Manager, tmp_path: Path) -> None:
    await served_history(service)
    async with calling(tmp_path, "5021", "+15551230091", ["1"]) as (caller, sink):
        await wait_heard(sink, OFFER, timeout=20)
        assert await variables(ami, "+15551230091", *CHECKED) == {
            "CALLBACK_OFFER": "yes",
            "CALLBACK_OFFER_REASON": "worth",
            "CALLBACK_EXPECTED_WAIT": str(WAITED),
        }
        # The Live view shows the estimate of the queue the check asked about.
        status, body = await get(f"{base(service)}/api/callbacks", VIEWER)
        assert status == 200
        assert json.loads(body)["estimates"]["support"] == {
            "expected_wait": WAITED,
            "source": "history",
            "callers": 0,
            "callbacks_waiting": 0,
        }
        await caller.nudge()
        await wait_heard(sink, SUCCESS, timeout=20)
        await caller.finished()
    assert caller.received("BYE")
    (request,) = await store(service).requests(State.PENDING, State.WAITING)
    assert (request.callback_number, request.queue) == ("+15551230091", "support")
    assert counted(
        service, 'callback_offer_checks_total{offered="yes",queue="support",reason="worth"} 1.0'
    )
    assert counted(service, 'callback_offers_accepted_total{queue="support"} 1.0')


async def test_at_the_cap_the_next_caller_is_not_offered_and_waits_live(
    service: Service, ami: Manager, tmp_path: Path
) -> None:
    await served_history(service)
    async with calling(tmp_path, "5021", "+15551230092", ["1"]) as (first, sink):
        await wait_heard(sink, OFFER, timeout=20)
        await first.nudge()
        await wait_heard(sink, SUCCESS, timeout=20)
        await first.finished()
    # One callback waits (max_callbacks=1): the next caller hears no offer, joins the queue.
    async with calling(tmp_path, "5021", "+15551230093", ["1"]) as (_, sink):
        await in_queue(ami, "+15551230093")
        assert await variables(ami, "+15551230093", *CHECKED) == {
            "CALLBACK_OFFER": "no",
            "CALLBACK_OFFER_REASON": "at_cap",
            "CALLBACK_EXPECTED_WAIT": str(WAITED),
        }
        assert not_heard(sink, OFFER) and not_heard(sink, SUCCESS)
    requests = await store(service).requests(State.PENDING, State.WAITING, State.OFFERED)
    assert [r.callback_number for r in requests] == ["+15551230092"]
    assert counted(
        service, 'callback_offer_checks_total{offered="no",queue="support",reason="at_cap"} 1.0'
    )


# Monday 20:00 UTC: the "office" hours (09:00-17:00) are closed.
EVENING = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
OFFICE = ScheduleSettings(timezone="UTC", hours={"mon": "09:00-17:00"})


@pytest.fixture
async def closed(ami: Manager, settings: Settings) -> AsyncIterator[Service]:
    hours = settings.model_copy(
        update={"schedules": {"office": OFFICE}, "queue_schedules": {"support": "office"}}
    )
    began = time.monotonic()
    clock = lambda: EVENING + timedelta(seconds=time.monotonic() - began)  # noqa: E731
    async with Service(hours, clock=clock) as running:
        yield running


async def test_closed_hours_offer_nothing_and_the_caller_waits_live(
    closed: Service, ami: Manager, tmp_path: Path
) -> None:
    await served_history(closed)
    async with calling(tmp_path, "5021", "+15551230094", ["1"]) as (_, sink):
        await in_queue(ami, "+15551230094")
        checked = await variables(ami, "+15551230094", *CHECKED)
        assert (checked["CALLBACK_OFFER"], checked["CALLBACK_OFFER_REASON"]) == ("no", "closed")
        assert not_heard(sink, OFFER)
    assert await store(closed).requests(State.PENDING, State.WAITING) == []
