"""The audit of a queue's day: the order in which calls were offered to agents, against the
ideal single queue (priority level, then original entry time, live callers and callbacks
alike), and every inversion with its cause as far as the records tell.

Pure: the calls and offers come from ``agi_app.domain.queue_day``.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any

from agi_app.domain.channel_ids import parse_channel_id
from agi_app.domain.queue_day import (
    Call,
    EventRow,
    Kind,
    LogLine,
    Offer,
    attempt_of,
    build_calls,
    ranks_ahead,
)
from agi_app.domain.request import CallbackRequest


class Cause(StrEnum):
    RINGING_BEFORE_ARRIVAL = "ringing_before_arrival"
    DECLINED_BEFORE = "declined_before"
    ASKING_FOR_CALLBACK = "asking_for_callback"
    PLACEHOLDER_LOST = "placeholder_lost"
    PLACEMENT_UNDER_WAY = "placement_under_way"
    HELD_IN_STORE = "held_in_store"
    PLACEMENT_MISCOUNTED = "placement_miscounted"
    UNKNOWN = "unknown"


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
            else (attempt_of(lost[-1]), lost[-1].event, lost[-1].at)
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
