"""The audit of a queue's day: the order in which calls were offered to agents, against the
ideal single queue (priority level, then original entry time, live callers and callbacks
alike), and every inversion with its cause as far as the records tell.

Pure: it reads Asterisk's queue_log lines and the store's requests and event rows, given.
queue_log times have whole seconds only, so two calls whose order rests on a time from it
are compared by whole seconds, and a tie is no inversion.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Protocol

from agi_app.channel_ids import parse_channel_id
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
CALLER_LEVEL = "CALLERLEVEL"
_RINGING_STILL = datetime.max.replace(
    tzinfo=UTC
)  # the end of an offer not ended yet  # written by the dialplan's [live-queue] before Queue()


class Kind(StrEnum):
    LIVE = "live"
    CALLBACK = "callback"


class Cause(StrEnum):
    RINGING_BEFORE_ARRIVAL = "ringing_before_arrival"
    DECLINED_BEFORE = "declined_before"
    ASKING_FOR_CALLBACK = "asking_for_callback"
    PLACEHOLDER_LOST = "placeholder_lost"
    PLACEMENT_UNDER_WAY = "placement_under_way"
    HELD_IN_STORE = "held_in_store"
    PLACEMENT_MISCOUNTED = "placement_miscounted"
    UNKNOWN = "unknown"


class EventRow(Protocol):
    """A row of a request's event log (agi_app.store.Event has these)."""

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
        return _state_at(self.events, t) in _IN_QUEUE_STATES


@dataclass(frozen=True)
class Inversion:
    ahead: Call  # A: ranks ahead, was waiting
    behind: Call  # B: offered first
    offer: Offer  # B's offer
    cause: Cause
    explanation: str


@dataclass(frozen=True)
class Audit:
    calls: list[Call]  # in the ideal order
    offers: list[Offer]  # in the order they were made
    inversions: list[Inversion]


def _second(t: datetime) -> int:
    return math.floor(t.timestamp())


def ranks_ahead(a: Call, b: Call) -> bool:
    """``a`` is served before ``b`` in the ideal single queue."""
    if a.level != b.level:
        return a.level < b.level
    if a.exact and b.exact:
        return a.entered_at < b.entered_at
    return _second(a.entered_at) < _second(b.entered_at)


def _state_at(events: Sequence[EventRow], t: datetime) -> str | None:
    state = None
    for event in events:
        if event.at > t:
            break
        state = event.state
    return state


def _attempt(event: EventRow) -> int | None:
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
        attempt = _attempt(event)
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
    calls.sort(key=lambda c: (c.level, _second(c.entered_at), c.entered_at, c.key))
    for rank, call in enumerate(calls, start=1):
        call.rank = rank
    return calls


# ---- causes ---------------------------------------------------------------------------------
def _hhmmss(t: datetime, tz: tzinfo) -> str:
    return t.astimezone(tz).strftime("%H:%M:%S")


def _placed(call: Call, before: datetime) -> EventRow | None:
    """The last placement of ``call`` made at or before ``before``."""
    placed = [e for e in call.events if e.event == "Placed" and e.at <= before]
    return placed[-1] if placed else None


def _listed(detail: dict[str, Any], side: str, call: Call) -> bool:
    entries = detail.get(side)
    if not isinstance(entries, list):
        return False
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        ident = str(entry.get("id", ""))
        ref = parse_channel_id(ident)
        if ident == call.id or (ref is not None and ref.request_id == call.id):
            return True
    return False


def _ahead_in_asterisk(call: Call, calls: Iterable[Call], t: datetime) -> int:
    return sum(1 for c in calls if c is not call and c.in_asterisk_at(t) and ranks_ahead(c, call))


def _miscounted(a: Call, b: Call, calls: list[Call], at: datetime, tz: tzinfo) -> str | None:
    """A placement of A or B that did not see the queue as it was."""
    placed = _placed(b, at) if b.kind is Kind.CALLBACK else None
    if (
        placed is not None
        and a.in_asterisk_at(placed.at)
        and not _listed(placed.detail, "nearest_ahead", a)
    ):
        counted = placed.detail.get("ahead")
        held = _ahead_in_asterisk(b, calls, placed.at)
        if isinstance(counted, int) and counted < held:
            return (
                f"B's placement (attempt {placed.detail.get('attempt')} at"
                f" {_hhmmss(placed.at, tz)}, position {placed.detail.get('position')}) was"
                f" computed from a queue missing calls: it counted {counted} ahead, the queue"
                f" held {held} ahead of it, A among them"
            )
    placed = _placed(a, at) if a.kind is Kind.CALLBACK else None
    if placed is not None and b.in_asterisk_at(placed.at):
        counted = placed.detail.get("ahead")
        held = _ahead_in_asterisk(a, calls, placed.at)
        if _listed(placed.detail, "nearest_ahead", b) or (
            isinstance(counted, int) and counted > held
        ):
            return (
                f"A's placement (attempt {placed.detail.get('attempt')} at"
                f" {_hhmmss(placed.at, tz)}, position {placed.detail.get('position')}) counted"
                f" {counted} calls ahead of it, the queue held {held}"
                + (", B among them" if _listed(placed.detail, "nearest_ahead", b) else "")
            )
    return None


