"""The caller's status check (agi_app.ivr.status_check) on a scripted channel and the in-memory
store: who finds a waiting callback, what they hear, what each key does."""

import asyncio
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agi_app.domain.errors import InvalidOptions
from agi_app.domain.numbers import NumberRules
from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State
from agi_app.ivr.status_check import (
    CallerStatus,
    StatusOptions,
    live_position,
    parse_status_options,
)
from agi_app.store.memory import MemoryStore

COMPONENT = Path(__file__).resolve().parents[2] / "asterisk_conf" / "extensions_callback.conf"
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
ANN = "+15551230001"
WAITING = CallbackRequest(
    id="r1",
    channel="1795650000.1",
    state=State.WAITING,
    queue="support",
    priority=5,
    position=1,
    caller_name="Ann",
    caller_number=ANN,
    callback_number=ANN,
    extension=None,
    dialed_number="5050",
    queue_entered_at=NOW - timedelta(seconds=60),
    requested_at=NOW,
    expires_at=NOW + timedelta(seconds=1800),
    timeout_prompt=None,
    attempt=1,
)
RULES = NumberRules(allowed_prefixes=("+1555",))
OPTIONS = ["queue=support", "timeout_prompt=callback/timeout", "", ""]


@dataclass
class Channel:
    """A FastAGI session as the check sees it: each command's reply is scripted."""

    callerid: str = ANN
    callingpres: str = "0"
    args: list[str] = field(default_factory=lambda: list(OPTIONS))
    keys: dict[str, str] = field(default_factory=dict)  # command prefix -> key pressed
    commands: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {"agi_callerid": self.callerid, "agi_callingpres": self.callingpres}

    @property
    def uniqueid(self) -> str:
        return "1795650099.7"

    async def command(self, line: str, *, wait: float | None = None) -> dict[str, Any]:
        self.commands.append(line)
        key = next((k for prefix, k in self.keys.items() if line.startswith(prefix)), "")
        return {"result": (str(ord(key)) if key else "0", "")}

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        self.commands.append(f"GET DATA {prompt} {timeout_ms} {max_digits}")
        return self.keys.get("GET DATA", "")

    async def set_variable(self, name: str, value: str) -> None:
        self.variables[name] = value


@dataclass
class Serving:
    """What the check asks of serving: a position, and a cancel that behaves as
    Serving.cancel does (through the lifecycle: only a request waiting for an agent)."""

    store: MemoryStore
    position: int | None = 2
    cancels: list[tuple[str, str, str]] = field(default_factory=list)

    async def position_of(self, request: CallbackRequest) -> int | None:
        return self.position

    async def cancel(self, request_id: str, by: str, *, credential: str) -> CallbackRequest | None:
        self.cancels.append((request_id, by, credential))
        before = await self.store.get(request_id)
        if before is None or before.state not in (State.PENDING, State.WAITING, State.OFFERED):
            return before
        done = replace(
            before,
            state=State.DONE,
            call_outcome=CallOutcome.CANCELLED,
            contact_outcome=ContactOutcome.MISSED,
        )
        await self.store.save(before, done, "Cancelled", NOW, {"by": by})
        return done


async def check(
    channel: Channel, *requests: CallbackRequest, position: int | None = 2
) -> tuple[MemoryStore, Serving]:
    store = MemoryStore()
    for request in requests:
        await store.add(request)
    serving = Serving(store, position)
    handler = CallerStatus(store, RULES, position_of=serving.position_of, cancel=serving.cancel)
    await handler(channel)
    return store, serving


ANNOUNCED = [
    'STREAM FILE callback/status-waiting "12"',
    'STREAM FILE callback/status-position "12"',
    'SAY NUMBER 2 "12"',
    "GET DATA callback/status-choice 5000 1",
]


