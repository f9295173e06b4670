"""The agents as a supervisor watches them: each queue member's state, what it handles, and
since when.

Asterisk tells a member's device state and pause flag (QueueMember), the service knows which
callback each agent's phone rings or talks for, and a channel tells which caller a member
talks to. Asterisk does not tell when a state began, so ``StateClock`` notes each change
as it is seen (from Asterisk's LastPause / LastCall for the first sight, when it has them).

Pure: it is given the members, requests, channels and the clock.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from agi_app.domain.request import CallbackRequest, State


class AgentState(StrEnum):
    FREE = "free"
    RINGING = "ringing"
    ON_CALL = "on a call"
    ON_CALLBACK = "on a callback"
    PAUSED = "paused"
    UNREACHABLE = "unreachable"


# Asterisk device states (QueueMember Status).
_UNREACHABLE = frozenset({"4", "5"})  # invalid, unavailable
_RINGING = frozenset({"6", "7"})  # ringing, ringing while in use
_BUSY = frozenset({"2", "3", "8"})  # in use, busy, on hold


@dataclass(frozen=True)
class Member:
    """One QueueMember event."""

    queue: str
    interface: str  # StateInterface, or Location
    name: str
    status: str
    paused: bool
    paused_reason: str = ""
    in_call: bool = False
    calls_taken: int = 0
    last_call: int = 0  # epoch seconds, 0: none
    last_pause: int = 0


@dataclass(frozen=True)
class AgentRow:
    queue: str
    interface: str
    name: str
    state: AgentState
    paused: bool
    paused_reason: str
    since: datetime
    calls_taken: int
    callback_id: str | None = None  # the callback it rings or talks for
    handling: str = ""  # the number it rings or talks for (a callback's or a live caller's)


def _epoch(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


class StateClock:
    """When each member's state began, as far as seen: a change restarts its clock."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], tuple[AgentState, bool, datetime]] = {}

    def since(self, member: Member, state: AgentState, now: datetime) -> datetime:
        key = (member.queue, member.interface)
        known = self._seen.get(key)
        if known is not None and known[:2] == (state, member.paused):
            return known[2]
        began = now
        if known is None and state in (AgentState.PAUSED, AgentState.FREE):
            # First sight: what Asterisk remembers of it, if anything.
            hint = _epoch(member.last_pause if member.paused else member.last_call)
            began = min(hint, now) if hint is not None else now
        self._seen[key] = (state, member.paused, began)
        return began

    def forget_others(self, keep: Iterable[tuple[str, str]]) -> None:
        kept = set(keep)
        for key in [k for k in self._seen if k not in kept]:
            del self._seen[key]


def agent_board(
    members: Iterable[Member],
    requests: Iterable[CallbackRequest],
    talking_to: Mapping[str, str],
    clock: StateClock,
    now: datetime,
) -> list[AgentRow]:
    """``requests``: those not done; ``talking_to``: interface -> the number its channel is
    connected to (ringing or talking)."""
    serving = {
        (r.queue, r.agent): r
        for r in requests
        if r.agent and r.state in (State.OFFERED, State.DIALING, State.CONNECTED)
    }
    rows = []
    members = list(members)
    for m in members:
        callback = serving.get((m.queue, m.interface))
        handling = talking_to.get(m.interface, "")
        if m.status in _UNREACHABLE:
            state = AgentState.UNREACHABLE
        elif callback is not None and callback.state is not State.OFFERED:
            state = AgentState.ON_CALLBACK
        elif callback is not None or m.status in _RINGING:
            state = AgentState.RINGING
        elif m.status in _BUSY or m.in_call:
            state = AgentState.ON_CALL
        elif m.paused:
            state = AgentState.PAUSED
        else:
            state = AgentState.FREE
        if callback is not None:
            handling = callback.callback_number
        elif state not in (AgentState.RINGING, AgentState.ON_CALL):
            handling = ""
        rows.append(
            AgentRow(
                m.queue, m.interface, m.name, state, m.paused, m.paused_reason,
                clock.since(m, state, now), m.calls_taken,
                callback.id if callback is not None else None, handling,
            )
        )  # fmt: skip
    clock.forget_others((m.queue, m.interface) for m in members)
    rows.sort(key=lambda r: (r.queue, r.interface))
    return rows
