"""The one place where requests change: lock, load, transition, save; then notify and carry
out the commands (``UnitOfWork.apply``)."""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Protocol

from agi_app.domain import lifecycle as lc
from agi_app.domain.errors import CallbackError
from agi_app.domain.json_values import jsonable
from agi_app.domain.numbers import NumberRules, dialable
from agi_app.domain.request import CallbackRequest, State
from agi_app.pbx.ami import AmiError
from agi_app.serving.notifier import Notifier
from agi_app.serving.pbx import Pbx
from agi_app.store.port import RequestStore, StaleUpdate

log = logging.getLogger(__name__)


class PlacementHooks(Protocol):
    """What the placer must hear from a change (agi_app.serving.placer.Placer)."""

    def placeholder_lost(self, request: CallbackRequest) -> None: ...

    def placeholder_joined(self, request_id: str) -> None: ...

    def due_at(self, request: CallbackRequest) -> None: ...


class UnitOfWork:
    def __init__(
        self,
        store: RequestStore,
        pbx: Pbx,
        notifier: Notifier,
        rules: NumberRules,
        clock: Callable[[], datetime],
        may_call: Callable[[CallbackRequest], bool] = lambda _request: True,
    ) -> None:
        self._store = store
        self._pbx = pbx
        self._notifier = notifier
        self._rules = rules
        self._clock = clock
        self._may_call = may_call  # calling hours
        self._lock = asyncio.Lock()
        self._placement: PlacementHooks | None = None

    def wire(self, placement: PlacementHooks) -> None:
        self._placement = placement

    async def apply(self, request_id: str, event: lc.Event) -> lc.Place | None:
        """Apply ``event`` to the request; carry out what it calls for, except a placement,
        which is returned: only the placer applies PlacementDue, and it places."""
        async with self._lock:
            before = await self._store.get(request_id)
            if before is None:
                return None
            after, commands = lc.transition(before, event)
            lost = (
                isinstance(event, lc.PlaceholderLost | lc.AffinityOver)
                and event.attempt == before.attempt
            )
            lost = lost and after.state is State.PENDING and after.not_before is None
            if lost and self._placement is not None:
                self._placement.placeholder_lost(after)  # placed again, shortly
            if after == before:
                return None
            detail = {k: v for k, v in asdict(event).items() if k not in ("at",)}
            detail = {k: jsonable(v) for k, v in detail.items()}
            try:
                await self._store.save(before, after, type(event).__name__, event.at, detail)
            except StaleUpdate:
                log.warning("request %s changed meanwhile; event %s dropped", request_id, event)
                return None
            if self._placement is not None:
                if after.state is State.WAITING:
                    self._placement.placeholder_joined(request_id)
                elif after.not_before is not None and after.not_before != before.not_before:
                    self._placement.due_at(after)  # a retry, held until its time
            self._notifier.saved(before, after, event.at)
            log.info(
                "callback %s %s -> %s on %s%s",
                request_id,
                before.state,
                after.state,
                type(event).__name__,
                f" ({after.call_outcome} / {after.contact_outcome})" if after.call_outcome else "",
            )
        await self._notifier.queue_logged(before, after)
        place = None
        for command in commands:
            if isinstance(command, lc.Place):
                place = command
            else:
                await self._execute(command)
        return place

    async def _execute(self, command: lc.Command) -> None:
        try:
            match command:
                case lc.ScreenPop(request=request, agent=agent):
                    await self._pbx.screen_pop(request, agent)
                case lc.Withdraw(request=request):
                    await self._pbx.withdraw(request)
                case lc.Unplace(request=request):
                    await self._pbx.unplace(request)
                case lc.CallCustomer(request=request):  # the turn watcher checked the policy
                    await self._pbx.call_customer(request)
                case lc.RingPreferred(request=request, agent=agent, seconds=seconds):
                    await self._pbx.ring_preferred(request, agent, seconds)
                case lc.Inform(request=request, prompt=prompt):
                    if (why := dialable(request.callback_number, self._rules)) is not None:
                        log.warning("callback %s: no informative call: %s", request.id, why)
                    elif not self._may_call(request):
                        log.info("callback %s: no informative call outside hours", request.id)
                    else:
                        await self._pbx.inform(request, prompt)
        except (AmiError, CallbackError) as exc:
            log.error("callback %s: %s failed: %s", command.request.id, type(command).__name__, exc)
            if isinstance(command, lc.RingPreferred):  # not rung: any agent, at its place
                request = command.request
                over = lc.AffinityOver(request.attempt, f"not rung: {exc}", self._clock())
                await self.apply(request.id, over)
