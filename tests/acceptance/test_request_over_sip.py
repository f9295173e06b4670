"""A caller over real SIP asks for a callback; what they hear and what is stored.

Each caller's SDP points at an RtpSink, so "heard" means the prompt's audio arrived in the
RTP Asterisk sent to the caller; "hung up" means the caller's SIPp received a BYE.
"""

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import CallbackRequest, State
from tests.acceptance.calls import ERROR, SOUNDS, SUCCESS, calling, in_queue, not_heard
from tests.support.ami import eventually, queue_callers
from tests.support.rtp import wait_heard


@contextmanager
def store_locked(settings: Settings) -> Iterator[None]:
    """Another program holds the whole store: SQLite's file, PostgreSQL's requests table."""
    if settings.store_url is not None:
        with psycopg.connect(settings.store_url) as conn, conn.transaction(force_rollback=True):
            conn.execute("LOCK TABLE requests IN ACCESS EXCLUSIVE MODE")
            yield
        return
    locker = sqlite3.connect(settings.store_path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
        locker.close()


async def stored(service: Service) -> list[CallbackRequest]:
    assert service.store is not None
    return await service.store.requests()


async def test_5000_press_1_in_queue(service: Service, ami: Manager, tmp_path: Path) -> None:
    async with calling(tmp_path, "5000", "+15551230001", ["1"], name="Ann Smith") as (caller, sink):
        entry = await in_queue(ami, "+15551230001")
        await caller.nudge()
        await wait_heard(sink, SUCCESS, timeout=20)
        await caller.finished()
    assert caller.received("BYE")
    assert not_heard(sink, ERROR)
    (request,) = await stored(service)
    assert request.state in (State.PENDING, State.WAITING)  # stored, then placed back
    assert request.channel == entry["Uniqueid"]
    assert (request.queue, request.priority, request.position) == ("support", 5, 1)
    assert request.caller_name == "Ann Smith"
    assert request.caller_number == request.callback_number == "+15551230001"
    assert request.extension is None
    assert request.dialed_number == "5000"
    assert request.timeout_prompt == "callback/timeout"
    assert (request.expires_at - request.requested_at).total_seconds() == 1800
    assert request.queue_entered_at <= request.requested_at


async def test_second_of_three_keeps_position_2(
    service: Service, ami: Manager, tmp_path: Path
) -> None:
    numbers = ["+15551230011", "+15551230012", "+15551230013"]
    async with AsyncExitStack() as stack:
        callers = []
        for number in numbers:  # one after the other, so that the queue order is known
            keys = ["1"] if number == numbers[1] else []
            callers.append(await stack.enter_async_context(calling(tmp_path, "5000", number, keys)))
            await in_queue(ami, number)
        second, sink = callers[1]
        await second.nudge()
        await wait_heard(sink, SUCCESS, timeout=20)
        await second.finished()
        # The placeholder takes the caller's place again, between the other two.
        queue = await eventually(
            lambda: queue_callers(ami, "support"),
            lambda es: len(es) == 3 and not es[1]["Channel"].startswith("PJSIP/"),
            within=10,
            what="placeholder back at position 2",
        )
    assert [e["CallerIDNum"] for e in queue] == numbers
    (request,) = await stored(service)
    assert (request.callback_number, request.position) == (numbers[1], 2)


async def test_5001_extension_is_stored(service: Service, ami: Manager, tmp_path: Path) -> None:
    async with calling(tmp_path, "5001", "+15551230002", ["4321#", "1"]) as (caller, sink):
        await wait_heard(sink, SOUNDS / "enter-extension.wav", timeout=20)
        await caller.nudge()
        await in_queue(ami, "+15551230002")
        await caller.nudge()
        await wait_heard(sink, SUCCESS, timeout=20)
        await caller.finished()
    (request,) = await stored(service)
    assert (request.callback_number, request.extension) == ("+15551230002", "4321")
    assert request.dialed_number == "5001"


async def test_5002_other_number_is_stored(service: Service, ami: Manager, tmp_path: Path) -> None:
    async with calling(tmp_path, "5002", "+15551230003", ["5551239999#", "1"]) as (caller, sink):
        await wait_heard(sink, SOUNDS / "enter-number.wav", timeout=20)
        await caller.nudge()
        await in_queue(ami, "+15551230003")
        await caller.nudge()
        await wait_heard(sink, SUCCESS, timeout=20)
        await caller.finished()
    (request,) = await stored(service)
    assert request.callback_number == "+15551239999"
    assert request.caller_number == "+15551230003"
    assert request.extension is None


async def test_5004_ivr_step_takes_the_key_itself(
    service: Service, ami: Manager, tmp_path: Path
) -> None:
    async with calling(tmp_path, "5004", "+15551230004", ["1"]) as (caller, sink):
        await wait_heard(sink, SOUNDS / "ivr-offer.wav", timeout=20)
        await caller.nudge()
        await wait_heard(sink, SUCCESS, timeout=20)
        await caller.finished()
    assert caller.received("BYE")
    (request,) = await stored(service)
    assert (request.callback_number, request.position, request.priority) == (
        "+15551230004",
        None,
        5,
    )
    assert request.queue_entered_at == request.requested_at


async def test_5004_without_the_key_continues_into_the_queue(
    service: Service, ami: Manager, tmp_path: Path
) -> None:
    async with calling(tmp_path, "5004", "+15551230005", []) as (_, sink):
        await wait_heard(sink, SOUNDS / "ivr-offer.wav", timeout=20)
        await in_queue(ami, "+15551230005")
    assert not_heard(sink, SUCCESS)
    assert await stored(service) == []


async def test_anonymous_caller_hears_error_and_nothing_is_stored(
    service: Service, ami: Manager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    async with calling(tmp_path, "5000", "anonymous", ["1"], anonymous=True) as (caller, sink):
        await in_queue(ami, "anonymous")
        await caller.nudge()
        await wait_heard(sink, ERROR, timeout=20)
        await caller.finished()
    assert caller.received("BYE")
    assert not_heard(sink, SUCCESS)
    assert await stored(service) == []
    assert any("code=anonymous-caller" in r.getMessage() for r in caplog.records)


async def test_store_that_cannot_be_written_gives_error(
    service: Service, ami: Manager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    with store_locked(service.settings):
        async with calling(tmp_path, "5000", "+15551230006", ["1"]) as (caller, sink):
            await in_queue(ami, "+15551230006")
            await caller.nudge()
            await wait_heard(sink, ERROR, timeout=20)
            await caller.finished()
    assert not_heard(sink, SUCCESS)
    assert await stored(service) == []
    assert any("code=store-unavailable" in r.getMessage() for r in caplog.records)


async def test_service_down_caller_still_hears_error(ami: Manager, tmp_path: Path) -> None:
    async with calling(tmp_path, "5000", "+15551230007", ["1"]) as (caller, sink):
        await in_queue(ami, "+15551230007")
        await caller.nudge()
        await wait_heard(sink, ERROR, timeout=20)
        await caller.finished()
    assert caller.received("BYE")
