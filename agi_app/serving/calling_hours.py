"""Calling hours in serving: which schedule a request keeps, whether it may ring and dial
now, and the sweep at each closing (carry the waiting callbacks to the next opening, or
expire them, by their at_closing option)."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from agi_app.domain import lifecycle as lc
from agi_app.domain.calling_rules import AllOf, combined
from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.hours import AtClosing, Schedule
from agi_app.domain.request import WAITING_STATES, CallbackRequest
from agi_app.serving.backoff import Retry
from agi_app.serving.unit_of_work import UnitOfWork
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

_UTC = ZoneInfo("UTC")
_RECHECK_S = 30.0  # the sweep looks at the clock at least this often (clock changes)


class CallingHours:
    def __init__(
        self,
        schedules: dict[str, Schedule],
        clock: Callable[[], datetime],
        centre_zone: ZoneInfo = _UTC,
    ) -> None:
        self._schedules = schedules
        self._clock = clock
        self._warned: set[str] = set()
        self._centre_zone = centre_zone  # the customer's hours of a number of no known zone

    def schedules(self) -> list[Schedule]:
        return list(self._schedules.values())

    def of(self, request: CallbackRequest) -> Schedule | AllOf | None:
        """Its calling hours, and its customer's own (calling rules) if it has them."""
        return combined(
            self._schedule(request),
            request.callback_number,
            request.customer_hours,
            self._centre_zone,
        )

    def _schedule(self, request: CallbackRequest) -> Schedule | None:
        if request.schedule is None:
            return None
        schedule = self._schedules.get(request.schedule)
        if schedule is None and request.schedule not in self._warned:
            self._warned.add(request.schedule)
            log.warning("schedule %r is no longer in the settings: always open", request.schedule)
        return schedule

    def closed(self, request: CallbackRequest) -> lc.HoursClosed | None:
        """The event that carries it to its next opening, if its hours are closed now."""
        schedule, now = self.of(request), self._clock()
        if schedule is None or schedule.is_open(now):
            return None
        return lc.HoursClosed(schedule.next_opening(now), expire=False, at=now)

    def may_call(self, request: CallbackRequest) -> bool:
        """Whether the customer may be called now (the informative call)."""
        schedule = self.of(request)
        return schedule is None or schedule.may_call(self._clock())

    def next_closing(self, now: datetime) -> tuple[datetime, list[str]] | None:
        """The next closing of any schedule, and which schedules close then."""
        closings = {
            name: at
            for name, schedule in self._schedules.items()
            if (at := schedule.next_closing(now)) is not None
        }
        if not closings:
            return None
        first = min(closings.values())
        return first, [name for name, at in closings.items() if at == first]


class ClosingSweep:
    """At each closing, every callback of that schedule still waiting leaves the queue."""

    def __init__(
        self,
        hours: CallingHours,
        store: RequestStore,
        unit_of_work: UnitOfWork,
        clock: Callable[[], datetime],
    ) -> None:
        self._hours = hours
        self._store = store
        self._uow = unit_of_work
        self._clock = clock

    async def run(self) -> None:
        # A locked store: the sweep is done again after a pause, never given up (a bug too).
        retry = Retry(
            "closing sweep failed", log, expected=(StoreUnavailable,), level=logging.ERROR
        )
        # Closed now: whatever is still in a queue of those schedules missed its closing
        # (the service was down then).
        now = self._clock()
        target: tuple[datetime, list[str]] | None = (
            now,
            [s.name for s in self._hours.schedules() if not s.is_open(now)],
        )
        while True:
            now = self._clock()
            target = target or self._hours.next_closing(now)
            if target is None:
                await asyncio.sleep(3600)  # no schedule closes within a year
                continue
            closing, names = target
            if now < closing:
                await asyncio.sleep(min((closing - now).total_seconds(), _RECHECK_S))
                continue
            await retry.until_passed(partial(self._close, names, closing), bug_tries=None)
            target = None

    async def _close(self, names: list[str], closing: datetime) -> None:
        if not names:
            return
        for request in await self._store.requests(*WAITING_STATES):
            schedule = self._hours.of(request)
            if schedule is None or schedule.name not in names:
                continue
            event = lc.HoursClosed(
                schedule.next_opening(closing),
                expire=request.at_closing is AtClosing.EXPIRE,
                at=self._clock(),
            )
            await self._uow.apply(request.id, event)
        log.info("calling hours %s closed at %s", ", ".join(names), closing.isoformat())
