"""A callback request: what was asked, by whom, and everything needed to serve it later."""

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from agi_app.domain.errors import AnonymousCaller, InvalidNumber, UnknownQueue
from agi_app.domain.hours import AtClosing
from agi_app.domain.language import channel_language
from agi_app.domain.numbers import (
    NumberRules,
    is_withheld,
    normalize_caller_number,
    normalize_dialed_number,
    normalize_extension,
    normalize_number,
)
from agi_app.domain.options import ComponentOptions, Destination, Mode, preferred_interface
from agi_app.domain.priority import level_from_queue_prio

DEFAULT_LEVEL = 5
_QUOTED_PAIR = re.compile(r"\\(.)")
_MAX_NAME = 80


class State(StrEnum):
    PENDING = "pending"  # stored, no placeholder in the queue (yet, or any more)
    WAITING = "waiting"  # a placeholder holds the caller's place in the queue
    OFFERED = "offered"  # an agent's phone rings for it
    DIALING = "dialing"  # the agent answered; the customer is being dialed
    CONNECTED = "connected"  # the customer answered and talks to the agent
    # Customer first (mode=customer_first): no agent is rung before the customer said yes.
    CALLING = "calling"  # its turn came: the customer is called and checked (AMD, key 1)
    QUEUED = "queued"  # the customer pressed 1 and waits on the line for the next agent
    DONE = "done"  # finished, with its outcomes


# Waiting for an agent: not placed yet, holding a place in the queue, or being offered.
WAITING_STATES = (State.PENDING, State.WAITING, State.OFFERED)


class CallOutcome(StrEnum):
    ANSWERED = "Answered Call"
    MISSED = "Missed Call"
    ABANDONED = "Abandoned Call"
    MACHINE = "Machine Answered"  # an answering machine took the customer's call (amd=yes)
    EXPIRED = "Expired"
    CANCELLED = "Cancelled"
    ERROR = "Error"


class ContactOutcome(StrEnum):
    ANSWERED = "Answered Contact"
    MISSED = "Missed Contact"


DEFAULT_SERVER = "default"  # the one Asterisk of the ami_* settings


@dataclass(frozen=True)
class CallFacts:
    """What the channel told us when the caller asked for the callback."""

    channel: str  # Asterisk uniqueid of the caller's channel: one request per channel
    caller_number: str
    caller_name: str
    presentation: str
    dialed_number: str
    queue_exists: bool = True
    destination_value: str = ""  # the variable named by number_var / extension_var
    queue_position: int | None = None  # None: not asked from inside the queue
    queue_prio: int | None = None
    queue_wait: int | None = None  # seconds waited in the queue, Asterisk 22.9+
    queue_entered_at: datetime | None = None  # exact, when the service saw the caller join
    language: str = ""  # CHANNEL(language) (agi_language), checked by channel_language
    preferred_agent_value: str = ""  # the variable named by preferred_agent_var


