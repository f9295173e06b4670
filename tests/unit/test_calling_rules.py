"""Calling rules: do-not-call entries and matching, and the customer's own hours in the
zones of their number (a US number spanning two zones, a UK one, a French one, one of no
known zone), at fixed instants."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from agi_app.config.calling_rules import CallingRules
from agi_app.config.settings import ScheduleSettings
from agi_app.domain.calling_rules import (
    AllOf,
    DoNotCall,
    blocked_by,
    check_do_not_call,
    combined,
    customer_schedules,
    do_not_call_entry,
    zones_of,
)
from agi_app.domain.errors import InvalidNumber, InvalidOptions
from agi_app.domain.options import parse_options

IDAHO = "+12085550123"  # area code 208: America/Boise and America/Los_Angeles
LONDON = "+442079460123"
PARIS_MOBILE = "+33612345678"
FICTIONAL = "+15555550100"  # the test bed's: no known zone
PARIS = ZoneInfo("Europe/Paris")
WINDOW = "08:00-21:00"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=UTC)  # March 2027: before any DST


# ---- do-not-call ---------------------------------------------------------------------------
def test_entries_are_kept_in_e164_and_prefixes_end_in_a_star() -> None:
    assert do_not_call_entry("+44 20 7946 0123") == LONDON
    assert do_not_call_entry("020 7946 0123", "GB") == LONDON
    assert do_not_call_entry("+4420794*") == "+4420794*"


@pytest.mark.parametrize(
    "raw", ["", "abc", "+44*0*", "4420*", "+", "*", "+44 20 7946 0123;x", "+1 555 0100\n1"]
)
def test_other_entries_are_refused(raw: str) -> None:
    with pytest.raises(InvalidNumber):
        do_not_call_entry(raw)


def test_a_number_is_blocked_by_itself_or_a_prefix_of_it() -> None:
    entries = ["+4420794*", PARIS_MOBILE]
    assert blocked_by(LONDON, entries) == "+4420794*"
    assert blocked_by(PARIS_MOBILE, entries) == PARIS_MOBILE
    assert blocked_by("+33612345679", entries) is None
    with pytest.raises(DoNotCall) as refused:
        check_do_not_call(LONDON, entries)
    assert refused.value.code == "do-not-call"
    check_do_not_call(IDAHO, entries)  # not listed: no refusal


def test_the_settings_list_is_checked_and_kept_sorted_once() -> None:
    rules = CallingRules(do_not_call=[PARIS_MOBILE, "+44 20 7946 0123", PARIS_MOBILE])
    assert rules.do_not_call == [PARIS_MOBILE, LONDON]
    with pytest.raises(ValidationError, match="not a phone number"):
        CallingRules(do_not_call=["nobody"])
    with pytest.raises(ValidationError):
        CallingRules(customer_hours={"support": "21:00-08:00"})
    with pytest.raises(ValidationError, match="IANA"):
        CallingRules(timezone="Mars/Olympus")


# ---- the customer's zones ------------------------------------------------------------------
def test_a_number_rings_in_the_zones_of_its_place() -> None:
    assert zones_of(IDAHO) == ("America/Boise", "America/Los_Angeles")
    assert zones_of(LONDON) == ("Europe/London",)
    assert zones_of(PARIS_MOBILE) == ("Europe/Paris",)
    assert zones_of(FICTIONAL) == ()


def test_a_french_number_is_called_in_paris_time() -> None:
    hours = AllOf(tuple(customer_schedules(PARIS_MOBILE, WINDOW, ZoneInfo("UTC"))))
    assert not hours.is_open(utc(1, 6, 59))  # 07:59 in Paris (UTC+1)
    assert hours.is_open(utc(1, 7))  # 08:00 in Paris
    assert hours.closes_at(utc(1, 12)) == utc(1, 20)  # 21:00 in Paris
    assert hours.next_opening(utc(1, 21)) == utc(2, 7)


def test_a_uk_number_is_called_in_london_time() -> None:
    hours = AllOf(tuple(customer_schedules(LONDON, WINDOW, PARIS)))
    assert not hours.is_open(utc(1, 7, 59))
    assert hours.is_open(utc(1, 8))  # London is UTC in March
    assert hours.next_opening(utc(1, 21)) == utc(2, 8)


def test_a_number_spanning_two_zones_is_called_only_when_both_allow_it() -> None:
    """Boise is UTC-7 and Los Angeles UTC-8 in early March: 08:00 in Los Angeles (16:00
    UTC) opens it, 21:00 in Boise (04:00 UTC) closes it."""
    hours = AllOf(tuple(customer_schedules(IDAHO, WINDOW, PARIS)))
    assert not hours.is_open(utc(1, 15, 30))  # 08:30 in Boise, 07:30 in Los Angeles
    assert hours.next_opening(utc(1, 15, 30)) == utc(1, 16)
    assert hours.is_open(utc(2, 3, 30))  # 20:30 in Boise
    assert hours.closes_at(utc(2, 3, 30)) == utc(2, 4)  # 21:00 in Boise, 20:00 in LA
    assert not hours.is_open(utc(2, 4, 30))
    assert hours.next_opening(utc(2, 4, 30)) == utc(2, 16)


def test_a_number_of_no_known_zone_is_called_in_the_centres_zone() -> None:
    hours = AllOf(tuple(customer_schedules(FICTIONAL, WINDOW, PARIS)))
    assert [s.zone for s in hours.schedules] == [PARIS]
    assert hours.is_open(utc(1, 7)) and not hours.is_open(utc(1, 6, 59))


def test_with_calling_hours_both_must_be_open() -> None:
    office = ScheduleSettings(
        timezone="Europe/Paris", hours={d: "09:00-18:00" for d in ("mon", "tue", "wed")}
    ).schedule("office")
    hours = combined(office, IDAHO, WINDOW, PARIS)
    assert isinstance(hours, AllOf) and hours.name == "office"
    # Monday 1 March 2027: the office opens at 08:00 UTC, Idaho's window at 16:00 UTC, the
    # office closes at 17:00 UTC: one hour a day where both allow it.
    assert hours.next_opening(utc(1, 6)) == utc(1, 16)
    assert hours.closes_at(utc(1, 16, 30)) == utc(1, 17)
    # Wednesday's hour, then nothing until Monday.
    assert hours.next_opening(utc(3, 17)) == utc(8, 16)
    assert combined(office, IDAHO, "", PARIS) is office  # no window: the schedule alone
    assert combined(None, IDAHO, "", PARIS) is None


def test_windows_that_never_meet_never_open() -> None:
    """Paris 08:00-09:00 and Los Angeles 08:00-09:00 never overlap: held, never dialed."""
    paris = customer_schedules(PARIS_MOBILE, "08:00-09:00", PARIS)
    la = customer_schedules("+13105550123", "08:00-09:00", PARIS)
    assert AllOf((*paris, *la)).next_opening(utc(1, 0)) is None


# ---- the option ---------------------------------------------------------------------------
def test_the_option_takes_periods_joined_by_a_slash() -> None:
    options = parse_options(["queue=support", "customer_hours=08:00-12:00/14:00-21:00"])
    assert options.customer_hours == "08:00-12:00/14:00-21:00"


@pytest.mark.parametrize(
    "value", ["21:00-08:00", "8h-21h", "08:00-12:00/11:00-13:00", "", "08:00-21:00;x"]
)
def test_the_option_refuses_unreadable_windows(value: str) -> None:
    with pytest.raises(InvalidOptions, match="customer_hours"):
        parse_options(["queue=support", f"customer_hours={value}"])


def test_a_flow_without_the_option_takes_its_queues_window() -> None:
    rules = CallingRules(customer_hours={"support": WINDOW})
    assert rules.window_of("support", None) == WINDOW
    assert rules.window_of("support", "09:00-10:00") == "09:00-10:00"
    assert rules.window_of("sales", None) == ""
