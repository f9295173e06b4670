"""The PBX side of serving: every AMI action it sends, and the reading of the replies.

"Place this request" talks to Asterisk here (``originate_placeholder``); so do withdrawing,
hanging up, the screen-pop UserEvent, queue_log lines, the informative call and the queries
(QueueStatus, CoreShowChannels, DBGet) that reconciliation and placement read.
"""

import asyncio
import base64
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime

from panoramisk.message import Message

from agi_app.domain.affinity import RINGING, waits_for_preferred
from agi_app.domain.channel_ids import Leg, channel_id, parse_channel_id
from agi_app.domain.language import channel_language
from agi_app.domain.numbers import NumberRules
from agi_app.domain.priority import queue_prio
from agi_app.domain.request import CallbackRequest
from agi_app.domain.screen_pop import screen_pop_fields
from agi_app.pbx.ami import AmiError, AmiLink, Fields, PbxUnavailable, originate_variables
from agi_app.serving.config import Dialing

log = logging.getLogger(__name__)

# Queue member Status values of a member that can take a call now (unknown, not in use,
# ringing): the rest are in use, busy, unavailable or invalid.
_FREE_MEMBER_STATUS = frozenset({"0", "1", "6"})


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _screen_pop_variables(request: CallbackRequest) -> dict[str, object]:
    """What [callback-agent-predial] puts in the agent's screen-pop headers (inherited by the
    agent's channel: __), the caller name base64 encoded (it may hold commas and quotes)."""
    return {
        "__CB_ID": request.id,
        "__CB_CALLER_NAME_B64": _b64(request.caller_name),
        "__CB_CALLER_NUMBER": request.caller_number,
        "__CB_CALLBACK_NUMBER": request.callback_number,
        "__CB_EXTENSION": request.extension or "",
        "__CB_REQUESTED_AT": request.requested_at.isoformat(),
        "__CB_QUEUE": request.queue,
        "__CB_DIALED_NUMBER": request.dialed_number,
        "__CB_PRIORITY": request.priority,
    }


def _language(request: CallbackRequest) -> list[str]:
    """The customer's channel in the caller's language (an Originate Variable naming a
    function writes it: pbx_builtin_setvar_helper), so every prompt played to it is looked
    up there first; none kept, the pstn endpoint's language (or Asterisk's default)."""
    language = channel_language(request.language)  # checked again: it came from the store
    return [f"CHANNEL(language)={language}"] if language else []


