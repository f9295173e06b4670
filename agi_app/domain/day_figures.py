"""Today at a glance, per queue: what became of the day's callbacks, the service level, the
waits of callbacks and live callers, and the series the charts are drawn from.

Everything comes from the records (the store's requests, Asterisk's queue_log), never from
what the service saw while running, so the figures survive a restart. The callback counts
are the CLI report's row for the same day (``agi-callback report``): one computation, two
views.

The service level is the share of the calls whose wait ended today (an agent answered; or
they left unanswered: hung up, expired, every agent declined) that an agent answered within
the queue's threshold of the original queue entry. Cancelled requests are no one's wait.

Pure: it is given the records and the clock.
"""

import math
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from agi_app.domain.queue_day import Call, Kind
from agi_app.domain.report import ReportRow
from agi_app.domain.request import CallbackRequest, CallOutcome, State

# A callback's wait ended unanswered with these outcomes (cancelled: nobody's wait).
_UNANSWERED = frozenset({CallOutcome.EXPIRED, CallOutcome.ABANDONED, CallOutcome.MISSED})
WAIT_BUCKETS = ((30, "<30s"), (60, "30s-1m"), (120, "1-2m"), (300, "2-5m"), (600, "5-10m"))
_STEPS_MIN = (1, 2, 5, 10, 15, 30, 60)


@dataclass(frozen=True)
class Waiting:
    at: datetime
    live: int
    callbacks: int


@dataclass(frozen=True)
class HalfHour:
    start: datetime
    requested: int
    served: int


@dataclass(frozen=True)
class DayFigures:
    queue: str
    requested: int
    served: int  # an agent answered the callback (the report's answered_calls)
    missed: int
    expired: int
    abandoned: int
    cancelled: int
    open: int
    service_level: float | None  # 0..1; None: no wait ended today
    answered_within: int
    waits_ended: int
    threshold_s: int
    avg_wait_callbacks_s: float | None
    avg_wait_live_s: float | None
    live_answered: int
    live_unanswered: int
    waiting: list[Waiting]
    half_hours: list[HalfHour]
    wait_histogram: list[tuple[str, int, int]]  # bucket, callbacks, live callers


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _bucket(seconds: float) -> str:
    return next((label for limit, label in WAIT_BUCKETS if seconds < limit), "10m+")


def _step(span: timedelta) -> timedelta:
    """A sampling step giving at most about 72 points over ``span``."""
    wanted = span.total_seconds() / 60 / 72
    return timedelta(minutes=next((s for s in _STEPS_MIN if s >= wanted), 60))


def _floor(t: datetime, step: timedelta) -> datetime:
    seconds = step.total_seconds()
    return datetime.fromtimestamp(math.floor(t.timestamp() / seconds) * seconds, t.tzinfo)


def day_figures(
    queue: str,
    row: ReportRow | None,
    requests: Iterable[CallbackRequest],
    ended_at: Mapping[str, datetime],
    live_calls: Iterable[Call],
    *,
    in_queue_now: Container[str] = frozenset(),
    start: datetime,
    end: datetime,
    now: datetime,
    threshold_s: int,
) -> DayFigures:
    """``requests``: the queue's requests of the day (as the report groups them);
    ``ended_at``: when each finished request ended; ``live_calls``: the day's calls of the
    queue from queue_log (callbacks among them are ignored: the store tells those);
    ``in_queue_now``: the uniqueids waiting in Asterisk's queue now. A live call queue_log
    never saw leave (Asterisk stopped under it) and that is not waiting now has no known
    end: it is left out of the waiting series rather than counted as waiting for ever."""
    callbacks = [r for r in requests if r.queue == queue]
    live = [c for c in live_calls if c.kind is Kind.LIVE]
    lost = {c.id for c in live if c.left_at is None and c.id not in in_queue_now}
    limit = timedelta(seconds=threshold_s)
    waits_cb = [
        (r.agent_answered_at - r.queue_entered_at).total_seconds()
        for r in callbacks
        if r.agent_answered_at is not None
    ]
    waits_live = [(c.served_at - c.entered_at).total_seconds() for c in live if c.served_at]
    unanswered_cb = sum(
        r.agent_answered_at is None and r.call_outcome in _UNANSWERED for r in callbacks
    )
    unanswered_live = sum(c.served_at is None and c.left_at is not None for c in live)
    within = sum(w <= limit.total_seconds() for w in [*waits_cb, *waits_live])
    ended = len(waits_cb) + len(waits_live) + unanswered_cb + unanswered_live

    def callback_end(r: CallbackRequest) -> datetime | None:
        if r.agent_answered_at is not None:
            return r.agent_answered_at
        if r.state is not State.DONE:
            return None
        return ended_at.get(r.id, r.queue_entered_at)  # an end not known: not counted

    stop = min(now, end)
    entries = [r.queue_entered_at for r in callbacks] + [c.entered_at for c in live]
    first = max(start, min(entries, default=stop))
    step = _step(stop - first)
    ends = {r.id: callback_end(r) for r in callbacks}

    def waiting_at(t: datetime) -> Waiting:
        n_live = sum(
            c.entered_at <= t and (c.left_at is None or t < c.left_at) and c.id not in lost
            for c in live
        )
        n_cb = 0
        for r in callbacks:
            gone = ends[r.id]
            n_cb += r.queue_entered_at <= t and (gone is None or t < gone)
        return Waiting(t, n_live, n_cb)

    samples = [_floor(first, step)]
    while samples[-1] + step <= stop:
        samples.append(samples[-1] + step)
    if samples[-1] < stop:
        samples.append(stop)  # the line ends at now
    waiting = [waiting_at(t) for t in samples]
    half = timedelta(minutes=30)
    slots: dict[datetime, list[int]] = {}
    for r in callbacks:
        slots.setdefault(_floor(r.requested_at, half), [0, 0])[0] += 1
        if r.agent_answered_at is not None and start <= r.agent_answered_at < end:
            slots.setdefault(_floor(r.agent_answered_at, half), [0, 0])[1] += 1
    half_hours = []
    if slots:
        t, last = min(slots), max(slots)
        while t <= last:
            requested, served = slots.get(t, [0, 0])
            half_hours.append(HalfHour(t, requested, served))
            t += half
    labels = [label for _, label in WAIT_BUCKETS] + ["10m+"]
    histogram = [
        (
            label,
            sum(_bucket(w) == label for w in waits_cb),
            sum(_bucket(w) == label for w in waits_live),
        )
        for label in labels
    ]
    return DayFigures(
        queue=queue,
        requested=row.requests if row else 0,
        served=row.answered_calls if row else 0,
        missed=row.missed_calls if row else 0,
        expired=row.expired if row else 0,
        abandoned=row.abandoned_calls if row else 0,
        cancelled=row.cancelled if row else 0,
        open=row.open if row else 0,
        service_level=within / ended if ended else None,
        answered_within=within,
        waits_ended=ended,
        threshold_s=threshold_s,
        avg_wait_callbacks_s=_mean(waits_cb),
        avg_wait_live_s=_mean(waits_live),
        live_answered=len(waits_live),
        live_unanswered=unanswered_live,
        waiting=waiting,
        half_hours=half_hours,
        wait_histogram=histogram,
    )
