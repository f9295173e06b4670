"""Where a placeholder goes back into the queue: one order for live callers and callbacks.

Priority level first (1 before 10, i.e. higher QUEUE_PRIO first), then the time the caller
originally entered the queue. Asterisk inserts by QUEUE_PRIO itself; we give it the position
among the calls of the same priority.
"""

import bisect
import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from agi_app.domain.priority import level_from_queue_prio, queue_prio
from agi_app.domain.request import CallbackRequest


@dataclass(frozen=True)
class QueuedCall:
    prio: int  # QUEUE_PRIO
    entered_at: datetime  # original queue entry (for a placeholder: its request's)
    id: str = ""  # a live caller's uniqueid, or a callback's request id
    kind: str = "live"  # "live" or "callback"

    def described(self) -> dict[str, object]:
        level = level_from_queue_prio(self.prio)
        return {
            "level": level if level is not None else f"QUEUE_PRIO {self.prio}",
            "entered_at": self.entered_at.isoformat(),
            "kind": self.kind,
            "id": self.id,
        }


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
        calls = sorted(queued, key=lambda c: self._key(c.prio, c.entered_at))
        self._keys = [self._key(c.prio, c.entered_at) for c in calls]
        self._calls = calls  # in the same order, to explain a position

    @staticmethod
    def _key(prio: int, entered_at: datetime) -> tuple[int, datetime]:
        return -prio, entered_at

    def position(self, request: CallbackRequest) -> int:
        key = self._key(queue_prio(request.priority), request.queue_entered_at)
        return bisect.bisect_right(self._keys, key) + 1

    def add(self, request: CallbackRequest) -> None:
        call = QueuedCall(
            queue_prio(request.priority), request.queue_entered_at, request.id, "callback"
        )
        at = bisect.bisect_right(self._keys, self._key(call.prio, call.entered_at))
        self._keys.insert(at, self._key(call.prio, call.entered_at))
        self._calls.insert(at, call)

    def explain(self, request: CallbackRequest, nearest: int = 5) -> dict[str, object]:
        """What a position was computed from: the calls ahead (by level, and the nearest
        ones) and the nearest behind, for the request's event log and the audit."""
        position = self.position(request)
        ahead, behind = self._calls[: position - 1], self._calls[position - 1 :]
        by_level: dict[str, int] = {}
        for call in ahead:
            level = level_from_queue_prio(call.prio)
            key = str(level) if level is not None else f"prio {call.prio}"
            by_level[key] = by_level.get(key, 0) + 1
        return {
            "position": position,
            "ahead": len(ahead),
            "ahead_by_level": by_level,
            "nearest_ahead": [c.described() for c in ahead[-nearest:]] if nearest else [],
            "nearest_behind": [c.described() for c in behind[:nearest]],
        }

    def __len__(self) -> int:
        return len(self._keys)


def serving_key(request: CallbackRequest) -> tuple[int, datetime, str]:
    """Who is served first among requests: level 1 first, then the earliest queue entry."""
    return request.priority, request.queue_entered_at, request.id


class HeldRequests:
    """Requests too far back to need a placeholder yet, kept in serving order per queue.

    A request with ``window`` calls or more ahead of it waits here, not in Asterisk: every
    placeholder costs Asterisk two channels, and a queue of 10,000 would run it out of file
    descriptors. Nothing is lost by it: a held request is placed at its true position as
    places open near the head, before anyone who is behind it reaches the head.
    """

    def __init__(self) -> None:
        self._keys: dict[str, dict[str, tuple[int, datetime, str]]] = {}

    def hold(self, request: CallbackRequest) -> None:
        self.release(request.id)
        self._keys.setdefault(request.queue, {})[request.id] = serving_key(request)

    def release(self, request_id: str) -> None:
        for queue, held in list(self._keys.items()):
            if held.pop(request_id, None) is not None and not held:
                del self._keys[queue]

    def first(self, queue: str, count: int) -> list[str]:
        """The ``count`` held requests of ``queue`` that are served first."""
        held = self._keys.get(queue, {})
        return [key[2] for key in heapq.nsmallest(count, held.values())]

    def ahead_of(self, request: CallbackRequest) -> int:
        """How many held requests of its queue are served before ``request``."""
        ours = serving_key(request)
        return sum(1 for key in self._keys.get(request.queue, {}).values() if key < ours)

    def ranks(self, queue: str) -> dict[str, int]:
        """Each held request of ``queue`` -> how many held ones are served before it."""
        return {key[2]: i for i, key in enumerate(sorted(self._keys.get(queue, {}).values()))}

    def queues(self) -> list[str]:
        return list(self._keys)

    def counts(self) -> dict[str, int]:
        return {queue: len(held) for queue, held in self._keys.items()}

    def __contains__(self, request_id: object) -> bool:
        return any(request_id in held for held in self._keys.values())

    def __len__(self) -> int:
        return sum(len(held) for held in self._keys.values())
