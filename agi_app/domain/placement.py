"""Where a placeholder goes back into the queue: one order for live callers and callbacks.

Priority level first (1 before 10, i.e. higher QUEUE_PRIO first), then the time the caller
originally entered the queue. Asterisk inserts by QUEUE_PRIO itself; we give it the position
among the calls of the same priority.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from agi_app.domain.priority import queue_prio
from agi_app.domain.request import CallbackRequest


@dataclass(frozen=True)
class QueuedCall:
    prio: int  # QUEUE_PRIO
    entered_at: datetime  # original queue entry (for a placeholder: its request's)


def placement_position(request: CallbackRequest, queued: Iterable[QueuedCall]) -> int:
    """1-based position: after every call that outranks or entered no later than the caller."""
    ours = queue_prio(request.priority)
    ahead = sum(
        1
        for call in queued
        if call.prio > ours or (call.prio == ours and call.entered_at <= request.queue_entered_at)
    )
    return ahead + 1
