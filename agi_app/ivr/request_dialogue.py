"""The Callback component's FastAGI handler: take the request, store it, then tell the caller.

The success prompt starts only after the request is committed; any refusal or failure plays
the error prompt instead. Either way the caller is hung up and one log line says what happened.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

from agi_app.config.calling_rules import CallingRules
from agi_app.config.voice_messages import VoiceMessages
from agi_app.domain.errors import CallbackError
from agi_app.domain.numbers import NumberRules
from agi_app.domain.options import ComponentOptions, Destination, error_prompt, parse_options
from agi_app.domain.request import (
    CallbackRequest,
    CallFacts,
    RateLimits,
    build_request,
    scheduled,
)
from agi_app.ivr.fastagi import AgiChannel, AgiHangup
from agi_app.ivr.readback import read_back
from agi_app.ivr.time_choice import ask_time
from agi_app.ivr.voice_message import ask_for_message, message_name
from agi_app.serving.calling_rules import SWEEP_EVERY_S, DoNotCallList
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

# What the channel knows of the queue. The component's [callback] sends it with the request,
# as its last AGI argument (FACTS_ARG=position|prio|wait): no round trip. From an older
# [callback] without it, one round trip asks for it; the queue name is validated by the
# options and the values are numeric, so "|" is a safe separator.
FACTS_ARG = "callback_facts"
_QUEUE_FACTS = "${{QUEUE_EXISTS({queue})}}|${{QUEUEPOSITION}}|${{QUEUE_PRIO}}|${{QUEUEWAIT}}"
_QUEUE_EXISTS = "${{QUEUE_EXISTS({queue})}}"


def split_facts(args: list[str]) -> tuple[list[str], list[str] | None]:
    """The options, and the facts the component sent with them (None: an older component)."""
    prefix = f"{FACTS_ARG}="
    facts = [a for a in args if a.startswith(prefix)]
    options = [a for a in args if not a.startswith(prefix)]
    return options, facts[-1].removeprefix(prefix).split("|") if facts else None


def _log_refusal(channel: str, exc: CallbackError) -> None:
    log.warning("callback refused channel=%s code=%s reason=%s", channel, exc.code, exc.message)


async def _cannot_tell(_queue: str) -> bool | None:
    return None


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


class RequestHandler:
    def __init__(
        self,
        store: RequestStore,
        rules: NumberRules,
        *,
        limits: RateLimits | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        joined_at: Callable[[str], datetime | None] = lambda _uniqueid: None,
        on_stored: Callable[[CallbackRequest], Awaitable[None]] | None = None,
        schedule_name: Callable[[str, str | None], str | None] | None = None,
        later_times: Callable[[str | None, datetime], tuple[list[datetime], str]] | None = None,
        messages: VoiceMessages | None = None,
        queue_known: Callable[[str], Awaitable[bool | None]] | None = None,
        calling_rules: CallingRules | None = None,
    ) -> None:
        # Calling rules: the do-not-call list (the settings' and the store's) and the
        # customer's hours of a flow without the option (its queue's).
        self._calling_rules = calling_rules or CallingRules()
        self._do_not_call = DoNotCallList(
            store, self._calling_rules.do_not_call, fresh_for_s=SWEEP_EVERY_S
        )
        self._store = store
        self._rules = rules
        self._limits = limits
        self._clock = clock
        self._new_id = new_id
        self._joined_at = joined_at
        self._on_stored = on_stored
        # Calling hours: the option's schedule or the queue's (Settings.schedule_name).
        self._schedule_name = schedule_name or (lambda _queue, option: option)
        # Scheduled callbacks: the later times to offer (Settings.later_times).
        self._later_times = later_times or (lambda _schedule, _now: ([], "UTC"))
        self._background: set[asyncio.Task[None]] = set()
        self._messages = messages or VoiceMessages()
        # Whether Asterisk has a queue, as serving knows it over AMI (None: cannot tell).
        self._queue_known = queue_known or _cannot_tell

    def set_policy(self, rules: NumberRules, limits: RateLimits | None) -> None:
        """New number rules and rate limits (a reload): the next session uses them."""
        self._rules, self._limits = rules, limits

    async def __call__(self, agi: AgiChannel) -> None:
        channel = agi.uniqueid
        args, sent = split_facts(agi.args)
        try:
            options = parse_options(args)
        except CallbackError as exc:
            _log_refusal(channel, exc)
            await self._finish(agi, error_prompt(args))
            return
        if options.offer is not None and not await self._caller_accepts(agi, options):
            log.info("callback declined channel=%s: caller stays on the line", channel)
            await agi.set_variable("CALLBACK_RESULT", "CONTINUE")
            return
        try:
            facts = await self._call_facts(agi, options, sent)
            request_id, now = self._new_id(), self._clock()
            schedule = self._schedule_name(options.queue, options.schedule)

            def build(number: str) -> CallbackRequest:
                typed = facts  # a copy only for another number (dataclasses.replace: ~15 us)
                if number != facts.destination_value:
                    typed = replace(facts, destination_value=number)
                return build_request(
                    typed, options, self._rules, request_id=request_id, now=now, schedule=schedule
                )

            request = build(facts.destination_value)
            if options.readback:  # the caller confirms the number, or types another
                request = await read_back(agi, facts.destination_value, build)
            if options.ask_time:  # as soon as possible, or a later time the caller chooses
                slots, zone = self._later_times(schedule, now)
                if (at := await ask_time(agi, slots, zone)) is not None:
                    request = scheduled(request, at)
            if options.message:  # recorded once stored, under this name
                request = replace(request, message=message_name(request.id))
            window = self._calling_rules.window_of(options.queue, options.customer_hours)
            if window != request.customer_hours:
                request = replace(request, customer_hours=window)
            await self._do_not_call.check(request.callback_number)
            stored = await self._store.add(request, self._limits)
        except CallbackError as exc:
            _log_refusal(channel, exc)
            await self._finish(agi, options.error)
            return
        except AgiHangup:
            raise  # the caller is gone: nothing to tell them
        except Exception:
            log.exception("callback failed channel=%s: unexpected error", channel)
            await self._finish(agi, options.error)
            return
        repeated = stored.id != request.id
        self._log_stored(stored, repeated=repeated)
        if self._on_stored is not None and not repeated:
            # Put the placeholder back while the caller hears the prompt.
            task = asyncio.ensure_future(self._on_stored(stored))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        if request.message and not repeated:  # what it is about, in the caller's words
            await ask_for_message(agi, options, self._messages.asterisk_dir, request.message)
        await self._finish(agi, options.success)

    async def _caller_accepts(self, agi: AgiChannel, options: ComponentOptions) -> bool:
        assert options.offer is not None
        digits = await agi.get_data(options.offer, options.offer_timeout * 1000, 1)
        return digits == options.key

    async def _queue_facts(
        self, agi: AgiChannel, queue: str, sent: list[str] | None
    ) -> tuple[bool, int | None, int | None, int | None]:
        """Whether the queue exists, the caller's position, QUEUE_PRIO and QUEUEWAIT: from
        the facts sent with the request and serving's knowledge of the queue when it can tell;
        else asked of the channel (one round trip)."""
        if sent is not None:
            position, prio, wait = (_int_or_none(p) for p in [*sent, "", "", ""][:3])
            known = await self._queue_known(queue)
            if known is None:  # no AMI here to ask: the channel's Asterisk tells
                known = await agi.get_full_variable(_QUEUE_EXISTS.format(queue=queue)) == "1"
            return known, position, prio, wait
        raw = await agi.get_full_variable(_QUEUE_FACTS.format(queue=queue)) or ""
        exists, position, prio, wait = (_int_or_none(p) for p in [*raw.split("|"), "", "", ""][:4])
        return exists == 1, position, prio, wait

    async def _call_facts(
        self, agi: AgiChannel, options: ComponentOptions, sent: list[str] | None
    ) -> CallFacts:
        env = agi.env
        exists, position, prio, wait = await self._queue_facts(agi, options.queue, sent)
        if options.offer is not None:  # an IVR step: not in the queue, whatever it says
            position = prio = wait = None
        variable = {
            Destination.NUMBER: options.number_var,
            Destination.EXTENSION: options.extension_var,
        }.get(options.destination)
        value = (await agi.get_variable(variable) or "") if variable else ""
        # Agent affinity: the flow's choice (a CRM lookup), validated by build_request.
        preferred_var = options.preferred_agent_var
        preferred = (await agi.get_variable(preferred_var) or "") if preferred_var else ""
        return CallFacts(
            channel=agi.uniqueid,
            queue_exists=exists,
            caller_number=env.get("agi_callerid", ""),
            caller_name=env.get("agi_calleridname", ""),
            presentation=env.get("agi_callingpres", ""),
            dialed_number=env.get("agi_dnid", "") if env.get("agi_dnid") != "unknown" else "",
            destination_value=value,
            preferred_agent_value=preferred,
            queue_position=position,
            queue_prio=prio,
            queue_wait=wait,
            queue_entered_at=self._joined_at(agi.uniqueid) if position is not None else None,
            language=env.get("agi_language", ""),
        )

    @staticmethod
    def _log_stored(request: CallbackRequest, *, repeated: bool) -> None:
        log.info(
            "callback %s id=%s channel=%s queue=%s priority=%s position=%s number=%s extension=%s",
            "already stored" if repeated else "stored",
            request.id,
            request.channel,
            request.queue,
            request.priority,
            request.position,
            request.callback_number,
            request.extension or "-",
        )

    @staticmethod
    async def _finish(agi: AgiChannel, prompt: str) -> None:
        """Name the prompt; the dialplan plays it and hangs up. One round trip, and the AGI
        session ends at once instead of lasting as long as the prompt."""
        await agi.set_variable("CALLBACK_PROMPT", prompt)
