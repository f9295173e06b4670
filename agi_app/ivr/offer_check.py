"""The offer check (the component's ``[callback-offer-check]``): before a flow plays the
callback offer, it asks whether a callback is worth offering now.

    Gosub(callback-offer-check,s,1(${CALLBACK_OPTIONS},min_wait=60,max_callbacks=20))
    GotoIf($["${CALLBACK_OFFER}" = "yes"]?offer:queue)

The service estimates the queue's expected wait (agi_app/serving/estimates.py, from Asterisk's
QueueStatus and the store's recent served callbacks), decides (domain/offer.py) and sets
CALLBACK_EXPECTED_WAIT (seconds, empty without an estimate), CALLBACK_OFFER_REASON and, last,
CALLBACK_OFFER (yes|no): a refused or failed session sets none of them, and a flow that
offers only on "yes" then offers nothing (the request would have failed too). Each check is
recorded (OfferLog) for the report: the request that follows has the caller's channel.
"""

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from agi_app.domain.errors import CallbackError, StoreUnavailable
from agi_app.domain.estimate import QueueFigures, expected_wait
from agi_app.domain.hours import Schedule
from agi_app.domain.offer import Decision, OfferCheck, Reason, decide, parse_offer_options
from agi_app.domain.request import CallbackRequest
from agi_app.serving.estimates import QueueEstimates
from agi_app.serving.metrics import Metrics

log = logging.getLogger(__name__)

OFFER_SCRIPT = "callback-offer"  # agi://host:port/callback-offer
_REMEMBER = timedelta(minutes=10)  # an offer a request may still follow (acceptance metric)


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