def _out_of_queue(a: Call, at: datetime, tz: tzinfo) -> tuple[Cause, str] | None:
    """Why callback A was not in Asterisk's queue at ``at``, if it was not."""
    if a.request is None or a.in_asterisk_at(at):
        return None
    if at < a.request.requested_at:
        return Cause.ASKING_FOR_CALLBACK, "A was leaving the queue to ask for a callback"
    gone = [p for p in a.present if p[0] > 0 and p[2] is not None and p[2] <= at]
    lost = [e for e in a.events if e.event in ("PlaceholderLost", "LeftQueue") and e.at <= at]
    if gone or lost:
        attempt, how, when = (
            (gone[-1][0], gone[-1][3], gone[-1][2]) if gone
            else (_attempt(lost[-1]), lost[-1].event, lost[-1].at)
        )  # fmt: skip
        assert when is not None
        back = [p for p in a.present if p[0] > 0 and p[1] > at]
        again = (
            f"; attempt {back[0][0]} joined the queue at {_hhmmss(back[0][1], tz)}" if back else ""
        )
        return Cause.PLACEHOLDER_LOST, (
            f"A's placeholder (attempt {attempt}) left the queue ({how}) at"
            f" {_hhmmss(when, tz)} and was being placed again{again}"
        )
    placed = [e for e in a.events if e.event in ("Placed", "PlacementDue") and e.at <= at]
    if placed:
        return Cause.PLACEMENT_UNDER_WAY, (
            f"A's placement was under way (started {_hhmmss(placed[0].at, tz)}),"
            " its placeholder not yet in the queue"
        )
    return Cause.HELD_IN_STORE, (
        "A was held in the store, not yet placed (beyond the placement window)"
    )


def _cause(a: Call, b: Call, offer: Offer, calls: list[Call], tz: tzinfo) -> tuple[Cause, str]:
    at = offer.start
    if a.entered_at > at:
        return Cause.RINGING_BEFORE_ARRIVAL, (
            f"B was already ringing {offer.agent} when A arrived at {_hhmmss(a.entered_at, tz)}"
        )
    declined = [o for o in a.offers if o.agent == offer.agent and not o.answered and o.end <= at]
    if declined:
        return Cause.DECLINED_BEFORE, (
            f"A was offered to {offer.agent} at {_hhmmss(declined[-1].start, tz)} and not"
            " taken (declined or rang out)"
        )
    if (why := _out_of_queue(a, at, tz)) is not None:
        return why
    if (why_text := _miscounted(a, b, calls, at, tz)) is not None:
        return Cause.PLACEMENT_MISCOUNTED, why_text
    return Cause.UNKNOWN, "the records do not tell"


def audit(
    lines: Iterable[LogLine],
    requests: Iterable[CallbackRequest],
    events: Mapping[str, Sequence[EventRow]],
    queue: str,
    *,
    since: datetime | None = None,
    tz: tzinfo = UTC,
) -> Audit:
    """The calls of ``queue`` (those that entered at or after ``since``), their offers in
    order, and each pair A, B where B was offered while A, ranking ahead, waited: once per
    pair, at B's first such offer. A call that arrived while B already rang counts only when
    B got the agent."""
    calls = build_calls(lines, requests, events, queue)
    if since is not None:
        calls = [c for c in calls if c.entered_at >= since]
        for rank, call in enumerate(calls, start=1):
            call.rank = rank
    offers = sorted((o for c in calls for o in c.offers), key=lambda o: (o.start, o.end))
    by_key = {c.key: c for c in calls}
    inversions: list[Inversion] = []
    seen: set[tuple[str, str]] = set()
    # Only the calls in the queue around an offer can be overtaken by it: a day's calls
    # come and go, so keep those (entered by the offer's end, not gone by its start).
    arriving = sorted(calls, key=lambda c: c.entered_at)
    next_in = 0
    active: list[Call] = []
    for offer in offers:
        while next_in < len(arriving) and arriving[next_in].entered_at <= offer.end:
            active.append(arriving[next_in])
            next_in += 1
        active = [c for c in active if c.left_at is None or c.left_at > offer.start]
        b = by_key[offer.call]
        for a in active:
            if a is b or not ranks_ahead(a, b) or (a.key, b.key) in seen:
                continue
            arrived_while_ringing = offer.start < a.entered_at < offer.end and offer.answered
            if not (a.waiting_at(offer.start) or arrived_while_ringing):
                continue
            seen.add((a.key, b.key))
            cause, text = _cause(a, b, offer, calls, tz)
            inversions.append(Inversion(a, b, offer, cause, text))
    return Audit(calls, offers, inversions)


# ---- a request's placements, for `agi-callback show` ---------------------------------------
def _neighbour(entry: object, tz: tzinfo) -> str:
    if not isinstance(entry, dict):
        return "?"
    kind = "live caller" if entry.get("kind") == "live" else "callback"
    entered = entry.get("entered_at")
    when = ""
    if isinstance(entered, str):
        try:
            when = f", entered {_hhmmss(datetime.fromisoformat(entered), tz)}"
        except ValueError:
            when = f", entered {entered}"
    return f"{kind} {entry.get('id')} (level {entry.get('level')}{when})"


def explain_placements(events: Iterable[EventRow], tz: tzinfo = UTC) -> list[str]:
    """One line per placement: where the request went and what that was computed from."""
    lines = []
    for event in events:
        if event.event != "Placed":
            continue
        d = event.detail
        by_level = d.get("ahead_by_level")
        levels = (
            " (" + ", ".join(f"level {k}: {v}" for k, v in sorted(
                by_level.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 99
            )) + ")"
            if isinstance(by_level, dict) and by_level
            else ""
        )  # fmt: skip
        ahead = d.get("ahead")
        noun = "call" if ahead == 1 else "calls"
        text = (
            f"attempt {d.get('attempt')} placed at {_hhmmss(event.at, tz)} at position"
            f" {d.get('position')}: {ahead} {noun} ahead{levels}"
        )
        for side, name in (("nearest_ahead", "nearest ahead"), ("nearest_behind", "behind")):
            entries = d.get(side)
            if isinstance(entries, list):
                listed = ", ".join(_neighbour(e, tz) for e in entries) or "none"
                text += f"; {name}: {listed}"
        lines.append(text)
    return lines
