"""Calling hours: when a queue's callbacks may ring agents and dial customers.

A schedule is weekly opening periods in a time zone, and closed dates. Pure: the time is
always given, so tests need not wait for real hours.
"""

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SEARCH_DAYS = 400  # a schedule closed for longer than this is treated as never opening


# Informative calls for callbacks that expire at closing go out within this of the closing.
CLOSING_GRACE = timedelta(minutes=1)


class AtClosing(StrEnum):
    CARRY = "carry"  # held in the store, placed at its place at the next opening
    EXPIRE = "expire"  # ends as Expired, the customer informed (timeout_prompt) at closing


class ScheduleError(ValueError):
    """A schedule as written in the settings cannot be read."""


def parse_periods(text: str) -> tuple[tuple[time, time], ...]:
    """``"09:00-12:30,13:30-17:00"`` (seconds allowed: ``"09:00:30"``); ``""``: closed."""
    periods = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        first, sep, last = part.partition("-")
        try:
            opens, closes = time.fromisoformat(first.strip()), time.fromisoformat(last.strip())
        except ValueError:
            raise ScheduleError(f"{part!r} is not HH:MM-HH:MM") from None
        if not sep or opens >= closes:
            raise ScheduleError(f"{part!r}: the opening must come before the closing")
        periods.append((opens, closes))
    periods.sort()
    for (_, end), (start, _) in itertools.pairwise(periods):
        if start < end:
            raise ScheduleError(f"periods overlap in {text!r}")
    return tuple(periods)


class OpeningTimes(ABC):
    """What serving asks of calling hours (a schedule, or several together: AllOf): its
    three primitives, and what follows from them."""

    @abstractmethod
    def is_open(self, at: datetime) -> bool: ...

    @abstractmethod
    def closes_at(self, at: datetime) -> datetime | None: ...

    @abstractmethod
    def next_opening(self, at: datetime) -> datetime | None: ...

    def next_closing(self, at: datetime) -> datetime | None:
        """The end of the current open period, or else of the next one."""
        if (end := self.closes_at(at)) is not None:
            return end
        opening = self.next_opening(at)
        return self.closes_at(opening) if opening is not None else None

    def may_call(self, at: datetime) -> bool:
        """Open, or just closed: the informative calls of the callbacks that expired at
        closing go out then."""
        return self.is_open(at) or self.is_open(at - CLOSING_GRACE)


@dataclass(frozen=True)
class Schedule(OpeningTimes):
    name: str
    zone: ZoneInfo
    weekly: tuple[tuple[tuple[time, time], ...], ...]  # Monday first, 7 entries
    closed: frozenset[date] = frozenset()

    def _periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's open periods as aware datetimes (a time that a DST change skips opens
        at the first valid time after it, as the wall clock shows it)."""
        if day in self.closed:
            return []
        return [
            (
                datetime.combine(day, start, self.zone).astimezone(UTC),
                datetime.combine(day, end, self.zone).astimezone(UTC),
            )
            for start, end in self.weekly[day.weekday()]
        ]

    def _around(self, at: datetime) -> list[tuple[datetime, datetime]]:
        local = at.astimezone(self.zone).date()
        return [p for d in (-1, 0) for p in self._periods(local + timedelta(days=d))]

    def is_open(self, at: datetime) -> bool:
        return any(start <= at < end for start, end in self._around(at))

    def closes_at(self, at: datetime) -> datetime | None:
        """The end of the open period ``at`` is in (None: closed at ``at``)."""
        return next((end for start, end in self._around(at) if start <= at < end), None)

    def next_opening(self, at: datetime) -> datetime | None:
        """The first opening after ``at`` (None: none within a year or so)."""
        local = at.astimezone(self.zone).date()
        for offset in range(_SEARCH_DAYS):
            for start, _ in self._periods(local + timedelta(days=offset)):
                if start > at:
                    return start
        return None


def later_slots(
    schedule: Schedule | None,
    now: datetime,
    *,
    count: int,
    step: timedelta,
    lead: timedelta,
) -> list[datetime]:
    """The times a caller may choose for a scheduled callback: the next ``count`` whole
    multiples of ``step`` (from midnight in the schedule's zone, UTC without one) at least
    ``lead`` from now, within calling hours."""
    zone = schedule.zone if schedule is not None else UTC
    local = (now + lead).astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), zone)
    k = -(-(local - midnight) // step)  # ceiling: the first whole step not before it
    slots: list[datetime] = []
    end = now + timedelta(days=_SEARCH_DAYS)
    # Wall-clock steps in the zone: 18:00 stays 18:00 across a DST change.
    while len(slots) < count and (slot := (midnight + k * step).astimezone(UTC)) < end:
        if schedule is None or schedule.is_open(slot):
            slots.append(slot)
        k += 1
    return slots