async def test_cancel_with_2_cancels_through_serving_and_goes_on() -> None:
    channel = Channel(keys={"GET DATA": "2"})
    store, serving = await check(channel, WAITING)
    assert channel.commands == ANNOUNCED
    assert serving.cancels == [("r1", f"caller:{ANN}", "phone")]
    assert channel.variables == {
        "CALLBACK_PROMPT": "callback/status-cancelled",
        "CALLBACK_NEXT": "CONTINUE",
        "CALLBACK_STATUS": "CANCELLED",
    }
    (request,) = await store.requests()
    assert request.call_outcome is CallOutcome.CANCELLED
    assert (await store.events("r1"))[-1].detail == {"by": f"caller:{ANN}"}


@pytest.mark.parametrize("key", ["1", ""])  # the keep key, or no key at all
async def test_keep_with_1_or_no_key_keeps_it_and_hangs_up(key: str) -> None:
    channel = Channel(keys={"GET DATA": key})
    store, serving = await check(channel, WAITING)
    assert channel.commands == ANNOUNCED
    assert serving.cancels == []
    assert channel.variables == {
        "CALLBACK_PROMPT": "callback/status-kept",
        "CALLBACK_NEXT": "HANGUP",
        "CALLBACK_STATUS": "KEPT",
    }
    assert await store.requests() == [WAITING]


async def test_a_key_during_the_announcement_answers_at_once() -> None:
    channel = Channel(keys={"STREAM FILE callback/status-waiting": "2"})
    _, serving = await check(channel, WAITING)
    assert channel.commands == ANNOUNCED[:1]
    assert serving.cancels == [("r1", f"caller:{ANN}", "phone")]
    assert channel.variables["CALLBACK_STATUS"] == "CANCELLED"


async def test_another_key_is_refused_with_the_error_prompt_and_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = Channel(keys={"GET DATA": "9"})
    store, serving = await check(channel, WAITING)
    assert serving.cancels == []
    assert channel.variables == {
        "CALLBACK_PROMPT": "callback/error-in-request",
        "CALLBACK_NEXT": "HANGUP",
        "CALLBACK_STATUS": "INVALID",
    }
    assert await store.requests() == [WAITING]
    assert [e.event for e in await store.events("r1")] == ["requested"]
    assert "key '9' is neither keep nor cancel" in caplog.text


async def test_without_a_place_the_position_is_not_said() -> None:
    """Held between two dials, or being placed: no placeholder, so no number."""
    channel = Channel(keys={"GET DATA": "1"})
    await check(channel, replace(WAITING, state=State.PENDING), position=None)
    assert channel.commands == [ANNOUNCED[0], ANNOUNCED[-1]]


async def test_a_failing_position_costs_the_position_only() -> None:
    async def broken(_: CallbackRequest) -> int | None:
        raise ConnectionError("AMI lost")

    store = MemoryStore()
    await store.add(WAITING)
    channel = Channel(keys={"GET DATA": "1"})
    await CallerStatus(store, RULES, position_of=broken, cancel=Serving(store).cancel)(channel)
    assert channel.commands == [ANNOUNCED[0], ANNOUNCED[-1]]
    assert channel.variables["CALLBACK_STATUS"] == "KEPT"


@pytest.mark.parametrize(
    ("callerid", "callingpres"),
    [
        ("+15551230002", "0"),  # another caller: Ann's callback is not theirs
        ("anonymous", "0"),
        (ANN, "32"),  # Ann's number, but presentation prohibited: withheld
        ("+1555123;0001", "0"),  # not a number at all
        ("", "0"),
    ],
)
async def test_nothing_waiting_for_this_caller_returns_at_once(
    callerid: str, callingpres: str
) -> None:
    channel = Channel(callerid=callerid, callingpres=callingpres, keys={"GET DATA": "2"})
    store, serving = await check(channel, WAITING)
    assert channel.commands == []  # heard nothing
    assert channel.variables == {"CALLBACK_STATUS": "NONE"}
    assert serving.cancels == []
    assert await store.requests() == [WAITING]