class Pbx:
    def __init__(
        self,
        ami: AmiLink,
        dialing: Dialing,
        rules: NumberRules,  # the destination policy: which dialed number may be presented
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        leads: Callable[[], bool] = lambda: True,
    ) -> None:
        self.ami = ami
        self._dialing = dialing
        self._rules = rules
        self._clock = clock
        self._leads = leads

    def caller_id(self, request: CallbackRequest) -> str:
        """Who the customer sees calling: the number they called, if it may be presented."""
        return self._dialing.presentation.caller_id(request, self._rules)

    def _may_dial(self, request: CallbackRequest) -> None:
        """Asked right before an Originate, the one action the store cannot fence: a process
        not confirmed as the serving one lately (frozen, cut off) waits, not charged."""
        if not self._leads():
            raise PbxUnavailable(f"not confirmed as the serving process; {request.id} waits")

    @property
    def events(self) -> asyncio.Queue[Message]:
        return self.ami.events

    @property
    def booted(self) -> asyncio.Event:
        """Set while Asterisk has booted (FullyBooted) and is not shutting down."""
        return self.ami.booted

    @property
    def healthy(self) -> bool:
        """Logged in to an Asterisk that has booted: a refusal now is the request's fault."""
        return self.ami.healthy

    # ---- readiness ----------------------------------------------------------------------
    async def until_booted(self, within: float = 30.0) -> None:
        """Right after a start, AMI answers before Asterisk has loaded everything: placements
        then fail or join late. FullyBooted (sent at login once booted) says it is ready."""
        try:
            async with asyncio.timeout(within):
                await self.ami.booted.wait()
        except TimeoutError:
            if not self.ami.ready.is_set():
                raise PbxUnavailable("AMI lost before Asterisk booted") from None
            log.warning(
                "no FullyBooted from Asterisk within %ss (does the AMI account read 'system'?);"
                " going on once app_queue answers",
                within,
            )
            self.ami.booted.set()

    async def until_queues_answer(self, within: float = 30.0) -> None:
        """Right after Asterisk starts, AMI logs in before app_queue answers: wait for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                await self.ami.send_list({"Action": "QueueStatus", "Queue": "-"}, timeout=1.0)
                return
            except AmiError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    # ---- queries --------------------------------------------------------------------------
    async def queue_status(self, queue: str) -> list[Message]:
        return await self.ami.send_list({"Action": "QueueStatus", "Queue": queue})

    async def queued_uniqueids(self, queues: Iterable[str]) -> set[str]:
        """The uniqueids of every call waiting in ``queues``."""
        return {
            str(entry.get("Uniqueid"))
            for queue in set(queues)
            for entry in await self.queue_status(queue)
            if entry.get("Event") == "QueueEntry"
        }

    async def placeholders_queued(self) -> dict[str, str]:
        """Every callback placeholder waiting in any queue: uniqueid -> channel. Not a
        customer called first who waits there: a person on the line, never a stray."""
        found: dict[str, str] = {}
        for entry in await self.ami.send_list({"Action": "QueueStatus"}):
            ref = parse_channel_id(str(entry.get("Uniqueid", "")))
            if entry.get("Event") == "QueueEntry" and ref and ref.leg is Leg.PLACEHOLDER:
                found[str(entry.get("Uniqueid"))] = str(entry.get("Channel", ""))
        return found

    async def channels(self) -> dict[str, Message]:
        """The channels up now, by uniqueid."""
        return {
            str(m.get("Uniqueid")): m
            for m in await self.ami.send_list({"Action": "CoreShowChannels"})
            if m.get("Event") == "CoreShowChannel"
        }

    async def available_members(self, queue: str) -> set[str]:
        """The members of ``queue`` able to take a call now (not paused, not busy)."""
        return {
            str(m.get("StateInterface") or m.get("Location"))
            for m in await self.queue_status(queue)
            if m.get("Event") == "QueueMember"
            and m.get("Paused") == "0"
            and m.get("Status") in _FREE_MEMBER_STATUS
        }

    async def leg_record(self, request_id: str) -> list[str] | None:
        """How the customer leg went, as the dialplan kept it in AstDB:
        attempt|dialed at|DIALSTATUS|seconds answered|ended at."""
        try:
            messages = await self.ami.send_list(
                {"Action": "DBGet", "Family": "callback", "Key": request_id}
            )
        except AmiError:
            return None
        for message in messages:
            if message.get("Event") == "DBGetResponse":
                parts = str(message.get("Val", "")).split("|")
                return parts if len(parts) == 5 else None
        return None

    async def placeholder_channel(self, request: CallbackRequest) -> str | None:
        placeholder = channel_id(request.id, request.attempt, Leg.PLACEHOLDER)
        for entry in await self.queue_status(request.queue):
            if entry.get("Event") == "QueueEntry" and entry.get("Uniqueid") == placeholder:
                return str(entry.get("Channel"))
        log.warning("callback %s: placeholder not in queue %s", request.id, request.queue)
        return None

    # ---- actions --------------------------------------------------------------------------
    def _agent_first_variables(self, request: CallbackRequest) -> dict[str, object]:
        """What the ;1 half's [callback-customer] reads once an agent answered (a placeholder,
        or the preferred agent's own leg), and the agent's screen-pop."""
        s = self._dialing
        return {
            **_screen_pop_variables(request),
            "CB_ATTEMPT": request.attempt,
            "CB_RING_SECONDS": s.customer_ring_seconds,
            "CB_DIAL_OPTIONS": f"D(ww{request.extension})" if request.extension else "",
            # Machine detection: AMD()'s parameters, for [callback-amd] on the customer's
            # channel (inherited there: __); none, no detection.
            "__CB_AMD_ARGS": s.amd_text if request.amd else "",
            "__CB_AMD_LEG": channel_id(request.id, request.attempt, Leg.CUSTOMER),
            "CB_OUTBOUND_CALLERID_B64": _b64(self.caller_id(request)),
            "CB_MESSAGE": s.message_file(request),  # the agent hears it before the dial
        }

    async def originate_placeholder(self, request: CallbackRequest, position: int) -> None:
        """Put the request's placeholder into its queue at ``position`` and priority."""
        remaining = math.ceil((request.expires_at - self._clock()).total_seconds())
        variables = originate_variables(
            {
                **self._agent_first_variables(request),
                "CB_MODE": request.mode.value,
                # Rung by no member (customer first; a preferred agent's turn to come).
                "CB_HOLD": "yes" if waits_for_preferred(request) else "",
                "QUEUE_PRIO": queue_prio(request.priority),
                "CB_POSITION": position,
                "CB_TIMEOUT": max(1, remaining),
            }
        )
        fields: Fields = {
            "Action": "Originate",
            "Channel": "Local/s@callback-placeholder/n",
            "Context": "callback-customer",
            "Exten": "s",
            "Priority": "1",
            # Backstop only: Queue()'s own timeout ends the wait at max_wait.
            "Timeout": str((max(1, remaining) + 300) * 1000),
            "ChannelId": channel_id(request.id, request.attempt, Leg.CUSTOMER),
            "OtherChannelId": channel_id(request.id, request.attempt, Leg.PLACEHOLDER),
            "Variable": variables,
            "Async": "true",
        }
        self._may_dial(request)
        await self.ami.send(fields)
        log.info(
            "callback %s placed: queue=%s position=%s priority=%s attempt=%s",
            request.id,
            request.queue,
            position,
            request.priority,
            request.attempt,
        )

    async def ring_preferred(self, request: CallbackRequest, agent: str, seconds: int) -> None:
        """Agent affinity: ring ``agent`` alone for ``seconds`` ([callback-preferred]: a Local
        channel as a placeholder's, its ;2 half dialing the agent instead of queueing); once
        they answer, the ;1 half dials the customer as in agent first."""
        variables = originate_variables(
            {**self._agent_first_variables(request), "CB_AGENT": agent, "CB_AGENT_RING": seconds}
        )
        self._may_dial(request)
        await self.ami.send(
            {
                "Action": "Originate",
                "Channel": "Local/s@callback-preferred/n",
                "Context": "callback-customer",
                "Exten": "s",
                "Priority": "1",
                "Timeout": str((seconds + 30) * 1000),  # backstop: Dial()'s timeout ends it
                "ChannelId": channel_id(request.id, request.attempt, Leg.CUSTOMER),
                "OtherChannelId": channel_id(request.id, request.attempt, Leg.AGENT),
                "Variable": variables,
                "Async": "true",
            }
        )
        log.info("callback %s: ringing its preferred agent %s alone", request.id, agent)

    async def call_customer(self, request: CallbackRequest) -> None:
        """Customer first: call the customer now, into [callback-customer-first] (AMD, the
        human check, then the queue at the head of their level); no agent is rung."""
        s = self._dialing
        leg = channel_id(request.id, request.attempt, Leg.CALLED)
        variables = originate_variables(
            {
                **_screen_pop_variables(request),
                "CB_ATTEMPT": request.attempt,
                "QUEUE_PRIO": queue_prio(request.priority),
                "CB_AMD_ARGS": s.amd_text,
                "CB_AMD_LEG": leg,
                "CB_GREETING": request.greeting,
                "CB_MACHINE_MESSAGE": request.machine_message,
                "CB_MESSAGE": s.message_file(request),  # the agent hears it on answering
            }
        ) + _language(request)
        self._may_dial(request)
        await self.ami.send(
            {
                "Action": "Originate",
                "Channel": f"PJSIP/{request.callback_number}@pstn",
                "Context": "callback-customer-first",
                "Exten": "s",
                "Priority": "1",
                "CallerID": self.caller_id(request),
                "Timeout": str(s.customer_ring_seconds * 1000),
                "ChannelId": leg,
                "Variable": variables,
                "Async": "true",
            }
        )
        log.info("callback %s: calling the customer first (%s)", request.id, leg)

    async def screen_pop(self, request: CallbackRequest, agent: str) -> None:
        fields = {k: str(v) for k, v in screen_pop_fields(request, agent).items()}
        await self.ami.send({"Action": "UserEvent", "UserEvent": "CallbackScreenPop", **fields})

    async def hangup(self, channel: str) -> None:
        try:
            await self.ami.send({"Action": "Hangup", "Channel": channel})
        except AmiError as exc:
            log.warning("hangup %s failed: %s", channel, exc)

    async def unplace(self, request: CallbackRequest) -> None:
        """Take its placeholder out of the queue (hang it up); while its preferred agent
        rings, that ring too, and the placeholder is the attempt's before."""
        if request.affinity == RINGING:
            ring = (await self.channels()).get(channel_id(request.id, request.attempt, Leg.AGENT))
            if ring is not None:
                await self.hangup(str(ring.get("Channel")))
            request = replace(request, attempt=request.attempt - 1)
        channel = await self.placeholder_channel(request)
        if channel:
            await self.hangup(channel)

    async def withdraw(self, request: CallbackRequest) -> None:
        """Every available agent declined: its Queue() returns WITHDRAW."""
        channel = await self.placeholder_channel(request)
        if channel is None:
            return
        try:
            await self.ami.send(
                {
                    "Action": "QueueWithdrawCaller",
                    "Queue": request.queue,
                    "Caller": channel,
                    "WithdrawInfo": "declined",
                }
            )
        except PbxUnavailable:
            raise
        except AmiError as exc:
            # The request is done: its placeholder must not stay where an agent could take
            # it (the customer would be dialed for a request that is over).
            log.warning("callback %s: withdraw refused (%s); hanging up instead", request.id, exc)
            await self.hangup(channel)
            return
        log.info("callback %s withdrawn: every available agent declined", request.id)

    async def queue_log(self, request: CallbackRequest, event: str, message: str) -> None:
        """The same story in Asterisk's queue_log, for standard queue reports."""
        try:
            await self.ami.send(
                {
                    "Action": "QueueLog",
                    "Queue": request.queue,
                    "Event": event,
                    "Uniqueid": request.channel,
                    "Interface": request.agent or "NONE",
                    "Message": message,
                }
            )
        except AmiError as exc:
            log.debug("queue_log %s for %s skipped: %s", event, request.id, exc)

    async def inform(self, request: CallbackRequest, prompt: str) -> None:
        """Call the customer and play ``prompt`` (the destination policy is checked before)."""
        s = self._dialing
        self._may_dial(request)
        fields: Fields = {
            "Action": "Originate",
            "Channel": f"PJSIP/{request.callback_number}@pstn",
            "Application": "Playback",
            "Data": prompt,
            "CallerID": self.caller_id(request),
            "Timeout": str(s.customer_ring_seconds * 1000),
            "ChannelId": channel_id(request.id, request.attempt, Leg.INFORM),
            "Async": "true",
        }
        if variables := _language(request):
            fields["Variable"] = variables
        await self.ami.send(fields)
        log.info("callback %s: informing %s (%s)", request.id, request.callback_number, prompt)