@dataclass(frozen=True)
class CallbackRequest:
    id: str
    channel: str
    state: State
    queue: str
    priority: int
    position: int | None
    caller_name: str
    caller_number: str
    callback_number: str
    extension: str | None
    dialed_number: str
    queue_entered_at: datetime
    requested_at: datetime
    expires_at: datetime
    timeout_prompt: str | None
    # Serving: which placement attempt is current, who was offered it, how it ended.
    attempt: int = 0
    placement_failures: int = 0  # placements a ready Asterisk refused (see lifecycle)
    agent: str | None = None
    declined_by: frozenset[str] = frozenset()
    call_outcome: CallOutcome | None = None
    contact_outcome: ContactOutcome | None = None
    agent_answered_at: datetime | None = None  # the end of the wait
    # The customer leg, what a carrier would bill.
    customer_dialed_at: datetime | None = None
    customer_answered_at: datetime | None = None
    customer_ended_at: datetime | None = None
    # Retries when the customer is not reached: how many the options allow, after how long,
    # and how many dials of the customer did not reach them so far.
    retries: int = 0
    retry_interval: int = 0  # seconds
    customer_attempts: int = 0
    # Held in the store (no placeholder, nothing dialed) until then: a retry's interval, or
    # the next opening of its calling hours.
    not_before: datetime | None = None
    schedule: str | None = None  # calling hours (a schedule of the settings); None: always
    at_closing: AtClosing = AtClosing.CARRY
    carried_over: int = 0  # closings it waited through
    scheduled_for: datetime | None = None  # the later time the caller chose (ask_time)
    source: str = "phone"  # phone (the Callback component) or api (POST /api/callbacks)
    requested_by: str = ""  # the credential that asked (api:NAME); "" for the caller's phone
    # The Asterisk server that took it (the settings' asterisk_servers): it waits in that
    # server's queue and the customer is dialed from there.
    server: str = DEFAULT_SERVER
    # Machine detection on the customer's leg (the amd option), and its last verdict:
    # AMD()'s AMDSTATUS (HUMAN, MACHINE, NOTSURE, HANGUP) and AMDCAUSE, "" before any.
    amd: bool = False
    amd_status: str = ""
    amd_cause: str = ""
    # No stale duplicate (the cancel_on_live_answer option): cancelled while it waits for an
    # agent when its number is answered as a live caller of its queue.
    cancel_on_live_answer: bool = True
    # Who is called first (the mode option), and in customer first the customer's key at
    # the human check ("" none) and when they joined the queue after it.
    mode: Mode = Mode.AGENT_FIRST
    greeting: str = ""  # customer first: the prompts of the human check and for a machine
    machine_message: str = ""
    customer_key: str = ""
    customer_joined_at: datetime | None = None
    # The agent's wrap-up code for the call (one of the settings' disposition_codes).
    disposition: str = ""
    # How the customer agreed to be called back: the key in which flow, the credential that
    # asked, or the missed-call rule (shown by `show` and the request API).
    consent: str = ""
    # The caller's voice message (the message option): its file name in the recordings
    # directory ("" none); the agent hears it before the customer is dialed.
    message: str = ""
    # The caller's CHANNEL(language) at the request: the customer's prompts are played in it
    # ("": Asterisk's default language).
    language: str = ""
    # The customer's own hours (the customer_hours option, calling rules): the window in
    # their local time, "" none.
    customer_hours: str = ""
    # Agent affinity (the preferred_agent option): the agent offered it first ("" none; an
    # interface, or "last": found at its turn), for how long, and the phase (domain/affinity).
    preferred_agent: str = ""
    affinity_timeout: int = 0
    affinity: str = ""


def last_call_verdict(request: CallbackRequest) -> str:
    """What the last call to the customer found, in words for the Live view and the
    supervisor's screen ("" before any verdict): AMD()'s and, in customer first, the key."""
    if request.amd_status == "MACHINE":
        return "answering machine"
    if request.amd_status == "HANGUP":
        return "hung up during detection"
    if request.mode is Mode.CUSTOMER_FIRST and request.amd_status in ("HUMAN", "NOTSURE"):
        person = "a person" if request.amd_status == "HUMAN" else "not sure, maybe a person"
        key = f"pressed {request.customer_key}" if request.customer_key else "no key pressed"
        return f"{person}, {key}"
    return {"HUMAN": "a person", "NOTSURE": "not sure, maybe a person"}.get(request.amd_status, "")


@dataclass(frozen=True)
class RateLimits:
    """New requests allowed per window from one caller number and to one callback number
    (0: no limit). A repeat of an active request is not a new request."""

    per_caller: int = 10
    per_destination: int = 5
    window: timedelta = timedelta(hours=1)

    def exceeded(self, from_caller: int, to_destination: int) -> str | None:
        """Why one more request would be too many, given the counts within the window."""
        if self.per_caller and from_caller >= self.per_caller:
            return f"{from_caller} requests from this caller within {self.window}"
        if self.per_destination and to_destination >= self.per_destination:
            return f"{to_destination} requests to this number within {self.window}"
        return None


