"""The calls in a queue as serving sees them: QueueStatus entries read into the domain's
``QueuedCall``, with exact entry times (AMI join times for live callers, the store's for
placeholders) where Asterisk's whole-second ``Wait`` would blur the order."""

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta

from panoramisk.message import Message

from agi_app.domain.channel_ids import parse_channel_id
from agi_app.domain.placement import QueuedCall
from agi_app.domain.request import CallbackRequest

_JOIN_TIMES_KEPT = 10_000


class JoinTimes:
    """When each live caller entered a queue, as seen on AMI (exact, unlike QUEUEWAIT)."""

    def __init__(self) -> None:
        self._times: OrderedDict[str, datetime] = OrderedDict()

    def record(self, uniqueid: str, at: datetime) -> None:
        self._times[uniqueid] = at
        while len(self._times) > _JOIN_TIMES_KEPT:
            self._times.popitem(last=False)

    def get(self, uniqueid: str) -> datetime | None:
        return self._times.get(uniqueid)


def queued_calls(
    status: list[Message],
    waiting: Iterable[CallbackRequest],
    join_times: JoinTimes,
    now: datetime,
) -> list[QueuedCall]:
    """The calls of a QueueStatus answer, with the entry times the order rule needs."""
    calls = []
    ours = {r.id: r.queue_entered_at for r in waiting}
    for entry in (e for e in status if e.get("Event") == "QueueEntry"):
        uniqueid = str(entry.get("Uniqueid", ""))
        ref = parse_channel_id(uniqueid)
        # Live callers: as seen joining on AMI; placeholders: their request's entry.
        entered = ours.get(ref.request_id) if ref else join_times.get(uniqueid)
        if entered is None:
            entered = now - timedelta(seconds=int(str(entry.get("Wait", "0")) or 0))
        prio = int(str(entry.get("Priority", "0")) or 0)
        if ref is not None:
            calls.append(QueuedCall(prio, entered, ref.request_id, "callback"))
        else:
            calls.append(QueuedCall(prio, entered, uniqueid, "live"))
    return calls
