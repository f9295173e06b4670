"""Number read-back over real SIP (5020: as 5002, with readback=yes).

The caller types a number, presses 1 in the queue, hears "The number you entered is", the
digits said by Asterisk (each digit's sound found in order in the caller's RTP, so one
number is told from another), then "To confirm this number, press 1. To enter it again,
press 2." What they press decides what the store holds.
"""

import logging
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.domain.request import CallbackRequest
from tests.acceptance.calls import ERROR, SOUNDS, SUCCESS, calling, in_queue, not_heard
from tests.support.poll import eventually_local
from tests.support.rtp import RtpSink, load_prompt, match_score, wait_heard
from tests.support.sipp import Caller
from tests.support.spoken_digits import said_at, wait_said

READBACK = SOUNDS / "number-readback.wav"
CONFIRM = SOUNDS / "confirm-number.wav"
ENTER = SOUNDS / "enter-number.wav"


async def stored(service: Service) -> list[CallbackRequest]:
    assert service.store is not None
    return await service.store.requests()


async def heard_after(sink: RtpSink, prompt: Path, after: int) -> None:
    """Wait until the prompt is heard in the audio after sample ``after`` (it may have been
    heard before: a second read-back)."""
    template = load_prompt(prompt)
    await eventually_local(
        lambda: match_score(sink.samples()[after:], template),
        lambda score: score >= 0.8,
        within=30,
        interval=0.2,
        what=f"{prompt.name} heard after sample {after}",
    )


async def read_back_to(caller: Caller, sink: RtpSink, ami: Manager, typed: str) -> None:
    """The caller types ``typed`` when asked, presses 1 in the queue, and hears ``typed``
    read back and the question."""
    await wait_heard(sink, ENTER, timeout=20)
    await caller.nudge()  # the number, ended by #
    await in_queue(ami, caller.number)
    await caller.nudge()  # 1: call me back
    await wait_heard(sink, READBACK, timeout=20)
    await wait_said(sink, typed, timeout=30)
    await wait_heard(sink, CONFIRM, timeout=20)


async def test_confirmed_at_once_stores_the_typed_number(
    service: Service, ami: Manager, tmp_path: Path
) -> None:
    keys = ["5551239999#", "1", "1"]
    async with calling(tmp_path, "5020", "+15551250001", keys) as (caller, sink):
        await read_back_to(caller, sink, ami, "5551239999")
        await caller.nudge()  # 1: confirmed
        await wait_heard(sink, SUCCESS, timeout=20)
        await caller.finished()
    assert caller.received("BYE")
    assert not_heard(sink, ERROR)
    (request,) = await stored(service)
    assert request.callback_number == "+15551239999"
    assert request.caller_number == "+15551250001"


async def test_re_entered_then_confirmed_stores_the_second_number(
    service: Service, ami: Manager, tmp_path: Path
) -> None:
    keys = ["5551239999#", "1", "2", "5551237777#", "1"]
    async with calling(tmp_path, "5020", "+15551250002", keys) as (caller, sink):
        await read_back_to(caller, sink, ami, "5551239999")
        mark = sink.samples().size
        await caller.nudge()  # 2: enter it again
        await heard_after(sink, ENTER, mark)
        await caller.nudge()  # the second number
        await heard_after(sink, READBACK, mark)
        said = await wait_said(sink, "5551237777", after=mark, timeout=30)
        await heard_after(sink, CONFIRM, said)
        await caller.nudge()  # 1: confirmed
        await wait_heard(sink, SUCCESS, timeout=20)
        await caller.finished()
    assert not_heard(sink, ERROR)
    assert said_at(sink.samples()[:mark], "5551237777") is None  # the first read-back: 9999
    (request,) = await stored(service)
    assert request.callback_number == "+15551237777"


async def test_blocked_re_entry_gets_the_error_and_stores_nothing(
    service: Service, ami: Manager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    keys = ["5551239999#", "1", "2", "911#"]
    async with calling(tmp_path, "5020", "+15551250003", keys) as (caller, sink):
        await read_back_to(caller, sink, ami, "5551239999")
        mark = sink.samples().size
        await caller.nudge()  # 2: enter it again
        await heard_after(sink, ENTER, mark)
        await caller.nudge()  # an emergency number
        await wait_heard(sink, ERROR, timeout=20)
        await caller.finished()
    assert caller.received("BYE")
    assert not_heard(sink, SUCCESS)
    assert await stored(service) == []
    assert any("code=blocked-number" in r.getMessage() for r in caplog.records)


async def test_no_key_after_the_read_back_stores_nothing(
    service: Service, ami: Manager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    async with calling(tmp_path, "5020", "+15551250004", ["5551239999#", "1"]) as (caller, sink):
        await read_back_to(caller, sink, ami, "5551239999")
        await wait_heard(sink, ERROR, timeout=20)  # the question timed out
        await caller.finished()
    assert caller.received("BYE")
    assert not_heard(sink, SUCCESS)
    assert await stored(service) == []
    assert any("code=not-confirmed" in r.getMessage() for r in caplog.records)
