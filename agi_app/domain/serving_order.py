"""The whole queue as agents will meet it: live callers and callbacks in one serving order.

Asterisk's own queue (its QueueEntry positions) is the order it offers calls in; callbacks
that wait in the store instead (held beyond the placement window, or being placed) go where
their placement will put them: after every call that outranks them or entered no later
(``placement_position``'s rule), and among themselves in serving order. Callbacks that an
agent took (dialing, talking) and those held until a later time (a retry's interval, a
scheduled time, the next opening) have no place in the line: they are listed apart.

Pure: it is given the queue's entries, the store's requests and the clock.
"""

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from agi_app.domain.channel_ids import parse_channel_id
from agi_app.domain.placement import serving_key
from agi_app.domain.priority import level_from_queue_prio, queue_prio
from agi_app.domain.request import CallbackRequest, State, last_call_verdict


class Part(StrEnum):
    IN_LINE = "in_line"  # waiting for an agent, at a place in the line
    IN_SERVICE = "in_service"  # an agent took it: the customer is dialed or talking
    LATER = "later"  # held in the store until a time (retry, scheduled, opening)


@dataclass(frozen=True)
class Entry:
    """One call of Asterisk's queue (a QueueEntry event), as read from AMI."""

    position: int
    uniqueid: str
    prio: int  # QUEUE_PRIO
    wait_s: int  # Asterisk's whole seconds since it joined this time
    number: str = ""
    name: str = ""


@dataclass(frozen=True)
class Row:
    kind: str  # "live" or "callback"
    id: str  # a live caller's uniqueid, or a callback's request id
    part: Part
    position: int | None  # 1-based place in the line (None out of it)
    level: int | None  # 1..10 (None: a live caller's QUEUE_PRIO outside our mapping)
    entered_at: datetime  # the original queue entry
    # waiting, ringing, placing, held, dialing, talking, machine, retry, scheduled; customer
    # first: calling, on the line
    state: str
    agent: str | None = None
    number: str = ""  # caller number (live) or the number called back (callback)
    name: str = ""
    not_before: datetime | None = None
    scheduled_for: datetime | None = None
    customer_attempts: int = 0
    in_asterisk: bool = False  # its call (a live caller or a placeholder) is in the queue
    mode: str = ""  # a callback's mode option (agent_first, customer_first); "" live
    verdict: str = ""  # what a callback's last call to the customer found (last_call_verdict)

    def waited_s(self, now: datetime) -> int:
        return max(0, int((now - self.entered_at).total_seconds()))


def _callback_state(request: CallbackRequest, in_asterisk: bool, held: bool) -> str:
    if request.state is State.OFFERED or (request.state is State.QUEUED and request.agent):
        return "ringing"
    if request.state is State.CALLING:
        return "calling"  # customer first: its turn came, the customer is called
    if request.state is State.QUEUED:
        return "on the line"  # customer first: pressed 1, waits for the next agent
    if request.state is State.DIALING:
        return "dialing"
    if request.state is State.CONNECTED:
        # amd=yes and AMD() heard a greeting: the agent is on an answering machine.
        return "machine" if request.amd_status == "MACHINE" else "talking"
    if in_asterisk:
        return "waiting"
    return "held" if held else "placing"


def _row(request: CallbackRequest, part: Part, state: str, in_asterisk: bool = False) -> Row:
    destination = request.callback_number + (
        f" ext {request.extension}" if request.extension else ""
    )
    return Row(
        "callback",
        request.id,
        part,
        None,
        request.priority,
        request.queue_entered_at,
        state,
        agent=request.agent,
        number=destination,
        name=request.caller_name,
        not_before=request.not_before,
        scheduled_for=request.scheduled_for,
        customer_attempts=request.customer_attempts,
        in_asterisk=in_asterisk,
        mode=request.mode.value,
        verdict=last_call_verdict(request),
    )


def serving_order(
    entries: Iterable[Entry],
    requests: Iterable[CallbackRequest],
    *,
    held: Container[str],
    joined_at: Callable[[str], datetime | None],
    now: datetime,
) -> list[Row]:
    """The queue's rows: the line in serving order, then those in service, then later ones.

    ``requests``: the queue's requests not done; ``held``: ids of those held in the store
    beyond the placement window; ``joined_at``: a live caller's exact join time, if seen.
    """
    requests = [r for r in requests if r.state is not State.DONE]
    by_id = {r.id: r for r in requests}
    asked = {r.channel for r in requests}  # a caller who asked is its callback, not twice
    line: list[tuple[tuple[int, datetime], Row]] = []
    placed: set[str] = set()
    for entry in sorted(entries, key=lambda e: e.position):
        ref = parse_channel_id(entry.uniqueid)
        if ref is not None and ref.request_id in by_id:
            request = by_id[ref.request_id]
            placed.add(request.id)
            row = _row(request, Part.IN_LINE, _callback_state(request, True, False), True)
        elif ref is not None or entry.uniqueid in asked:
            continue  # a placeholder of a request that ended, or a caller asking right now
        else:
            entered = joined_at(entry.uniqueid) or now - timedelta(seconds=entry.wait_s)
            level = level_from_queue_prio(entry.prio)
            row = Row(
                "live", entry.uniqueid, Part.IN_LINE, None, level, entered, "waiting",
                number=entry.number, name=entry.name, in_asterisk=True,
            )  # fmt: skip
        line.append(((entry.prio, row.entered_at), row))
    rows: list[Row] = []
    in_store: list[CallbackRequest] = []
    for request in sorted(requests, key=serving_key):
        if request.id in placed:
            continue
        if request.state in (State.DIALING, State.CONNECTED):
            rows.append(_row(request, Part.IN_SERVICE, _callback_state(request, False, False)))
        elif request.not_before is not None and request.not_before > now:
            why = "retry" if request.customer_attempts else "scheduled"
            rows.append(_row(request, Part.LATER, why))
        else:
            in_store.append(request)
    # Each callback waiting in the store goes after the calls of the line that outrank it or
    # entered no later (as placement will put it), and after the store's ones ahead of it.
    for request in in_store:
        ours = queue_prio(request.priority)
        at = 0
        for i, ((prio, entered), _) in enumerate(line):
            if prio > ours or (prio == ours and entered <= request.queue_entered_at):
                at = i + 1
        state = _callback_state(request, False, request.id in held)
        line.insert(at, ((ours, request.queue_entered_at), _row(request, Part.IN_LINE, state)))
    ordered = [replace(row, position=i) for i, (_key, row) in enumerate(line, start=1)]
    later = [r for r in rows if r.part is Part.LATER]
    later.sort(key=lambda r: r.not_before or now)
    return ordered + [r for r in rows if r.part is Part.IN_SERVICE] + later
