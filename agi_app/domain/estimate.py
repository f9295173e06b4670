"""How long a callback asked for now would wait for an agent: the expected wait of a queue.

Pure: the figures are read elsewhere (Asterisk's QueueStatus, the store) and given here.
First rule that applies:

1. ``free_agent``: more members free than calls ahead: served at once (0 s).
2. ``queue``: members staffed (not paused, reachable) and Asterisk's average talk time
   known: the calls ahead of it, less those the free members take at once, each holding one
   of the staffed members for a talk time: ``(ahead + 1 - free) * talk_time / staffed``.
   A rough model (no Erlang C, no abandons, every call ahead counted whatever its level),
   but it sees the queue as it is now.
3. ``history``: nobody staffed (agents away, paused, logged out) or no talk time yet: the
   median wait (original queue entry to an agent answering) of the queue's recent served
   callbacks (at least ``MIN_SAMPLES`` within ``HISTORY``).
4. ``asterisk``: Asterisk's own average hold time of the queue.
5. ``none``: nothing to go on (a new queue): no estimate.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from agi_app.domain.request import CallbackRequest

HISTORY = timedelta(hours=2)  # recent enough to say something about now
MAX_SAMPLES = 20  # the latest served callbacks, at most
MIN_SAMPLES = 3  # fewer say too little: the next rule applies


class Source(StrEnum):
    FREE_AGENT = "free_agent"
    QUEUE = "queue"
    HISTORY = "history"
    ASTERISK = "asterisk"
    NONE = "none"


@dataclass(frozen=True)
class QueueFigures:
    callers: int = 0  # calls in Asterisk's queue: live callers and callbacks' placeholders
    held: int = 0  # callbacks waiting in the store, not in Asterisk's queue
    staffed: int = 0  # members not paused and reachable (free or on a call)
    free: int = 0  # members able to take a call now
    talk_time: float = 0.0  # Asterisk's average talk time of the queue (TalkTime), s
    hold_time: float = 0.0  # Asterisk's average hold time of the queue (Holdtime), s
    recent_waits: tuple[float, ...] = ()  # served callbacks' waits, s (see recent_waits)


@dataclass(frozen=True)
class Estimate:
    seconds: int | None  # None: no estimate
    source: Source


def expected_wait(figures: QueueFigures) -> Estimate:
    ahead = max(figures.callers, 0) + max(figures.held, 0)
    if figures.free > ahead:
        return Estimate(0, Source.FREE_AGENT)
    if figures.staffed > 0 and figures.talk_time > 0:
        waiting_for_one = max(ahead + 1 - max(figures.free, 0), 0)
        return Estimate(round(waiting_for_one * figures.talk_time / figures.staffed), Source.QUEUE)
    if len(figures.recent_waits) >= MIN_SAMPLES:
        return Estimate(round(statistics.median(figures.recent_waits)), Source.HISTORY)
    if figures.hold_time > 0:
        return Estimate(round(figures.hold_time), Source.ASTERISK)
    return Estimate(None, Source.NONE)


def waited(request: CallbackRequest) -> float | None:
    """A served callback's wait: original queue entry to an agent answering."""
    if request.agent_answered_at is None:
        return None
    return max((request.agent_answered_at - request.queue_entered_at).total_seconds(), 0.0)


def recent_waits(
    requests: Iterable[CallbackRequest], queue: str, now: datetime
) -> tuple[float, ...]:
    """The waits of ``queue``'s callbacks an agent answered within ``HISTORY`` before
    ``now``, the latest first, at most ``MAX_SAMPLES``."""
    served = sorted(
        (
            r
            for r in requests
            if r.queue == queue
            and r.agent_answered_at is not None
            and now - HISTORY <= r.agent_answered_at <= now
        ),
        key=lambda r: r.agent_answered_at or now,
        reverse=True,
    )
    return tuple(w for r in served[:MAX_SAMPLES] if (w := waited(r)) is not None)
