"""A queue's expected wait, as the offer check and the Live view see it: Asterisk's
QueueStatus (when this process serves) and the store's recently served callbacks, each read at
most so often, and the estimate of domain/estimate.py made from them."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from agi_app.domain.errors import CallbackError
from agi_app.domain.estimate import Estimate, QueueFigures, expected_wait, recent_waits
from agi_app.domain.request import WAITING_STATES, CallbackRequest, State
from agi_app.pbx.ami import AmiError
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

_ASTERISK_WITHIN = 2.0  # seconds: a slow PBX costs its figures, never the caller's time
_STATUS_TTL = 1.0  # one QueueStatus per queue per second, however many callers ask
_HISTORY_TTL = 10.0  # the served callbacks are read again at most this often
_MEMBER_GONE = frozenset({"4", "5"})  # QueueMember Status: invalid, unavailable
_MEMBER_FREE = frozenset({"0", "1"})  # unknown (an unqualified contact), not in use
_SERVED = (State.DIALING, State.CONNECTED, State.DONE)  # an agent answered these

QueueStatus = Callable[[str], Awaitable[list[Mapping[str, object]]]]


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
