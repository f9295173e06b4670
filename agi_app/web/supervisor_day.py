"""Today at a glance for the supervisor's screen: the day's figures and charts per queue,
read from the store and Asterisk's queue_log (so they survive a restart of the service).

The day is the centre's (``supervisor_timezone``: from its midnight to the next), the day
``agi-callback report`` groups requests by, so the two show the same counts; times on the
charts are in the same zone. Reading every request and the queue_log costs
more than a tick of the live view, so the figures are recomputed at most every
``refresh_s`` seconds, whoever watches.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from agi_app.domain.day_figures import DayFigures, day_figures
from agi_app.domain.queue_day import build_calls
from agi_app.domain.report import day_of, report
from agi_app.domain.request import CallbackRequest, State
from agi_app.pbx.queue_log import read_queue_log
from agi_app.store.port import RequestStore
from agi_app.web.config import SupervisorConfig
from agi_app.web.svg_charts import bar_chart, line_chart

log = logging.getLogger(__name__)


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


class DayBoard:
    def __init__(
        self,
        store: RequestStore,
        config: SupervisorConfig,
        clock: Callable[[], datetime],
        *,
        refresh_s: float = 5.0,
    ) -> None:
        self._store = store
        self._queue_log: Path = config.queue_log_path
        self._thresholds = config.service_level_seconds
        self._default_threshold = config.service_level_default_seconds
        self._customer_wait_bound = config.customer_first_wait_bound
        self._zone = config.zone
        self._clock = clock
        self._refresh = timedelta(seconds=refresh_s)
        self._ended: dict[str, datetime] = {}  # a finished request's end never changes
        self._cached: tuple[datetime, frozenset[str], dict[str, Any]] | None = None
        self.queue_log_readable = True

    def threshold(self, queue: str) -> int:
        return self._thresholds.get(queue, self._default_threshold)

    async def figures(self, queues: set[str], in_queue_now: set[str]) -> dict[str, Any]:
        """Queue -> its figures and charts today, as JSON values; ``in_queue_now``: the
        uniqueids waiting in Asterisk's queues now."""
        now = self._clock()
        if self._cached is not None:
            at, seen, figures = self._cached
            same_day = day_of(at, self._zone) == day_of(now, self._zone)
            if now - at < self._refresh and seen >= queues and same_day:
                return figures
        figures = await self._compute(queues, in_queue_now, now)
        self._cached = (now, frozenset(figures), figures)
        return figures

    async def _compute(
        self, queues: set[str], in_queue_now: set[str], now: datetime
    ) -> dict[str, Any]:
        # The centre's day (its midnight, not UTC's), as the CLI's report counts it.
        day = day_of(now, self._zone)
        start = datetime.combine(day, time(), self._zone)
        end = datetime.combine(day + timedelta(days=1), time(), self._zone)
        requests = await self._store.requests()
        today = [r for r in requests if day_of(r.requested_at, self._zone) == day]
        rows_all = report(today, zone=self._zone, customer_wait_bound_s=self._customer_wait_bound)
        rows = {row.queue: row for row in rows_all if row.day == day}
        ended = {}
        for request in today:
            if request.state is State.DONE:
                known = self._ended.get(request.id)
                ended[request.id] = known if known is not None else await self._end_of(request)
        self._ended = ended  # today's only: yesterday's are not asked again
        try:
            lines = await asyncio.to_thread(read_queue_log, self._queue_log, start, end)
            self.queue_log_readable = True
        except OSError as exc:
            if self.queue_log_readable:
                log.warning("supervisor: cannot read queue_log %s: %s", self._queue_log, exc)
            self.queue_log_readable, lines = False, []
        result: dict[str, Any] = {}
        for queue in sorted(queues | set(rows)):
            ours = [r for r in today if r.queue == queue]
            calls = build_calls(lines, ours, {}, queue)
            figures = day_figures(
                queue, rows.get(queue), ours, self._ended, calls, in_queue_now=in_queue_now,
                start=start, end=end, now=now, threshold_s=self.threshold(queue),
            )  # fmt: skip
            result[queue] = self._json(figures)
        return result

    async def _end_of(self, request: CallbackRequest) -> datetime:
        """When a finished request stopped waiting: its last event."""
        if request.agent_answered_at is not None:
            return request.agent_answered_at
        events = await self._store.events(request.id)
        return events[-1].at if events else request.requested_at

    def _hhmm(self, t: datetime) -> str:
        return t.astimezone(self._zone).strftime("%H:%M")

    def _json(self, f: DayFigures) -> dict[str, Any]:
        return {
            "requested": f.requested,
            "served": f.served,
            "missed": f.missed,
            "expired": f.expired,
            "abandoned": f.abandoned,
            "cancelled": f.cancelled,
            "open": f.open,
            "service_level": f.service_level,
            "answered_within": f.answered_within,
            "waits_ended": f.waits_ended,
            "threshold_s": f.threshold_s,
            "avg_wait_callbacks_s": _seconds(f.avg_wait_callbacks_s),
            "avg_wait_live_s": _seconds(f.avg_wait_live_s),
            "live_answered": f.live_answered,
            "live_unanswered": f.live_unanswered,
            "charts": {
                "waiting": line_chart(
                    "Waiting over the day",
                    [self._hhmm(w.at) for w in f.waiting],
                    [[w.callbacks for w in f.waiting], [w.live for w in f.waiting]],
                    ["callbacks", "live callers"],
                ),
                "half_hours": bar_chart(
                    "Callbacks per half hour",
                    [self._hhmm(h.start) for h in f.half_hours],
                    [[h.requested for h in f.half_hours], [h.served for h in f.half_hours]],
                    ["requested", "served"],
                ),
                "waits": bar_chart(
                    "Wait until an agent answered",
                    [label for label, _, _ in f.wait_histogram],
                    [[c for _, c, _ in f.wait_histogram], [v for _, _, v in f.wait_histogram]],
                    ["callbacks", "live callers"],
                ),
            },
        }
