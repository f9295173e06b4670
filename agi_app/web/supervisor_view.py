"""The supervisor's screen, as one snapshot: per queue, the whole line in serving order, the
agents, and today's figures; and whether Asterisk is there to tell the live part.

One QueueStatus (every queue at once) per snapshot, and CoreShowChannels only while some
member rings or talks for a live caller; the Broadcaster computes it once for every viewer.
Read through what serving exposes (its store, AMI link, held requests, join times); the
figures of the day come from the records (supervisor_day).
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from panoramisk.message import Message

from agi_app.domain.agent_board import AgentRow, Member, StateClock, agent_board
from agi_app.domain.request import State
from agi_app.domain.serving_order import Entry, Part, Row, serving_order
from agi_app.pbx.ami import AmiError
from agi_app.serving import Serving
from agi_app.web.config import SupervisorConfig
from agi_app.web.supervisor_day import DayBoard

_NOT_DONE = tuple(s for s in State if s is not State.DONE)


def _int(message: Message, key: str) -> int:
    text = str(message.get(key, "") or "")
    return int(text) if text.isdigit() else 0


def members_of(status: list[Message]) -> list[Member]:
    return [
        Member(
            queue=str(m.get("Queue", "")),
            interface=str(m.get("StateInterface") or m.get("Location") or ""),
            name=str(m.get("Name", "") or m.get("Location", "")),
            status=str(m.get("Status", "")),
            paused=m.get("Paused") == "1",
            paused_reason=str(m.get("PausedReason", "") or ""),
            in_call=m.get("InCall") == "1",
            calls_taken=_int(m, "CallsTaken"),
            last_call=_int(m, "LastCall"),
            last_pause=_int(m, "LastPause"),
        )
        for m in status
        if m.get("Event") == "QueueMember"
    ]


def entries_of(status: list[Message]) -> dict[str, list[Entry]]:
    entries: dict[str, list[Entry]] = {}
    for e in status:
        if e.get("Event") == "QueueEntry":
            entries.setdefault(str(e.get("Queue", "")), []).append(
                Entry(
                    _int(e, "Position"),
                    str(e.get("Uniqueid", "")),
                    _int(e, "Priority"),
                    _int(e, "Wait"),
                    number=str(e.get("CallerIDNum", "") or ""),
                    name=str(e.get("CallerIDName", "") or ""),
                )
            )
    return entries


class SupervisorView:
    def __init__(
        self,
        serving: Serving,
        config: SupervisorConfig,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._serving = serving
        self._store = serving.views.store
        self._clock = clock
        self.zone, self.zone_name = config.zone, config.zone_name
        self._agent_clock = StateClock()
        self.day = DayBoard(self._store, config, clock)
        self._lost_since: datetime | None = None

    def _local(self, t: datetime | None) -> str | None:
        if t is None:
            return None
        here = t.astimezone(self.zone)
        today = self._clock().astimezone(self.zone).date()
        return here.strftime("%H:%M:%S" if here.date() == today else "%a %d %b %H:%M")

    async def _talking_to(self, members: list[Member]) -> dict[str, str]:
        """Interface -> the number its channel rings or talks to, when a member is busy."""
        if not any(m.status in ("2", "3", "6", "7", "8") for m in members):
            return {}
        try:
            channels = await self._serving.pbx.channels()
        except AmiError:
            return {}
        found = {}
        for channel in channels.values():
            name = str(channel.get("Channel", ""))
            interface = name.rsplit("-", 1)[0]
            number = str(channel.get("ConnectedLineNum", "") or "")
            if "-" in name and number and number != "<unknown>":
                found[interface] = number
        return found

    async def snapshot(self) -> dict[str, Any]:
        now = self._clock()
        status: list[Message] = []
        healthy = self._serving.pbx.healthy
        if healthy:
            try:
                status = await self._serving.pbx.ami.send_list({"Action": "QueueStatus"})
            except AmiError:
                healthy = False
        if healthy:
            self._lost_since = None
        elif self._lost_since is None:
            self._lost_since = now
        requests = await self._store.requests(*_NOT_DONE)
        entries, members = entries_of(status), members_of(status)
        queues = {str(m.get("Queue")) for m in status if m.get("Event") == "QueueParams"}
        queues |= {r.queue for r in requests} | set(entries) | {m.queue for m in members}
        board = agent_board(
            members, requests, await self._talking_to(members), self._agent_clock, now
        )
        waiting_ids = {e.uniqueid for listed in entries.values() for e in listed}
        figures = await self.day.figures(queues, waiting_ids)
        held = self._serving.placer.held
        result = []
        for queue in sorted(queues):
            rows = serving_order(
                entries.get(queue, []),
                [r for r in requests if r.queue == queue],
                held=held,
                joined_at=self._serving.join_times.get,
                now=now,
            )
            line = [r for r in rows if r.part is Part.IN_LINE]
            result.append(
                {
                    "name": queue,
                    "waiting_now": len(line),
                    "waiting_live": sum(r.kind == "live" for r in line),
                    "waiting_callbacks": sum(r.kind == "callback" for r in line),
                    "longest_wait_s": max((r.waited_s(now) for r in line), default=None),
                    "rows": [self._row(r, now) for r in rows],
                    "agents": [self._agent(a, now) for a in board if a.queue == queue],
                    "day": figures.get(queue),
                }
            )
        return {
            "as_of": now.isoformat(),
            "as_of_local": self._local(now),
            "timezone": self.zone_name,
            "asterisk": {"connected": healthy, "lost_since": self._local(self._lost_since)},
            "queue_log_readable": self.day.queue_log_readable,
            "queues": result,
        }

    def _state_text(self, row: Row) -> str:
        agent = row.agent or "an agent"
        return {
            "waiting": "waiting",
            "ringing": f"ringing {agent}" if row.kind == "callback" else "ringing an agent",
            "placing": "being placed in the queue",
            "held": "held in the store (placed as it nears the head)",
            "dialing": f"dialing the customer for {agent}",
            "talking": f"talking with {agent}",
            "machine": f"answering machine, with {agent}",
            "calling": "its turn came: calling the customer",
            "on the line": "the customer is on the line, waiting for an agent",
            "retry": f"retry at {self._local(row.not_before)} ({row.customer_attempts} unanswered)",
            "scheduled": f"scheduled for {self._local(row.not_before)}",
        }.get(row.state, row.state)

    def _row(self, row: Row, now: datetime) -> dict[str, Any]:
        return {
            "kind": row.kind,
            "id": row.id,
            "part": row.part.value,
            "position": row.position,
            "level": row.level,
            "waited_s": row.waited_s(now),
            "entered": self._local(row.entered_at),
            "state": row.state,
            "state_text": self._state_text(row),
            "agent": row.agent,
            "number": row.number,
            "name": row.name,
            "not_before": self._local(row.not_before),
            "mode": row.mode,
            "verdict": row.verdict,
        }

    def _agent(self, agent: AgentRow, now: datetime) -> dict[str, Any]:
        return {
            "interface": agent.interface,
            "name": agent.name,
            "state": agent.state.value,
            "paused": agent.paused,
            "paused_reason": agent.paused_reason,
            "since": self._local(agent.since),
            "in_state_s": max(0, int((now - agent.since).total_seconds())),
            "calls_taken": agent.calls_taken,
            "callback_id": agent.callback_id,
            "handling": agent.handling,
        }
