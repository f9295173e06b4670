"""Where a placeholder goes back into the queue: one order for live callers and callbacks.

Priority level first (1 before 10, i.e. higher QUEUE_PRIO first), then the time the caller
originally entered the queue. Asterisk inserts by QUEUE_PRIO itself; we give it the position
among the calls of the same priority.
"""

import bisect
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


class QueueOrder:
    """The calls of one queue in serving order, to place many placeholders in O(log n) each.

    Equivalent to ``placement_position`` over the same calls (a sorted list of keys instead
    of a scan), so a batch of placements needs the queue's state from Asterisk only once.
    """

    def __init__(self, queued: Iterable[QueuedCall]) -> None:
        self._keys = sorted(self._key(c.prio, c.entered_at) for c in queued)

    @staticmethod
    def _key(prio: int, entered_at: datetime) -> tuple[int, datetime]:
        return -prio, entered_at

    def position(self, request: CallbackRequest) -> int:
        key = self._key(queue_prio(request.priority), request.queue_entered_at)
        return bisect.bisect_right(self._keys, key) + 1

    def add(self, request: CallbackRequest) -> None:
        bisect.insort(self._keys, self._key(queue_prio(request.priority), request.queue_entered_at))
