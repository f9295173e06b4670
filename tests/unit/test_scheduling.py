"""The later-time dialogue on a scripted channel, and the later times offered."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agi_app.config.settings import ScheduleSettings
from agi_app.domain.hours import later_slots
from agi_app.domain.request import scheduled
from agi_app.ivr.time_choice import NotScheduled, ask_time
from tests.support.samples import PENDING

SLOTS = [datetime(2026, 11, 30, h, tzinfo=UTC) for h in (18, 19, 20)]


class Scripted:
    """Answers each AGI command with the next key of ``keys`` ('' for none)."""

    uniqueid = "chan-1"

    def __init__(self, *keys: str) -> None:
        self._keys: Iterator[str] = iter(keys)
        self.said: list[str] = []

    def _next(self, what: str) -> str:
        self.said.append(what)
        return next(self._keys, "")

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        return self._next(prompt)

    async def stream_file(self, prompt: str, escape_digits: str = "") -> str:
        return self._next(prompt)

    async def say_digits(self, digits: str, escape_digits: str = "") -> str:
        return self._next(digits)

    async def say_datetime(self, at: datetime, zone: str, escape_digits: str = "") -> str:
        return self._next(at.isoformat())


async def test_no_key_or_1_is_as_soon_as_possible() -> None:
    assert await ask_time(Scripted(""), SLOTS, "UTC") is None
    assert await ask_time(Scripted("1"), SLOTS, "UTC") is None
    assert await ask_time(Scripted(), [], "UTC") is None  # nothing later to offer: not asked


async def test_a_key_during_the_list_chooses_that_time() -> None:
    # 2, then the intro, the first time's number and date played out; "2" during the second.
    channel = Scripted("2", "", "", "", "2")
    assert await ask_time(channel, SLOTS, "UTC") == SLOTS[1]
    assert channel.said == ["callback/when", "callback/slot-intro", "1", SLOTS[0].isoformat(), "2"]


async def test_a_key_after_the_list_chooses_and_none_is_an_error() -> None:
    assert await ask_time(Scripted("2", *[""] * 7, "3"), SLOTS, "UTC") == SLOTS[2]
    with pytest.raises(NotScheduled):
        await ask_time(Scripted("2", *[""] * 7, ""), SLOTS, "UTC")
    with pytest.raises(NotScheduled):
        await ask_time(Scripted("2", *[""] * 7, "9"), SLOTS, "UTC")


def test_later_times_are_whole_steps_within_hours() -> None:
    now = datetime(2026, 11, 30, 17, 10, tzinfo=UTC)  # a Monday
    hourly = {"count": 3, "step": timedelta(hours=1), "lead": timedelta(minutes=30)}
    assert later_slots(None, now, **hourly) == [  # type: ignore[arg-type]
        datetime(2026, 11, 30, h, tzinfo=UTC) for h in (18, 19, 20)
    ]
    office = ScheduleSettings(
        timezone="America/New_York", hours={"mon": "09:00-17:00", "tue": "09:00-11:00"}
    ).schedule("office")
    # 12:10 in New York: 13:00 is the first whole hour 30 min ahead; Tuesday after 16:00.
    assert later_slots(
        office, now, count=6, step=timedelta(hours=1), lead=timedelta(minutes=30)
    ) == [datetime(2026, 11, 30, h, tzinfo=UTC) for h in (18, 19, 20, 21)] + [
        datetime(2026, 12, 1, h, tzinfo=UTC) for h in (14, 15)
    ]


def test_a_scheduled_request_waits_until_its_time_and_its_max_wait_counts_from_then() -> None:
    at = PENDING.requested_at + timedelta(hours=3)
    later = scheduled(PENDING, at)
    assert (later.scheduled_for, later.not_before) == (at, at)
    assert later.expires_at - at == PENDING.expires_at - PENDING.requested_at
    assert later.queue_entered_at == PENDING.queue_entered_at
