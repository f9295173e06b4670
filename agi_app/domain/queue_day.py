"""A queue's day as the records tell it: every call (live callers from Asterisk's queue_log,
callbacks from the store and their placeholders' queue_log lines), the offers made to agents,
and the ideal single queue they rank in (priority level, then original entry time).

Pure: it reads queue_log lines and the store's requests and event rows, given. queue_log
times have whole seconds only, so two calls whose order rests on a time from it are compared
by whole seconds, and a tie is no order.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from agi_app.domain.channel_ids import parse_channel_id
from agi_app.domain.request import DEFAULT_LEVEL, CallbackRequest

# A call leaves the queue's wait with one of these (CONNECT: to an agent).
_LEAVES = frozenset(
    {
        "CONNECT", "ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY",
        "COMPLETEAGENT", "COMPLETECALLER", "TRANSFER", "WITHDRAW",
    }
)  # fmt: skip
_SERVED_STATES = frozenset({"dialing", "connected", "done"})
_IN_QUEUE_STATES = frozenset({"waiting", "offered"})
CALLER_LEVEL = "CALLERLEVEL"  # written by the dialplan's [live-queue] before Queue()
_RINGING_STILL = datetime.max.replace(tzinfo=UTC)  # the end of an offer not ended yet


class Kind(StrEnum):
    LIVE = "live"
    CALLBACK = "callback"


class EventRow(Protocol):
    """A row of a request's event log (agi_app.store.sqlite.store.Event has these)."""

    @property
    def at(self) -> datetime: ...
    @property
    def event(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def detail(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LogLine:
    """One queue_log line: ``epoch|uniqueid|queue|agent|event|data1|data2|...``."""

    at: datetime
    uniqueid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


def parse_line(text: str) -> LogLine | None:
    parts = text.rstrip("\r\n").split("|")
    if len(parts) < 5:
        return None
    try:
        at = datetime.fromtimestamp(int(parts[0]), UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return LogLine(at, parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def _number(data: tuple[str, ...], index: int) -> float:
    try:
        value = float(data[index])
    except (IndexError, ValueError):
        return 0.0
    return value if math.isfinite(value) and value >= 0 else 0.0


@dataclass(frozen=True)
class Offer:
    call: str  # Call.key
    agent: str
    start: datetime  # the agent's phone started ringing
    end: datetime  # answered, declined or rang out
    answered: bool


@dataclass
class Call:
    kind: Kind
    id: str  # live: the caller's uniqueid; callback: the request id
    level: int
    level_known: bool
    entered_at: datetime  # original queue entry
    exact: bool  # entered_at from the store (sub-second), not from queue_log
    served_at: datetime | None = None  # an agent took it
    left_at: datetime | None = None  # its wait ended, served or not
    offers: list[Offer] = field(default_factory=list)
    rank: int = 0  # 1-based place in the ideal order
    # Callbacks: the request, its events, and when each placeholder was in Asterisk's queue.
    request: CallbackRequest | None = None
    events: Sequence[EventRow] = ()
    present: list[tuple[int, datetime, datetime | None, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.id}"

    @property
    def label(self) -> str:
        return f"{'live caller' if self.kind is Kind.LIVE else 'callback'} {self.id}"

    def waiting_at(self, t: datetime) -> bool:
        """In the ideal queue at ``t``: entered, not yet gone, and no phone ringing for it."""
        if self.entered_at > t or (self.left_at is not None and self.left_at <= t):
            return False
        return not any(o.start <= t < o.end for o in self.offers)

    def in_asterisk_at(self, t: datetime) -> bool:
        if self.kind is Kind.LIVE:
            return self.entered_at <= t and (self.left_at is None or t < self.left_at)
        if self.present:
            return any(s <= t and (e is None or t < e) for _, s, e, _ in self.present)
        return state_at(self.events, t) in _IN_QUEUE_STATES


def whole_second(t: datetime) -> int:
    return math.floor(t.timestamp())


def ranks_ahead(a: Call, b: Call) -> bool:
    """``a`` is served before ``b`` in the ideal single queue."""
    if a.level != b.level:
        return a.level < b.level
    if a.exact and b.exact:
        return a.entered_at < b.entered_at
    return whole_second(a.entered_at) < whole_second(b.entered_at)


def state_at(events: Sequence[EventRow], t: datetime) -> str | None:
    state = None
    for event in events:
        if event.at > t:
            break
        state = event.state
    return state


def attempt_of(event: EventRow) -> int | None:
    value = event.detail.get("attempt")
    return value if isinstance(value, int) else None


# ---- building the calls ---------------------------------------------------------------------
def _log_offers(call: Call, lines: Iterable[LogLine]) -> list[Offer]:
    offers = []
    for line in lines:
        if line.event in ("RINGNOANSWER", "RINGCANCELED"):
            start = line.at - timedelta(milliseconds=_number(line.data, 0))
            offers.append(Offer(call.key, line.agent, start, line.at, answered=False))
        elif line.event == "CONNECT":
            start = line.at - timedelta(seconds=_number(line.data, 2))
            offers.append(Offer(call.key, line.agent, start, line.at, answered=True))
    return offers


def _live_call(uniqueid: str, lines: list[LogLine]) -> Call:
    entered = next(x.at for x in lines if x.event == "ENTERQUEUE")
    level = next((x.data[0] for x in lines if x.event == CALLER_LEVEL and x.data), "")
    known = level.isdigit() and 1 <= int(level) <= 10
    call = Call(Kind.LIVE, uniqueid, int(level) if known else DEFAULT_LEVEL, known, entered, False)
    call.left_at = next((x.at for x in lines if x.event in _LEAVES and x.at >= entered), None)
    call.served_at = next((x.at for x in lines if x.event == "CONNECT"), None)
    call.offers = _log_offers(call, lines)
    return call


def _store_offers(call: Call, events: Sequence[EventRow]) -> dict[int, list[Offer]]:
    """Offers the service saw (exact times), by placement attempt."""
    offers: dict[int, list[Offer]] = {}
    for i, event in enumerate(events):
        attempt = attempt_of(event)
        if event.event != "Offered" or attempt is None:
            continue
        after = events[i + 1] if i + 1 < len(events) else None
        end = after.at if after is not None else _RINGING_STILL
        answered = after is not None and after.event == "AgentAnswered"
        agent = str(event.detail.get("agent", ""))
        offers.setdefault(attempt, []).append(Offer(call.key, agent, event.at, end, answered))
    return offers


def _callback_call(
    request: CallbackRequest,
    events: Sequence[EventRow],
    placeholders: dict[int, list[LogLine]],
    live: list[LogLine],
) -> Call:
    """``placeholders`` by attempt; ``live``: the lines of the caller before asking for it
    (kept as attempt 0: its place in the queue until it asked)."""
    call = Call(
        Kind.CALLBACK,
        request.id,
        request.priority,
        True,
        request.queue_entered_at,
        True,
        request=request,
        events=events,
    )
    ends = [e.at for e in events if e.state in _SERVED_STATES]
    served = [e.at for e in events if e.state in ("dialing", "connected")]
    connects = [x.at for lines in placeholders.values() for x in lines if x.event == "CONNECT"]
    call.served_at = min([*served, *connects], default=None)
    call.left_at = min([*ends, *connects], default=None)
    seen = _store_offers(call, events)
    call.offers += _log_offers(call, live)
    placeholders = {0: live, **placeholders} if live else placeholders
    for attempt in sorted({*seen, *placeholders} - {0}):
        call.offers += seen.get(attempt) or _log_offers(call, placeholders.get(attempt, []))
    for attempt, lines in sorted(placeholders.items()):
        entered = next((x.at for x in lines if x.event == "ENTERQUEUE"), None)
        if entered is not None:
            left = next((x for x in lines if x.event in _LEAVES and x.at >= entered), None)
            how = left.event if left is not None else ""
            call.present.append((attempt, entered, left.at if left else None, how))
    return call


def build_calls(
    lines: Iterable[LogLine],
    requests: Iterable[CallbackRequest],
    events: Mapping[str, Sequence[EventRow]],
    queue: str,
) -> list[Call]:
    """Every call of ``queue`` in the records, in the ideal order (``rank`` set)."""
    ours = [x for x in lines if x.queue == queue]
    wanted = [r for r in requests if r.queue == queue]
    by_channel = {r.channel for r in wanted}
    placeholder_lines: dict[str, dict[int, list[LogLine]]] = {}
    live_lines: dict[str, list[LogLine]] = {}
    asked: dict[str, list[LogLine]] = {}
    for line in ours:
        ref = parse_channel_id(line.uniqueid)
        if ref is not None:
            placeholder_lines.setdefault(ref.request_id, {}).setdefault(ref.attempt, []).append(
                line
            )
        elif line.uniqueid in by_channel:  # a caller who asked for a callback is that call
            asked.setdefault(line.uniqueid, []).append(line)
        else:
            live_lines.setdefault(line.uniqueid, []).append(line)
    calls = [
        _callback_call(
            r, events.get(r.id, ()), placeholder_lines.get(r.id, {}), asked.get(r.channel, [])
        )
        for r in wanted
    ]
    calls += [
        _live_call(uniqueid, lines)
        for uniqueid, lines in live_lines.items()
        if any(x.event == "ENTERQUEUE" for x in lines)
    ]
    calls.sort(key=lambda c: (c.level, whole_second(c.entered_at), c.entered_at, c.key))
    for rank, call in enumerate(calls, start=1):
        call.rank = rank
    return calls
