"""The web's read models: the Live view's list of waiting callbacks, the agents' screen-pops."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agi_app.domain.channel_ids import Leg, channel_id
from agi_app.domain.placement import HeldRequests, QueueOrder
from agi_app.domain.request import WAITING_STATES, State, last_call_verdict
from agi_app.domain.screen_pop import screen_pop_fields
from agi_app.pbx.ami import AmiError
from agi_app.serving.notifier import Notifier
from agi_app.serving.pbx import Pbx
from agi_app.serving.queue_calls import JoinTimes, queued_calls
from agi_app.store.port import RequestStore


@dataclass
class Views:
    store: RequestStore
    pbx: Pbx
    held: HeldRequests
    notifier: Notifier
    join_times: JoinTimes
    clock: Callable[[], datetime]

    async def live_view(self) -> list[dict[str, object]]:
        """The requests not yet served, with their live place in the queue; in customer
        first also those whose customer is being called or waits on the line."""
        waiting = await self.store.requests(*WAITING_STATES, State.CALLING, State.QUEUED)
        in_asterisk: dict[str, int] = {}  # placeholder uniqueid -> its position in the queue
        in_store: dict[str, int] = {}  # held request id -> its true position
        for queue in {r.queue for r in waiting}:
            try:
                entries = await self.pbx.queue_status(queue)
            except AmiError:
                continue
            for entry in entries:
                if entry.get("Event") == "QueueEntry":
                    in_asterisk[str(entry.get("Uniqueid"))] = int(str(entry.get("Position", "0")))
            if held := self.held.ranks(queue):  # behind the calls and held requests ahead
                calls = queued_calls(entries, waiting, self.join_times, self.clock())
                order = QueueOrder(calls)
                in_store.update(
                    {r.id: order.position(r) + held[r.id] for r in waiting if r.id in held}
                )
        now = self.clock()
        return [
            {
                "id": r.id,
                "queue": r.queue,
                "position": in_asterisk.get(channel_id(r.id, r.attempt, Leg.PLACEHOLDER))
                or in_asterisk.get(channel_id(r.id, r.attempt, Leg.CALLED))
                or in_store.get(r.id),
                "held": r.id in self.held,
                "priority": r.priority,
                "waited_seconds": int((now - r.queue_entered_at).total_seconds()),
                "destination": r.callback_number + (f" ext {r.extension}" if r.extension else ""),
                "caller_name": r.caller_name,
                "caller_number": r.caller_number,
                "requested_at": r.requested_at.isoformat(),
                "dialed_number": r.dialed_number,
                "state": r.state.value,
                "agent": r.agent,
                # Held in the store until then: a retry's interval, or the next opening.
                "not_before": r.not_before.isoformat() if r.not_before else None,
                "customer_attempts": r.customer_attempts,
                "scheduled_for": r.scheduled_for.isoformat() if r.scheduled_for else None,
                # Who is called first, and machine detection's verdict and the human
                # check's key on the last call ("" before any).
                "mode": r.mode.value,
                "amd_status": r.amd_status,
                "customer_key": r.customer_key,
                "verdict": last_call_verdict(r),
                "message": bool(r.message),  # a voice message to play
                "language": r.language,  # the caller's: the customer hears it ("" default)
                "preferred_agent": r.preferred_agent,  # offered first ("" none; "last")
            }
            for r in waiting
        ]

    async def screen_pop_view(self) -> dict[str, dict[str, object]]:
        """Agent interface -> the screen-pop its phone rings (or talks) for."""
        pops: dict[str, dict[str, object]] = {}
        for agent, request_id in list(self.notifier.screen_pops.items()):
            request = await self.store.get(request_id)
            if request is not None:
                pops[agent] = screen_pop_fields(request, agent)
        return pops

    async def wrap_up_view(self) -> dict[str, dict[str, object]]:
        """Agent interface -> the callback it talked on last and has no wrap-up code for."""
        ended: dict[str, dict[str, object]] = {}
        for agent, request_id in list(self.notifier.wrap_ups.items()):
            request = await self.store.get(request_id)
            if request is not None and not request.disposition:
                ended[agent] = {
                    "RequestId": request.id,
                    "CallerName": request.caller_name,
                    "CallbackNumber": request.callback_number,
                    "Queue": request.queue,
                    "EndedAt": (request.customer_ended_at or request.requested_at).isoformat(),
                }
        return ended
