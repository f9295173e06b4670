"""Agent affinity in serving (the preferred_agent option): at a waiting callback's turn, its
preferred agent is rung alone if free, waited for while busy (up to affinity_timeout from
the turn), and given up when not a member of the queue or busy too long. Its placeholder
waits rung by no member meanwhile (QUEUE_MIN_PENALTY, as customer first's), so that only
this reading of the queue (turns.py) decides who is offered it first.
"""

import math
from collections.abc import Callable, Collection
from datetime import datetime

from panoramisk.message import Message

from agi_app.domain import lifecycle as lc
from agi_app.domain.affinity import LAST
from agi_app.domain.request import CallbackRequest
from agi_app.store.port import RequestStore

MIN_RING_S = 5  # a preferred agent freed late in affinity_timeout still rings this long
_FREE = frozenset({"0", "1"})  # AST_DEVICE_UNKNOWN, AST_DEVICE_NOT_INUSE (as turns.py)


class PreferredAgents:
    def __init__(self, store: RequestStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        self._turn_at: dict[str, datetime] = {}  # request id -> when its turn first came

    def keep_only(self, request_ids: Collection[str]) -> None:
        """Forget the turns of requests no longer waiting for their preferred agent."""
        for request_id in set(self._turn_at) - set(request_ids):
            del self._turn_at[request_id]

    async def agent_of(self, request: CallbackRequest) -> str | None:
        """The preferred agent's interface; for `last`, the one who last handled the number."""
        if request.preferred_agent != LAST:
            return request.preferred_agent
        return await self._store.last_agent(request.callback_number)

    async def at_turn(self, request: CallbackRequest, status: list[Message]) -> lc.Event | None:
        """Its turn has come: ring the preferred agent, give up on them, or wait (None)."""
        now = self._clock()
        waited = (now - self._turn_at.setdefault(request.id, now)).total_seconds()
        agent = await self.agent_of(request)
        if agent is None:
            return lc.AffinityOver(request.attempt, "no agent handled this number yet", now)
        member = next(
            (
                m
                for m in status
                if m.get("Event") == "QueueMember"
                and agent in (m.get("Location"), m.get("StateInterface"))
            ),
            None,
        )
        if member is None:
            why = f"{agent} is not a member of {request.queue}"
            return lc.AffinityOver(request.attempt, why, now)
        if waited >= request.affinity_timeout:
            why = f"{agent} not free within {request.affinity_timeout}s"
            return lc.AffinityOver(request.attempt, why, now)
        if member.get("Paused") == "0" and member.get("Status") in _FREE:
            seconds = max(MIN_RING_S, math.ceil(request.affinity_timeout - waited))
            return lc.PreferredDue(request.attempt, agent, seconds, now)
        return None  # busy or paused: its turn is kept for them a while
