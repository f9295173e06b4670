"""AMI events -> domain events: one table, ``HANDLERS``, from event name to its handler.

One task consumes AMI events in order and applies each to its request through the unit of
work, so a request's transitions never interleave. "An agent declined" is
``AmiEvents.agent_ring_no_answer``; "a live caller was answered", which cancels the callbacks
of their number still waiting in that queue (no stale duplicate), is
``AmiEvents.live_caller_answered``.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from panoramisk.message import Message

from agi_app.domain import lifecycle as lc
from agi_app.domain.channel_ids import ChannelRef, Leg, parse_channel_id
from agi_app.domain.errors import CallbackError, StoreUnavailable
from agi_app.domain.numbers import NumberRules, is_withheld, normalize_caller_number
from agi_app.domain.options import Mode
from agi_app.domain.request import WAITING_STATES, State
from agi_app.pbx.event_filters import AMD_RESULT, HUMAN_CHECK, QUEUE_RESULT
from agi_app.serving.backoff import Retry
from agi_app.serving.missed_calls import MissedCalls
from agi_app.serving.pbx import Pbx
from agi_app.serving.placer import Placer
from agi_app.serving.queue_calls import JoinTimes
from agi_app.serving.unit_of_work import UnitOfWork
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

_EVENT_TRIES = 5  # an event that fails for a reason other than the store, then dropped
# The channels of a request that wait in a queue for an agent: its placeholder, and in
# customer first the customer who pressed 1.
_IN_QUEUE = (Leg.PLACEHOLDER, Leg.CALLED)
# OriginateResponse's Reason (the outgoing channel's last state) as Dial would say it.
_ORIGINATE_REASONS = {"3": "NOANSWER", "5": "BUSY", "8": "CONGESTION"}


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
    rules: NumberRules  # a live caller's number read as the requests' numbers were
    missed_calls: MissedCalls | None = None  # missed calls called back (opt-in per queue)

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
        elif ref.leg is Leg.CALLED:  # customer first: the customer, having pressed 1
            await self.unit_of_work.apply(ref.request_id, lc.CustomerJoined(ref.attempt, now))

    async def caller_abandoned(self, message: Message) -> None:
        """QueueCallerAbandon: a live caller hung up while waiting (missed calls called back);
        a placeholder hung up is ours, and says nothing here."""
        if _ref(message) is None and self.missed_calls is not None:
            await self.missed_calls.abandoned(message)

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
        elif name == HUMAN_CHECK:
            await self.human_check(message)

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
        if ref is not None and ref.leg in (Leg.CUSTOMER, Leg.CALLED):
            status, cause = str(message.get("Status", "")), str(message.get("Cause", ""))
            event = lc.AmdVerdict(ref.attempt, status, cause, self.clock())
            await self.unit_of_work.apply(ref.request_id, event)

    async def human_check(self, message: Message) -> None:
        """UserEvent CallbackHumanCheck: customer first, the customer's key at "press 1"."""
        ref = parse_channel_id(str(message.get("Leg", "")))
        if ref is not None and ref.leg is Leg.CALLED:
            event = lc.HumanCheck(ref.attempt, str(message.get("Key", "")), self.clock())
            await self.unit_of_work.apply(ref.request_id, event)

    # ---- the agent ----------------------------------------------------------------------------
    async def agent_called(self, message: Message) -> None:
        """AgentCalled: an agent's phone rings for a placeholder, or for a customer called first
        who joined the queue (the screen-pop follows)."""
        ref = _ref(message)
        if ref is not None and ref.leg in _IN_QUEUE:
            event = lc.Offered(ref.attempt, _agent(message), self.clock())
            await self.unit_of_work.apply(ref.request_id, event)

    async def agent_ring_no_answer(self, message: Message) -> None:
        """AgentRingNoAnswer: an agent declined (rejected or let it ring out). When every
        available member has, the lifecycle withdraws the placeholder."""
        ref = _ref(message)
        if ref is None or ref.leg not in _IN_QUEUE:
            return
        available = await self.pbx.available_members(str(message.get("Queue", "")))
        event = lc.Declined(ref.attempt, _agent(message), frozenset(available), self.clock())
        await self.unit_of_work.apply(ref.request_id, event)

    async def agent_connect(self, message: Message) -> None:
        """AgentConnect: the agent answered a placeholder (the dialplan now dials the
        customer) or a live caller."""
        ref = _ref(message)
        if ref is None:
            await self.live_caller_answered(message)
        elif ref.leg in _IN_QUEUE:  # customer first: the agent talks to the customer who waited
            event = lc.AgentAnswered(ref.attempt, _agent(message), self.clock())
            await self.unit_of_work.apply(ref.request_id, event)

    async def live_caller_answered(self, message: Message) -> None:
        """AgentConnect of a live caller (CallerIDNum, Queue, Uniqueid: the caller's): their
        number reached an agent of that queue, so its callbacks still waiting there for an
        agent are stale duplicates: each with cancel_on_live_answer is cancelled (its
        placeholder leaves the queue) and never dialed. One being served goes on."""
        raw, queue = str(message.get("CallerIDNum", "")), str(message.get("Queue", ""))
        if is_withheld(raw) or not queue:
            return
        try:
            number = normalize_caller_number(raw, self.rules)
        except CallbackError:
            return  # not a phone number: no request has it
        uniqueid, agent = str(message.get("Uniqueid", "")), _agent(message)
        by = f"answered as a live call: {uniqueid} by {agent}"
        for request in await self.store.active_for(number, queue):
            if request.state in WAITING_STATES and request.cancel_on_live_answer:
                await self.unit_of_work.apply(request.id, lc.Cancelled(by, self.clock()))
                self.placer.cancelled(request.id)

    # ---- the customer leg ---------------------------------------------------------------------
    async def dial_begin(self, message: Message) -> None:
        ref = _ref(message)
        if ref is not None and ref.leg is Leg.CUSTOMER:
            await self.unit_of_work.apply(
                ref.request_id, lc.CustomerDialed(ref.attempt, self.clock())
            )

    async def dial_end(self, message: Message) -> None:
        ref = _ref(message)
        if ref is not None and ref.leg is Leg.AGENT:
            await self.preferred_dial_end(ref, str(message.get("DialStatus", "")))
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

    async def preferred_dial_end(self, ref: ChannelRef, status: str) -> None:
        """DialEnd of the preferred agent's leg (agent affinity): answered, the customer is
        dialed next; else any agent may take it, at its place."""
        now = self.clock()
        if status == "ANSWER":
            request = await self.store.get(ref.request_id)
            agent = (request and request.agent) or ""
            event: lc.Event = lc.AgentAnswered(ref.attempt, agent, now)
        else:
            event = lc.AffinityOver(ref.attempt, f"the preferred agent: {status}", now)
        await self.unit_of_work.apply(ref.request_id, event)

    async def hangup(self, message: Message) -> None:
        """Hangup: the customer leg ended the call; a placeholder gone lost its place. In
        customer first the call is the customer's own channel: the placeholder's Local half
        (its customer leg in agent first) ends with the placeholder, and says nothing."""
        ref = _ref(message)
        if ref is None:
            return
        now = self.clock()
        if ref.leg is Leg.CUSTOMER:
            request = await self.store.get(ref.request_id)
            if request is not None and request.mode is not Mode.CUSTOMER_FIRST:
                await self.unit_of_work.apply(ref.request_id, lc.CallEnded(ref.attempt, now))
        elif ref.leg is Leg.CALLED:
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
        elif ref.leg is Leg.CALLED:  # customer first: answered, or why not
            now = self.clock()
            if message.get("Response") == "Success":
                await self.unit_of_work.apply(ref.request_id, lc.CustomerAnswered(ref.attempt, now))
            else:
                status = _ORIGINATE_REASONS.get(str(message.get("Reason", "")), "CHANUNAVAIL")
                unreached = lc.CustomerUnreached(ref.attempt, status, now)
                await self.unit_of_work.apply(ref.request_id, unreached)
        elif ref.leg is Leg.CUSTOMER and message.get("Response") == "Failure":
            # The placeholder could not be made, or ended without an agent.
            event = lc.PlaceholderLost(ref.attempt, self.clock())
            await self.unit_of_work.apply(ref.request_id, event)


Handler = Callable[[AmiEvents, Message], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    "QueueCallerJoin": AmiEvents.caller_joined,
    "QueueCallerLeave": AmiEvents.caller_left,
    "QueueCallerAbandon": AmiEvents.caller_abandoned,
    "UserEvent": AmiEvents.user_event,
    "AgentCalled": AmiEvents.agent_called,
    "AgentRingNoAnswer": AmiEvents.agent_ring_no_answer,  # an agent declined
    "AgentConnect": AmiEvents.agent_connect,
    "DialBegin": AmiEvents.dial_begin,
    "DialEnd": AmiEvents.dial_end,
    "Hangup": AmiEvents.hangup,
    "OriginateResponse": AmiEvents.originate_response,
}