def scheduled(request: CallbackRequest, at: datetime) -> CallbackRequest:
    """Called back at ``at``: held in the store until then, and its max wait counts from
    then. It keeps its original entry time, so at its time it comes in ahead of every
    caller of its level who called after it: in practice the head of its level."""
    return replace(
        request,
        scheduled_for=at,
        not_before=at,
        expires_at=at + (request.expires_at - request.requested_at),
    )


def clean_name(raw: str) -> str:
    """A caller name safe to store and show: printable, one line, bounded."""
    raw = _QUOTED_PAIR.sub(r"\1", raw)  # SIP display names arrive with \" and \\ escapes
    spaced = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in raw)
    name = " ".join(spaced.split())[:_MAX_NAME]
    return "" if name.lower() in ("unknown", "anonymous") else name


def _phone_consent(options: ComponentOptions, facts: CallFacts) -> str:
    where = f"the IVR step {options.offer}" if options.offer else f"queue {options.queue}"
    dialed = f", having called {facts.dialed_number}" if facts.dialed_number else ""
    return f"phone: the caller pressed the callback key in {where}{dialed}"


def build_request(
    facts: CallFacts,
    options: ComponentOptions,
    rules: NumberRules,
    *,
    request_id: str,
    now: datetime,
    schedule: str | None = None,
) -> CallbackRequest:
    if not facts.queue_exists:
        raise UnknownQueue(f"queue {options.queue!r} does not exist")
    withheld = is_withheld(facts.caller_number, facts.presentation)
    extension: str | None = None
    if options.destination is Destination.NUMBER:
        if not facts.destination_value.strip():
            raise InvalidNumber(f"no callback number in {options.number_var}")
        callback_number = normalize_number(facts.destination_value, rules)
        caller_number = "" if withheld else normalize_caller_number(facts.caller_number, rules)
    else:
        if withheld:
            raise AnonymousCaller("the caller's number is withheld")
        callback_number = normalize_number(facts.caller_number, rules)
        if options.destination is Destination.EXTENSION:
            extension = normalize_extension(facts.destination_value)
        caller_number = callback_number

    preferred = options.preferred_agent or ""
    if options.preferred_agent_var and facts.preferred_agent_value.strip():
        preferred = preferred_interface(facts.preferred_agent_value, options.preferred_agent_var)
    live_level = level_from_queue_prio(facts.queue_prio) if facts.queue_prio is not None else None
    priority = options.priority or live_level or DEFAULT_LEVEL
    waited = facts.queue_wait if facts.queue_wait is not None and facts.queue_wait >= 0 else 0
    entered_at = facts.queue_entered_at or now - timedelta(seconds=waited)
    return CallbackRequest(
        id=request_id,
        channel=facts.channel,
        state=State.PENDING,
        queue=options.queue,
        priority=priority,
        position=facts.queue_position,
        caller_name=clean_name(facts.caller_name),
        caller_number=caller_number,
        callback_number=callback_number,
        extension=extension,
        dialed_number=normalize_dialed_number(facts.dialed_number),
        queue_entered_at=min(entered_at, now),
        requested_at=now,
        expires_at=now + timedelta(seconds=options.max_wait),
        timeout_prompt=options.timeout_prompt,
        retries=options.retries,
        retry_interval=options.retry_interval,
        schedule=schedule,
        at_closing=options.at_closing,
        amd=options.amd,
        cancel_on_live_answer=options.cancel_on_live_answer,
        mode=options.mode,
        greeting=options.greeting if options.mode is Mode.CUSTOMER_FIRST else "",
        machine_message=options.machine_message if options.mode is Mode.CUSTOMER_FIRST else "",
        consent=_phone_consent(options, facts),
        language=channel_language(facts.language),
        customer_hours=options.customer_hours or "",
        preferred_agent=preferred,
        affinity_timeout=options.affinity_timeout if preferred else 0,
    )
