"""Customer first: each placeholder's turn, watched; when it comes, its customer is called
(lifecycle CustomerDue, then the CallCustomer command). The placeholder waits in the queue
without being offered to any member (QUEUE_MIN_PENALTY in [callback-placeholder]), so only
this reading of the queue says when an agent would have been rung for it. A callback with a
preferred agent waits the same way until its turn, which goes to that agent (affinity.py).

Checked every second while a customer-first placeholder waits, from one QueueStatus per
queue that holds one: members available as app_queue counts them (not paused, device not in
use: status unknown or not in use), the line in queue order (domain/turn.py).
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from agi_app.domain import lifecycle as lc
from agi_app.domain.affinity import waits_for_preferred
from agi_app.domain.channel_ids import Leg, channel_id
from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.numbers import NumberRules, dialable
from agi_app.domain.request import CallbackRequest, State
from agi_app.domain.turn import whose_turn
from agi_app.pbx.ami import AmiError
from agi_app.serving.affinity import PreferredAgents
from agi_app.serving.backoff import Retry
from agi_app.serving.calling_rules import DoNotCallList, end_listed
from agi_app.serving.pbx import Pbx
from agi_app.serving.unit_of_work import UnitOfWork
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

CHECK_EVERY_S = 1.0
_AVAILABLE = frozenset({"0", "1"})  # AST_DEVICE_UNKNOWN, AST_DEVICE_NOT_INUSE


class TurnWatcher:
    def __init__(
        self,
        store: RequestStore,
        pbx: Pbx,
        unit_of_work: UnitOfWork,
        clock: Callable[[], datetime],
        rules: NumberRules,
        do_not_call: DoNotCallList | None = None,
        every: float = CHECK_EVERY_S,
    ) -> None:
        self._do_not_call = do_not_call
        self._rules = rules
        self._store = store
        self._pbx = pbx
        self._uow = unit_of_work
        self._clock = clock
        self._every = every
        self.preferred = PreferredAgents(store, clock)

    async def run(self) -> None:
        retry = Retry(
            "customer-first turn check failed", log, expected=(StoreUnavailable, AmiError)
        )
        while True:
            await retry.until_passed(self.check, bug_tries=None)
            await asyncio.sleep(self._every)

    async def check(self) -> None:
        """Call the customers whose placeholders' turn has come; offer the callbacks whose
        turn has come to their preferred agents."""
        waiting: dict[str, list[CallbackRequest]] = defaultdict(list)
        # Only those whose turn is watched, read from the store: not every waiting callback
        # made a CallbackRequest each second (issue 31).
        for request in await self._store.requests_awaiting_turn(State.WAITING):
            waiting[request.queue].append(request)
        self.preferred.keep_only([r.id for rs in waiting.values() for r in rs])
        for queue, requests in waiting.items():
            status = await self._pbx.queue_status(queue)
            line = [
                str(e.get("Uniqueid"))
                for e in sorted(
                    (e for e in status if e.get("Event") == "QueueEntry"),
                    key=lambda e: int(str(e.get("Position", "0")) or 0),
                )
            ]
            available = sum(
                1
                for m in status
                if m.get("Event") == "QueueMember"
                and m.get("Paused") == "0"
                and m.get("Status") in _AVAILABLE
            )
            due = whose_turn(line, available)
            for request in requests:
                if channel_id(request.id, request.attempt, Leg.PLACEHOLDER) not in due:
                    continue
                # Listed since it was placed: never dialed (the list read just now).
                if self._do_not_call is not None:
                    await self._do_not_call.refresh()
                    if entry := self._do_not_call.blocked(request.callback_number):
                        await end_listed(self._store, self._uow, request, entry, self._clock())
                        continue
                if waits_for_preferred(request):
                    if (event := await self.preferred.at_turn(request, status)) is not None:
                        await self._uow.apply(request.id, event)
                    continue
                # A policy tightened since it was placed: never dialed (as the placer does).
                if (why := dialable(request.callback_number, self._rules)) is not None:
                    event = lc.Cancelled(f"destination policy: {why}", self._clock())
                    await self._uow.apply(request.id, event)
                else:
                    log.info(
                        "callback %s: its turn in %s came: calling the customer", request.id, queue
                    )
                    await self._uow.apply(
                        request.id, lc.CustomerDue(request.attempt, self._clock())
                    )
