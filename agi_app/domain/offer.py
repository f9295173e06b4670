"""Offer only what can be honoured: whether a callback is worth offering to a caller now.

    Gosub(callback-offer-check,s,1(queue=support,max_wait=1800,min_wait=60,max_callbacks=20))

The check's own options (min_wait, margin, max_callbacks) and, from the [callback] options,
the ones the decision depends on (queue, max_wait, schedule); the other [callback] options are
accepted and ignored, so a flow can pass the same ${CALLBACK_OPTIONS} to both.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from agi_app.domain.estimate import Estimate, waited
from agi_app.domain.hours import Schedule
from agi_app.domain.options import parse_beside_request
from agi_app.domain.request import CallbackRequest

_DAY = 24 * 3600


class OfferOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = Field(
        description="the queue the callback would wait in"
    )
    max_wait: Annotated[int, Field(ge=1, le=7 * _DAY)] = Field(
        1800,
        description="as the request's: the callback must be expected served within it (with"
        " margin)",
    )
    schedule: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = Field(
        None,
        description="calling hours, as the request's: a schedule named in the settings; unset:"
        " the queue's (`queue_schedules`)",
    )
    min_wait: Annotated[int, Field(ge=0, le=_DAY)] = Field(
        60,
        description="seconds: offer only when the expected wait is at least this (a caller about"
        " to be served is better off waiting)",
    )
    margin: Annotated[int, Field(ge=0, le=_DAY)] = Field(
        60,
        description="seconds of slack on the estimate: the callback must be expected served this"
        " long before max_wait and before the calling hours close",
    )
    max_callbacks: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        0,
        description="callbacks of the queue waiting for an agent (stored, placed or ringing) at"
        " which no more are offered; 0: no cap",
    )


def parse_offer_options(args: Sequence[str]) -> OfferOptions:
    return parse_beside_request(OfferOptions, args)


class Reason(StrEnum):
    WORTH = "worth"  # offered: a long enough wait, served in time
    NO_ESTIMATE = "no_estimate"  # offered: nothing to estimate from, as without the check
    CLOSED = "closed"  # the queue's calling hours are closed now
    AT_CAP = "at_cap"  # max_callbacks callbacks wait in the queue already
    SHORT_WAIT = "short_wait"  # expected wait below min_wait
    OVER_MAX_WAIT = "over_max_wait"  # not expected served within max_wait
    CLOSING = "closing"  # not expected served before the hours close
    ERROR = "error"  # unusable options, or the store could not be read


OFFERED = frozenset({Reason.WORTH, Reason.NO_ESTIMATE})


@dataclass(frozen=True)
class Decision:
    reason: Reason
    expected_wait: int | None  # seconds; None: no estimate

    @property
    def offer(self) -> bool:
        return self.reason in OFFERED


def decide(
    options: OfferOptions,
    estimate: Estimate,
    *,
    waiting: int,
    schedule: Schedule | None,
    now: datetime,
) -> Decision:
    """``waiting``: the callbacks of the queue waiting for an agent now."""
    seconds = estimate.seconds

    def verdict(reason: Reason) -> Decision:
        return Decision(reason, seconds)

    if schedule is not None and not schedule.is_open(now):
        return verdict(Reason.CLOSED)
    if options.max_callbacks and waiting >= options.max_callbacks:
        return verdict(Reason.AT_CAP)
    if seconds is None:
        return verdict(Reason.NO_ESTIMATE)
    if seconds < options.min_wait:
        return verdict(Reason.SHORT_WAIT)
    served_by = timedelta(seconds=seconds + options.margin)
    if served_by > timedelta(seconds=options.max_wait):
        return verdict(Reason.OVER_MAX_WAIT)
    closes = schedule.closes_at(now) if schedule is not None else None
    if closes is not None and now + served_by > closes:
        return verdict(Reason.CLOSING)
    return verdict(Reason.WORTH)


@dataclass(frozen=True)
class OfferCheck:
    """One check as kept for the report: the offer's outcome and the estimate it gave."""

    channel: str  # the caller's uniqueid: the request that follows has the same channel
    queue: str
    at: datetime
    reason: Reason
    expected_wait: int | None

    @property
    def offered(self) -> bool:
        return self.reason in OFFERED


@dataclass(frozen=True)
class OfferSummary:
    """What a queue's offer checks came to over a day (a row of the report)."""

    offers: int = 0  # checks that offered the callback
    offers_accepted: int = 0  # of those, followed by a request on the same channel
    not_offered: int = 0
    # The estimate against the actual wait (queue entry to an agent answering) of the
    # requests that followed an offer and were answered: median absolute error, seconds.
    estimate_error_p50_s: float | None = None
    estimated: int = 0  # requests that error is over

    @property
    def acceptance(self) -> float | None:
        return round(self.offers_accepted / self.offers, 3) if self.offers else None


def summarize_offers(
    checks: Sequence[OfferCheck], requests: Sequence[CallbackRequest]
) -> OfferSummary:
    """``checks`` of one queue and day; ``requests``: any that may have followed them."""
    asked = {(r.channel, r.queue): r for r in requests}
    offered = list({c.channel: c for c in checks if c.offered}.values())  # one per caller
    accepted = [c for c in offered if (c.channel, c.queue) in asked]
    errors = []
    for check in accepted:
        actual = waited(asked[(check.channel, check.queue)])
        if check.expected_wait is not None and actual is not None:
            errors.append(abs(check.expected_wait - actual))
    return OfferSummary(
        offers=len(offered),
        offers_accepted=len(accepted),
        not_offered=sum(not c.offered for c in checks),
        estimate_error_p50_s=statistics.median(errors) if errors else None,
        estimated=len(errors),
    )
