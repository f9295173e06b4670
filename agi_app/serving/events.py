"""AMI events -> domain events: one table, ``HANDLERS``, from event name to its handler.

One task consumes AMI events in order and applies each to its request through the unit of
work, so a request's transitions never interleave. "An agent declined" is
``AmiEvents.agent_ring_no_answer``.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from panoramisk.message import Message

from agi_app.domain import lifecycle as lc
from agi_app.domain.channel_ids import ChannelRef, Leg, parse_channel_id
from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.request import State
from agi_app.pbx.event_filters import AMD_RESULT, QUEUE_RESULT
from agi_app.serving.backoff import Retry
from agi_app.serving.pbx import Pbx
from agi_app.serving.placer import Placer
from agi_app.serving.queue_calls import JoinTimes
from agi_app.serving.unit_of_work import UnitOfWork
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

_EVENT_TRIES = 5  # an event that fails for a reason other than the store, then dropped


def _ref(message: Message) -> ChannelRef | None:
    """Which request, attempt and leg a channel's uniqueid belongs to (None: not ours)."""
    return parse_channel_id(str(message.get("Uniqueid", "")))


def _agent(message: Message) -> str:
    return str(message.get("Interface") or message.get("MemberName", ""))


@dataclass
class AmiEvents:
    store: RequestStore
    pbx: Pbx
    unit_of_work: UnitOfWork
    placer: Placer
    join_times: JoinTimes
    clock: Callable[[], datetime]

    async def consume(self) -> None:
        """Apply every AMI event, in order, until cancelled."""
        while True:
            message = await self.pbx.events.get()
            handler = HANDLERS.get(str(message.get("Event", "")))
            if handler is not None:
                await self._handle(handler, message)

    async def _handle(self, handler: "Handler", message: Message) -> None:
        """Apply one event, waiting out a store that refuses (locked, full): the events
        behind it queue up rather than overtake it. Applying twice is harmless (a repeated
        event changes nothing). Any other error is retried a few times, then dropped."""
        name = message.get("Event")
        retry = Retry(f"serving {name} failed", log, expected=(StoreUnavailable,))
        try:
            await retry.until_passed(lambda: handler(self, message), bug_tries=_EVENT_TRIES)
        except Exception:
            log.exception("serving %s failed %s times; event dropped", name, retry.failures + 1)

    # ---- the queue --------------------------------------------------------------------------
    async def caller_joined(self, message: Message) -> None:
        """QueueCallerJoin: a live caller (its entry time is kept) or one of our placeholders."""
        now = self.clock()
        ref = _ref(message)
        if ref is None:
            self.join_times.record(str(message.get("Uniqueid", "")), now)
        elif ref.leg is Leg.PLACEHOLDER:
            request = await self.store.get(ref.request_id)
            if request is None or request.attempt != ref.attempt or request.state is State.DONE:
                # A placeholder nobody waits for (a superseded attempt): it must not be served.
                log.warning(
                    "hanging up stray placeholder %s (request at attempt %s, %s)",
                    message.get("Uniqueid"),
                    request and request.attempt,
                    request and request.state,
                )
                await self.pbx.hangup(str(message.get("Channel", "")))
                return
            await self.unit_of_work.apply(ref.request_id, lc.Joined(ref.attempt, now))

    async def caller_left(self, message: Message) -> None:
        """QueueCallerLeave: a place opened, the first held request of that queue may come in."""
        self.placer.room_opened(str(message.get("Queue", "")))

    async def user_event(self, message: Message) -> None:
        """The component's UserEvents (agi_app/pbx/event_filters.py USER_EVENTS)."""
        name = message.get("UserEvent")
        if name == QUEUE_RESULT:
            await self.queue_result(message)
        elif name == AMD_RESULT:
            await self.amd_result(message)

    async def queue_result(self, message: Message) -> None:
        """UserEvent CallbackQueueResult: the placeholder's Queue() returned without an agent
        (TIMEOUT: max wait reached; WITHDRAW: every available agent declined)."""
        ref = _ref(message)
        if ref is not None and ref.leg is Leg.PLACEHOLDER:
            status = str(message.get("Status", ""))
            await self.unit_of_work.apply(
                ref.request_id, lc.LeftQueue(ref.attempt, status, self.clock())
            )

    async def amd_result(self, message: Message) -> None:
        """UserEvent CallbackAmd: AMD()'s verdict on the customer's answer (amd=yes), sent
        from the customer's channel, which names the request's leg in its Leg header."""
        ref = parse_channel_id(str(message.get("Leg", "")))
        if ref is not None and ref.leg is Leg.CUSTOMER:
            status, cause = str(message.get("Status", "")), str(message.get("Cause", ""))
            event = lc.AmdVerdict(ref.attempt, status, cause, self.clock())
            await self.unit_of_work.apply(ref.request_id, event)

    # ---- the agent ----------------------------------------------------------------------------
    async def agent_called(self, message: Message) -> None:
        """AgentCalled: an agent's phone rings for a placeholder (the screen-pop follows)."""
        ref = _ref(message)
        if ref is not None and ref.leg is Leg.PLACEHOLDER:
            event = lc.Offered(ref.attempt, _agent(message), self.clock())
            await self.unit_of_work.apply(ref.request_id, event)

    async def agent_ring_no_answer(self, message: Message) -> None:
        """AgentRingNoAnswer: an agent declined (rejected or let it ring out). When every
        available member has, the lifecycle withdraws the placeholder."""
        ref = _ref(message)
        if ref is None or ref.leg is not Leg.PLACEHOLDER:
            return
        available = await self.pbx.available_members(str(message.get("Queue", "")))
        event = lc.Declined(ref.attempt, _agent(message), frozenset(available), self.clock())
        await self.unit_of_work.apply(ref.request_id, event)

    async def agent_connect(self, message: Message) -> None:
        """AgentConnect: the agent answered; the dialplan now dials the customer."""
        ref = _ref(message)
        if ref is not None and ref.leg is Leg.PLACEHOLDER:
            event = lc.AgentAnswered(ref.attempt, _agent(message), self.clock())
            await self.unit_of_work.apply(ref.request_id, event)

    # ---- the customer leg ---------------------------------------------------------------------
    async def dial_begin(self, message: Message) -> None:
        ref = _ref(message)
        if ref is not None and ref.leg is Leg.CUSTOMER:
            await self.unit_of_work.apply(
                ref.request_id, lc.CustomerDialed(ref.attempt, self.clock())
            )

    async def dial_end(self, message: Message) -> None:
        ref = _ref(message)
        if ref is None or ref.leg is not Leg.CUSTOMER:
            return
        status = str(message.get("DialStatus", ""))
        now = self.clock()
        if status == "ANSWER":
            await self.unit_of_work.apply(ref.request_id, lc.CustomerAnswered(ref.attempt, now))
        else:
            await self.unit_of_work.apply(
                ref.request_id, lc.CustomerUnreached(ref.attempt, status, now)
            )

    async def hangup(self, message: Message) -> None:
        """Hangup: the customer leg ended the call; a placeholder gone lost its place."""
        ref = _ref(message)
        if ref is None:
            return
        now = self.clock()
        if ref.leg is Leg.CUSTOMER:
            await self.unit_of_work.apply(ref.request_id, lc.CallEnded(ref.attempt, now))
        elif ref.leg is Leg.PLACEHOLDER:
            await self.unit_of_work.apply(ref.request_id, lc.PlaceholderLost(ref.attempt, now))

    async def originate_response(self, message: Message) -> None:
        ref = _ref(message)
        if ref is None:
            return
        if ref.leg is Leg.INFORM:
            log.info(
                "callback %s informative call: %s (reason %s)",
                ref.request_id,
                message.get("Response"),
                message.get("Reason"),
            )
        elif ref.leg is Leg.CUSTOMER and message.get("Response") == "Failure":
            # The placeholder could not be made, or ended without an agent.
            event = lc.PlaceholderLost(ref.attempt, self.clock())
            await self.unit_of_work.apply(ref.request_id, event)


Handler = Callable[[AmiEvents, Message], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    "QueueCallerJoin": AmiEvents.caller_joined,
    "QueueCallerLeave": AmiEvents.caller_left,
    "UserEvent": AmiEvents.user_event,
    "AgentCalled": AmiEvents.agent_called,
    "AgentRingNoAnswer": AmiEvents.agent_ring_no_answer,  # an agent declined
    "AgentConnect": AmiEvents.agent_connect,
    "DialBegin": AmiEvents.dial_begin,
    "DialEnd": AmiEvents.dial_end,
    "Hangup": AmiEvents.hangup,
    "OriginateResponse": AmiEvents.originate_response,
}
