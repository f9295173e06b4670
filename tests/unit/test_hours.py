"""Calling hours: opening periods, closed dates, time zones, and what the settings refuse."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from agi_app.config.settings import ScheduleSettings, Settings
from agi_app.domain.errors import InvalidOptions
from agi_app.domain.hours import ScheduleError, parse_periods

PARIS = ZoneInfo("Europe/Paris")
OFFICE = ScheduleSettings(
    timezone="Europe/Paris",
    hours={"mon": "09:00-12:30,13:30-17:00", "tue": "09:00-17:00", "sat": "10:00-12:00"},
    closed=[date(2026, 12, 1)],
).schedule("office")


def paris(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def test_open_within_a_period_closed_between_and_after() -> None:
    monday = 30  # 30 Nov 2026 is a Monday
    assert OFFICE.is_open(paris(monday, 9))
    assert not OFFICE.is_open(paris(monday, 12, 45))  # lunch
    assert not OFFICE.is_open(paris(monday, 17))  # the closing minute is closed
    assert not OFFICE.is_open(paris(29, 11))  # Sunday: no hours given
    assert not OFFICE.is_open(paris(1, 10, month=12))  # a closed date (a Tuesday)


def test_next_opening_and_closing_skip_closed_days() -> None:
    sunday_night = paris(29, 22)
    assert OFFICE.next_opening(sunday_night) == paris(30, 9)
    assert OFFICE.closes_at(paris(30, 10)) == paris(30, 12, 30)
    assert OFFICE.next_closing(sunday_night) == paris(30, 12, 30)
    # Monday evening: Tuesday 1 Dec is closed, so Saturday 5 Dec at 10:00.
    assert OFFICE.next_opening(paris(30, 18)) == datetime(2026, 12, 5, 10, tzinfo=PARIS)


def test_the_time_zone_decides_not_utc() -> None:
    assert OFFICE.is_open(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))  # 09:30 in Paris
    assert not OFFICE.is_open(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))  # 17:30 in Paris


def test_informative_calls_may_go_out_just_after_closing_only() -> None:
    closing = paris(30, 17)
    assert OFFICE.may_call(closing + timedelta(seconds=30))
    assert not OFFICE.may_call(closing + timedelta(minutes=2))


def test_hours_across_a_dst_change_follow_the_wall_clock() -> None:
    daily = ScheduleSettings(
        timezone="Europe/Paris", hours=dict.fromkeys(("sat", "sun"), "09:00-17:00")
    ).schedule("weekend")
    # 29 Mar 2026: Paris moves from UTC+1 to UTC+2.
    assert daily.next_opening(datetime(2026, 3, 28, 20, tzinfo=UTC)) == datetime(
        2026, 3, 29, 7, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["9-17", "17:00-09:00", "09:00-12:00,11:00-13:00", "09:00"])
def test_unreadable_periods_are_refused(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_periods(text)


def test_settings_refuse_bad_schedules_and_unknown_names() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        ScheduleSettings(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="not one of"):
        ScheduleSettings(timezone="UTC", hours={"monday": "09:00-17:00"})
    with pytest.raises(ValidationError, match="unknown schedules"):
        Settings(ami_enabled=False, queue_schedules={"support": "nope"})
    settings = Settings(
        ami_enabled=False,
        schedules={"office": ScheduleSettings(timezone="UTC")},
        queue_schedules={"support": "office"},
    )
    assert settings.schedule_name("support", None) == "office"
    assert settings.schedule_name("sales", None) is None
    with pytest.raises(InvalidOptions):
        settings.schedule_name("support", "night")