@pytest.mark.parametrize("state", [State.DIALING, State.CONNECTED, State.DONE])
async def test_a_callback_being_served_or_over_is_not_waiting(state: State) -> None:
    channel = Channel(keys={"GET DATA": "2"})
    _, serving = await check(channel, replace(WAITING, state=state))
    assert channel.variables == {"CALLBACK_STATUS": "NONE"}
    assert serving.cancels == []


async def test_another_queue_is_not_looked_in() -> None:
    channel = Channel(args=["queue=sales"], keys={"GET DATA": "2"})
    await check(channel, WAITING)
    assert channel.variables == {"CALLBACK_STATUS": "NONE"}


async def test_a_callback_to_the_callers_number_is_found_too() -> None:
    """Asked from another phone (destination=number) for this one."""
    channel = Channel(keys={"GET DATA": "1"})
    await check(channel, replace(WAITING, caller_number="+15551239999"))
    assert channel.variables["CALLBACK_STATUS"] == "KEPT"


async def test_a_cancel_that_comes_too_late_says_so() -> None:
    """An agent answered while the caller chose: it is being served, not cancelled."""
    store = MemoryStore()
    await store.add(WAITING)

    async def too_late(request_id: str, by: str, *, credential: str) -> CallbackRequest | None:
        return replace(WAITING, state=State.DIALING)

    channel = Channel(keys={"GET DATA": "2"})
    await CallerStatus(store, RULES, cancel=too_late)(channel)
    assert channel.variables == {
        "CALLBACK_PROMPT": "callback/error-in-request",
        "CALLBACK_NEXT": "HANGUP",
        "CALLBACK_STATUS": "ERROR",
    }


async def test_without_serving_nothing_is_checked() -> None:
    store = MemoryStore()
    await store.add(WAITING)
    channel = Channel(keys={"GET DATA": "2"})
    await CallerStatus(store, RULES)(channel)
    assert channel.commands == []
    assert channel.variables == {"CALLBACK_STATUS": "NONE"}


async def test_unusable_options_let_the_call_go_on_in_silence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = Channel(args=["queue=support", "keep_key=2"], keys={"GET DATA": "2"})
    _, serving = await check(channel, WAITING)
    assert channel.commands == []
    assert channel.variables == {"CALLBACK_STATUS": "ERROR"}  # no prompt: nothing played
    assert serving.cancels == []
    assert "keep_key and cancel_key must differ" in caplog.text


def test_options_have_their_defaults_and_ignore_the_request_options() -> None:
    options = parse_status_options(
        ["queue=support", "priority=3", "destination=original", "max_wait=60", ""]
    )
    assert options == StatusOptions(queue="support")
    assert (options.keep_key, options.cancel_key, options.choice_timeout) == ("1", "2", 5)
    assert (options.after_keep, options.after_cancel) == ("hangup", "continue")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["queue=support", "cancel_key=12"],
        ["queue=support", "after_cancel=maybe"],
        ["queue=support", "choice_prompt=../../etc/passwd"],
        ["queue=support", "nonsense=1"],
        ["queue=support", "queue=sales"],
    ],
)
def test_bad_options_are_refused(args: list[str]) -> None:
    with pytest.raises(InvalidOptions):
        parse_status_options(args)


def test_the_component_header_lists_every_status_option() -> None:
    text = COMPONENT.read_text()
    header = text[: text.index("\n[")]
    listed = set(re.findall(r"^;\s+([a-z_]+)=", header, re.MULTILINE))
    assert listed >= set(StatusOptions.model_fields), set(StatusOptions.model_fields) - listed


async def test_live_position_is_the_live_views() -> None:
    rows: list[dict[str, object]] = [
        {"id": "r0", "position": 1},
        {"id": "r1", "position": 3},
        {"id": "r2", "position": None},
    ]

    async def live_view() -> list[dict[str, object]]:
        await asyncio.sleep(0)
        return rows

    position_of = live_position(live_view)
    assert await position_of(WAITING) == 3
    assert await position_of(replace(WAITING, id="r2")) is None
    assert await position_of(replace(WAITING, id="gone")) is None
