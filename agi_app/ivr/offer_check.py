"""The offer check (the component's ``[callback-offer-check]``): before a flow plays the
callback offer, it asks whether a callback is worth offering now.

    Gosub(callback-offer-check,s,1(${CALLBACK_OPTIONS},min_wait=60,max_callbacks=20))
    GotoIf($["${CALLBACK_OFFER}" = "yes"]?offer:queue)

The service estimates the queue's expected wait (domain/estimate.py, from Asterisk's
QueueStatus and the store's recent served callbacks), decides (domain/offer.py) and sets
CALLBACK_EXPECTED_WAIT (seconds, empty without an estimate), CALLBACK_OFFER_REASON and, last,
CALLBACK_OFFER (yes|no): a refused or failed session sets none of them, and a flow that
offers only on "yes" then offers nothing (the request would have failed too). Each check is
recorded (OfferLog) for the report: the request that follows has the caller's channel.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from agi_app.domain.errors import CallbackError, StoreUnavailable
from agi_app.domain.estimate import Estimate, QueueFigures, expected_wait, recent_waits
from agi_app.domain.hours import Schedule
from agi_app.domain.offer import Decision, OfferCheck, Reason, decide, parse_offer_options
from agi_app.domain.request import WAITING_STATES, CallbackRequest, State
from agi_app.pbx.ami import AmiError
from agi_app.serving.metrics import Metrics
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

OFFER_SCRIPT = "callback-offer"  # agi://host:port/callback-offer
_ASTERISK_WITHIN = 2.0  # seconds: a slow PBX costs its figures, never the caller's time
_STATUS_TTL = 1.0  # one QueueStatus per queue per second, however many callers ask
_HISTORY_TTL = 10.0  # the served callbacks are read again at most this often
_REMEMBER = timedelta(minutes=10)  # an offer a request may still follow (acceptance metric)
_MEMBER_GONE = frozenset({"4", "5"})  # QueueMember Status: invalid, unavailable
_MEMBER_FREE = frozenset({"0", "1"})  # unknown (an unqualified contact), not in use
_SERVED = (State.DIALING, State.CONNECTED, State.DONE)  # an agent answered these

QueueStatus = Callable[[str], Awaitable[list[Mapping[str, object]]]]


class OfferLog(Protocol):
    """Where offer checks are kept for the report (the store)."""

    async def record_offer_check(self, check: OfferCheck) -> None: ...

    async def offer_checks(self, since: datetime | None = None) -> list[OfferCheck]: ...


class Channel(Protocol):
    """What the check uses of a FastAGI session (agi_app.ivr.fastagi.AgiChannel)."""

    @property
    def args(self) -> list[str]: ...

    @property
    def uniqueid(self) -> str: ...

    async def set_variable(self, name: str, value: str) -> None: ...


def _number(value: object) -> float:
    try:
        return max(float(str(value)), 0.0)
    except ValueError:
        return 0.0


def asterisk_figures(entries: Iterable[Mapping[str, object]]) -> QueueFigures:
    """The QueueStatus of one queue (QueueParams, QueueMember, QueueEntry events) as figures."""
    figures = QueueFigures()
    callers = staffed = free = 0
    for entry in entries:
        event = entry.get("Event")
        if event == "QueueParams":
            figures = QueueFigures(
                talk_time=_number(entry.get("TalkTime")), hold_time=_number(entry.get("Holdtime"))
            )
        elif event == "QueueEntry":
            callers += 1
        elif event == "QueueMember" and entry.get("Paused") == "0":
            status = str(entry.get("Status"))
            staffed += status not in _MEMBER_GONE
            free += status in _MEMBER_FREE and entry.get("InCall") != "1"
    return QueueFigures(
        callers=callers,
        staffed=staffed,
        free=free,
        talk_time=figures.talk_time,
        hold_time=figures.hold_time,
    )


@dataclass
class _Cached:
    at: float
    value: object


class QueueEstimates:
    """A queue's figures, from Asterisk (when serving) and the store, and its estimate."""

    def __init__(
        self,
        store: RequestStore,
        queue_status: QueueStatus | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._queue_status = queue_status
        self._clock = clock
        self._status: dict[str, _Cached] = {}
        self._served: _Cached | None = None
        self.queues: set[str] = set()  # queues asked about: the Live view shows them

    async def figures(self, queue: str) -> tuple[QueueFigures, int]:
        """The queue's figures and the callbacks waiting in it (raises CallbackError when
        the store cannot be read)."""
        self.queues.add(queue)
        waiting = [r for r in await self._store.requests(*WAITING_STATES) if r.queue == queue]
        asterisk = await self._asterisk(queue)
        served = await self._recently_served()
        return (
            QueueFigures(
                callers=asterisk.callers,
                held=sum(r.state is State.PENDING for r in waiting),
                staffed=asterisk.staffed,
                free=asterisk.free,
                talk_time=asterisk.talk_time,
                hold_time=asterisk.hold_time,
                recent_waits=recent_waits(served, queue, self._clock()),
            ),
            len(waiting),
        )

    async def estimate(self, queue: str) -> Estimate:
        figures, _ = await self.figures(queue)
        return expected_wait(figures)

    async def live(self, queues: Iterable[str] = ()) -> dict[str, dict[str, object]]:
        """Each queue's estimate for the Live view (those asked about, and ``queues``)."""
        shown: dict[str, dict[str, object]] = {}
        for queue in sorted(self.queues | set(queues)):
            try:
                figures, waiting = await self.figures(queue)
            except CallbackError:
                continue
            estimate = expected_wait(figures)
            shown[queue] = {
                "expected_wait": estimate.seconds,
                "source": estimate.source.value,
                "callers": figures.callers,
                "callbacks_waiting": waiting,
            }
        return shown

    async def _asterisk(self, queue: str) -> QueueFigures:
        if self._queue_status is None:
            return QueueFigures()
        cached = self._status.get(queue)
        if cached is not None and time.monotonic() - cached.at < _STATUS_TTL:
            assert isinstance(cached.value, QueueFigures)
            return cached.value
        try:
            async with asyncio.timeout(_ASTERISK_WITHIN):
                figures = asterisk_figures(await self._queue_status(queue))
        except (AmiError, TimeoutError) as exc:
            log.warning("offer check queue=%s: no figures from Asterisk: %r", queue, exc)
            return QueueFigures()
        self._status[queue] = _Cached(time.monotonic(), figures)
        return figures

    async def _recently_served(self) -> list[CallbackRequest]:
        if self._served is None or time.monotonic() - self._served.at >= _HISTORY_TTL:
            self._served = _Cached(time.monotonic(), await self._store.requests(*_SERVED))
        assert isinstance(self._served.value, list)
        return self._served.value


class OfferChecker:
    """The FastAGI handler of the check (script ``callback-offer``)."""

    def __init__(
        self,
        estimates: QueueEstimates,
        *,
        schedules: Mapping[str, Schedule],
        schedule_name: Callable[[str, str | None], str | None],
        offer_log: OfferLog | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime],
    ) -> None:
        self._estimates = estimates
        self._schedules = schedules
        self._schedule_name = schedule_name
        self._log = offer_log
        self._metrics = metrics
        self._clock = clock
        self._offered: dict[str, tuple[str, datetime]] = {}  # channel -> (queue, at)

    async def __call__(self, agi: Channel) -> None:
        channel, now = agi.uniqueid, self._clock()
        queue, decision = "-", Decision(Reason.ERROR, None)
        try:
            options = parse_offer_options(agi.args)
            queue = options.queue
            name = self._schedule_name(options.queue, options.schedule)
            schedule = self._schedules.get(name) if name is not None else None
            figures, waiting = await self._figures(options.queue)
            estimate = expected_wait(figures)
            decision = decide(options, estimate, waiting=waiting, schedule=schedule, now=now)
            log.info(
                "offer check channel=%s queue=%s offer=%s reason=%s expected_wait=%s source=%s"
                " waiting=%d callers=%d held=%d staffed=%d free=%d",
                channel,
                queue,
                "yes" if decision.offer else "no",
                decision.reason,
                estimate.seconds,
                estimate.source,
                waiting,
                figures.callers,
                figures.held,
                figures.staffed,
                figures.free,
            )
        except CallbackError as exc:
            log.error("offer check channel=%s: %s (not offered)", channel, exc)
        await self._record(OfferCheck(channel, queue, now, decision.reason, decision.expected_wait))
        wait = decision.expected_wait
        await agi.set_variable("CALLBACK_EXPECTED_WAIT", "" if wait is None else str(wait))
        await agi.set_variable("CALLBACK_OFFER_REASON", decision.reason.value)
        await agi.set_variable("CALLBACK_OFFER", "yes" if decision.offer else "no")

    async def _figures(self, queue: str) -> tuple[QueueFigures, int]:
        try:
            return await self._estimates.figures(queue)
        except CallbackError:
            raise
        except Exception as exc:  # the store could not be read: refused, like a request
            raise StoreUnavailable(f"cannot read the queue's callbacks: {exc!r}") from exc

    async def _record(self, check: OfferCheck) -> None:
        if self._metrics is not None:
            self._metrics.offer_checked(check.queue, check.reason.value, offered=check.offered)
        if check.offered:
            self._forget_before(check.at - _REMEMBER)
            self._offered[check.channel] = (check.queue, check.at)
        if self._log is None:
            return
        try:
            await self._log.record_offer_check(check)
        except CallbackError as exc:  # the report loses one check; the caller loses nothing
            log.error("offer check channel=%s: not recorded: %s", check.channel, exc)

    def _forget_before(self, oldest: datetime) -> None:
        for channel, (_, at) in list(self._offered.items()):
            if at < oldest:
                del self._offered[channel]

    async def stored(self, request: CallbackRequest) -> None:
        """A request was stored: if an offer was made on its channel, it was accepted."""
        offered = self._offered.pop(request.channel, None)
        if offered is not None and offered[0] == request.queue and self._metrics is not None:
            self._metrics.offer_accepted(request.queue)
