"""Calling rules (issue 30): numbers never to be called back (do-not-call), and the hours in
which a customer may be called, in their own local time (customer hours).

Pure: the list, the window and the time are given. A number's time zones come from
libphonenumber's geographic data (``phonenumbers.timezone``), which reads no clock.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat
from phonenumbers import timezone as number_zones

from agi_app.domain.errors import CallbackError, InvalidNumber
from agi_app.domain.hours import DAYS, OpeningTimes, Schedule, ScheduleError, parse_periods

CUSTOMER = "customer"  # the name the customer's own hours go by in logs and events
_PREFIX = re.compile(r"^\+[1-9][0-9]{0,14}\*$")
_SEPARATORS = re.compile(r"[ ().-]")
_UNKNOWN_ZONE = "Etc/Unknown"  # libphonenumber's answer for a number of no known place
_SEARCH_STEPS = 1000  # an intersection that never opens within this many steps: never


class DoNotCall(CallbackError):
    """The number is on the do-not-call list: never called back."""

    code = "do-not-call"


# ---- do-not-call ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DoNotCallEntry:
    """One entry added by the command line or the API (kept in the store)."""

    entry: str  # as do_not_call_entry keeps it
    added_at: datetime
    added_by: str  # the credential: api:NAME, cli:USER


def do_not_call_entry(raw: str, region: str | None = None) -> str:
    """An entry as kept: a number in E.164 (``+441632960001``; national forms in ``region``),
    or a prefix, E.164 digits ending in ``*`` (``+44163296*``). InvalidNumber otherwise."""
    text = _SEPARATORS.sub("", raw.strip())
    if text.endswith("*"):
        if not _PREFIX.match(text):
            raise InvalidNumber(f"{raw[:40]!r} is not a prefix: + and 1 to 15 digits, then *")
        return text
    if not re.fullmatch(r"\+?[0-9]{3,20}", text):
        raise InvalidNumber(f"{raw[:40]!r} is not a phone number")
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException:
        raise InvalidNumber(f"{raw[:40]!r} is not a phone number (E.164: +...)") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber(f"{raw[:40]!r} is not a possible number")
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def blocked_by(number: str, entries: Iterable[str]) -> str | None:
    """The entry that forbids calling ``number`` (E.164), or None."""
    for entry in entries:
        if (entry.endswith("*") and number.startswith(entry[:-1])) or number == entry:
            return entry
    return None


def check_do_not_call(number: str, entries: Iterable[str]) -> None:
    """Refuse a request to call back ``number`` (DoNotCall) when an entry covers it."""
    if (entry := blocked_by(number, entries)) is not None:
        shown = "it" if entry == number else f"prefix {entry}"
        raise DoNotCall(f"{number} is on the do-not-call list ({shown})")


# ---- the customer's hours -----------------------------------------------------------------------
def parse_window(text: str) -> tuple[tuple[time, time], ...]:
    """``"08:00-21:00"``, several joined by ``/`` (a comma would end a Gosub argument):
    ``"09:00-12:00/14:00-20:00"``; the same every day. ScheduleError when unreadable."""
    periods = parse_periods(text.replace("/", ","))
    if not periods:
        raise ScheduleError(f"{text[:40]!r}: no period (HH:MM-HH:MM)")
    return periods


def zones_of(number: str) -> tuple[str, ...]:
    """The IANA zones ``number`` (E.164) may ring in; () when none is known."""
    try:
        parsed = phonenumbers.parse(number)
    except NumberParseException:
        return ()
    found = []
    for name in number_zones.time_zones_for_number(parsed):
        if name == _UNKNOWN_ZONE:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue  # a zone this system's tz database lacks: the others decide
        found.append(name)
    return tuple(found)


def customer_schedules(number: str, window: str, fallback: ZoneInfo) -> list[Schedule]:
    """The customer's window in each zone their number may ring in (``fallback``, the
    centre's own zone, for a number of no known zone)."""
    periods = parse_window(window)
    names = zones_of(number) or (fallback.key,)
    return [Schedule(CUSTOMER, ZoneInfo(name), tuple(periods for _ in DAYS)) for name in names]


@dataclass(frozen=True)
class AllOf(OpeningTimes):
    """Open only when every schedule is open: the moments allowed in all of them (a number
    spanning zones is called only when it is within the window everywhere it may ring).
    ``name``: the first schedule's (the centre's calling hours, whose closings sweep it)."""

    schedules: tuple[Schedule, ...]

    @property
    def name(self) -> str:
        return self.schedules[0].name

    @property
    def zone(self) -> ZoneInfo:
        return self.schedules[0].zone

    def is_open(self, at: datetime) -> bool:
        return all(s.is_open(at) for s in self.schedules)

    def closes_at(self, at: datetime) -> datetime | None:
        ends = [s.closes_at(at) for s in self.schedules]
        return None if any(end is None for end in ends) else min(e for e in ends if e)

    def next_opening(self, at: datetime) -> datetime | None:
        """The first moment after ``at`` when all are open and were not all open just
        before (each step jumps to the latest next opening of those closed)."""
        t = self.closes_at(at) or at
        for _ in range(_SEARCH_STEPS):
            closed = [s for s in self.schedules if not s.is_open(t)]
            if not closed:
                return t if t > at else None
            openings = [s.next_opening(t) for s in closed]
            if any(o is None for o in openings):
                return None
            t = max(o for o in openings if o)
        return None


def combined(
    schedule: Schedule | None, number: str, window: str, fallback: ZoneInfo
) -> Schedule | AllOf | None:
    """A request's hours: its calling hours (``schedule``), and its customer's ``window`` if
    it has one ("" none)."""
    if not window:
        return schedule
    try:
        customer = customer_schedules(number, window, fallback)
    except ScheduleError:
        return schedule  # validated at intake; a window stored unreadable does not block
    return AllOf((*((schedule,) if schedule else ()), *customer))
