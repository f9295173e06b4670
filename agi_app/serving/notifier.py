"""Who hears about a change: watchers (the Live view), agents' screen-pops, metrics and
Asterisk's queue_log."""

import asyncio
from collections.abc import Callable
from datetime import datetime

from agi_app.domain.request import CallbackRequest, State
from agi_app.serving.metrics import Metrics
from agi_app.serving.pbx import Pbx


class Notifier:
    def __init__(self, pbx: Pbx, metrics: Metrics) -> None:
        self._pbx = pbx
        self.metrics = metrics
        # Watchers wait on this; it is replaced after each change.
        self.changed = asyncio.Event()
        self.listeners: list[Callable[[], None]] = []  # told of each change (ServingSet)
        # What each agent's phone is ringing for right now: agent interface -> request id.
        self.screen_pops: dict[str, str] = {}
        # The callback each agent last talked on and has not given a wrap-up code yet:
        # agent interface -> request id (the agent panel offers the codes for it).
        self.wrap_ups: dict[str, str] = {}

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()
        for listener in self.listeners:
            listener()

    async def stored(self, request: CallbackRequest) -> None:
        """A new request was stored."""
        self.metrics.stored(request)
        self.notify()
        await self._pbx.queue_log(request, "CALLBACKREQUEST", request.callback_number)

    def saved(self, before: CallbackRequest, after: CallbackRequest, at: datetime) -> None:
        """A request changed (called under the unit of work's lock, so in order)."""
        self.metrics.changed(before, after, at)
        self._track_screen_pop(before, after)
        self._track_wrap_up(before, after)
        self.notify()

    async def queue_logged(self, before: CallbackRequest, after: CallbackRequest) -> None:
        """The change in queue_log terms: queued in Asterisk, or done with its outcomes."""
        if after.state is State.DONE:
            await self._pbx.queue_log(
                after, "CALLBACKDONE", f"{after.call_outcome}|{after.contact_outcome}"
            )
        elif after.state is State.WAITING and before.state is State.PENDING:
            await self._pbx.queue_log(after, "CALLBACKQUEUED", str(after.priority))

    def held(self, counts: dict[str, int]) -> None:
        """How many requests each queue holds beyond the placement window."""
        self.metrics.held_counts(counts)

    def recount(self, waiting: list[CallbackRequest]) -> None:
        self.metrics.recount(waiting)

    def _track_screen_pop(self, before: CallbackRequest, after: CallbackRequest) -> None:
        # Shown while the agent's phone rings and the call lasts; cleared when it is over.
        ringing = after.state is State.OFFERED or (  # customer first: the customer waits
            after.state is State.QUEUED and after.agent != before.agent
        )
        if ringing and after.agent:
            self.screen_pops[after.agent] = after.id
        ended = after.agent != before.agent or after.state is State.DONE
        if before.agent and ended and self.screen_pops.get(before.agent) == after.id:
            del self.screen_pops[before.agent]

    def _track_wrap_up(self, before: CallbackRequest, after: CallbackRequest) -> None:
        # An agent who answered, once the call is over, until they give its code.
        if after.disposition and self.wrap_ups.get(after.agent or "") == after.id:
            del self.wrap_ups[after.agent or ""]
        elif (
            after.state is State.DONE
            and before.state is not State.DONE
            and after.agent
            and after.agent_answered_at is not None
            and not after.disposition
        ):
            self.wrap_ups[after.agent] = after.id
