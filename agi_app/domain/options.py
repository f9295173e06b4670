"""The Callback component's options, as an admin writes them in the dialplan.

    Gosub(callback,s,1(queue=support,priority=5,destination=original,max_wait=1800))

Each AGI argument is one ``name=value``; empty arguments are the unused Gosub slots.
"""

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agi_app.domain.calling_rules import parse_window
from agi_app.domain.errors import InvalidOptions
from agi_app.domain.hours import AtClosing, ScheduleError

# Asterisk sound names: a relative path; separators never doubled, so never "..".
Prompt = Annotated[str, Field(max_length=128, pattern=r"^[A-Za-z0-9_]+(?:[/.-][A-Za-z0-9_]+)*$")]
VariableName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")]
# A queue member's interface as Dial() takes it (technology/resource): nothing Dial() would
# read as a second device (&), an option (,) or a variable (${}).
INTERFACE = r"^[A-Za-z][A-Za-z0-9]{0,15}/[A-Za-z0-9_.@+-]{1,80}$"
LAST = "last"  # preferred_agent=last: the agent who last handled the callback number
PreferredAgent = Annotated[str, Field(pattern=f"^(?:{INTERFACE[1:-1]}|{LAST})$")]

M = TypeVar("M", bound=BaseModel)

DEFAULT_SUCCESS = "callback/request-successful"
DEFAULT_ERROR = "callback/error-in-request"


class Destination(StrEnum):
    ORIGINAL = "original"  # the caller's own number
    NUMBER = "number"  # a number captured earlier in the flow
    EXTENSION = "extension"  # the caller's number, then the extension as DTMF


class Mode(StrEnum):
    """Who is called first when a callback's turn comes (docs/explanation/callback-modes.md)."""

    AGENT_FIRST = "agent_first"  # the agent's phone rings; the customer is dialed once they answer
    CUSTOMER_FIRST = "customer_first"  # the customer is called; an agent once they press 1


class ComponentOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = Field(
        description="the Asterisk queue the callback waits in (one Asterisk does not know is"
        " refused)"
    )
    priority: Annotated[int | None, Field(ge=1, le=10)] = Field(
        None,
        description="the callback's level, 1 served first; it outweighs waiting time; unset:"
        " the caller's level in the queue (from `QUEUE_PRIO`), else 5",
    )
    destination: Destination = Field(
        Destination.ORIGINAL,
        description="who is called back: `original`, the caller's number; `number`, the number"
        " in number_var; `extension`, the caller's number, then the digits in extension_var as"
        " DTMF once answered",
    )
    number_var: VariableName | None = Field(
        None,
        description="with destination=number (and required by it): the channel variable holding"
        " the number to call back, e.g. filled by `Read()`",
    )
    extension_var: VariableName | None = Field(
        None,
        description="with destination=extension (and required by it): the channel variable"
        " holding the extension's digits (1 to 20 of `0-9 * #`)",
    )
    max_wait: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] = Field(
        1800,
        description="seconds the callback may wait for an agent, then it ends Expired; counted"
        " anew from a retry's or a scheduled callback's time, paused while the calling hours"
        " are closed",
    )
    success: Prompt = Field(
        DEFAULT_SUCCESS,
        description="the prompt the caller hears once the request is stored (or found stored"
        " already)",
    )
    error: Prompt = Field(
        DEFAULT_ERROR,
        description="the prompt the caller hears when the request is refused or fails (nothing"
        " stored)",
    )
    timeout_prompt: Prompt | None = Field(
        None,
        description="the message of an informative call to the customer when the callback ends"
        " without reaching an agent (expired, declined by every agent, an error); unset: no"
        " such call",
    )
    key: Annotated[str, Field(pattern=r"^[0-9*#]$")] = Field(
        "1",
        description="the callback key: with offer, the key that takes the callback; from the"
        " queue, the exit context's extension (`agi-callback check` looks for it)",
    )
    offer: Prompt | None = Field(
        None,
        description="makes it an IVR step: the service plays this prompt and reads one key; the"
        " callback key takes the callback, another key or none returns to the flow; unset: the"
        " caller chose already (the queue's key)",
    )
    offer_timeout: Annotated[int, Field(ge=1, le=60)] = Field(
        5, description="with offer: seconds to wait for the key"
    )
    readback: bool = Field(
        False,
        description="with destination=number only: before storing, the service reads the number"
        " back digit by digit and the caller presses 1 to confirm it or 2 to type another"
        " (three read-backs at most)",
    )
    retries: Annotated[int, Field(ge=0, le=10)] = Field(
        0,
        description="new dials when the customer is busy, does not answer or is unreachable"
        " (each after retry_interval, an agent answering first again); 0: one dial only",
    )
    retry_interval: Annotated[int, Field(ge=1, le=24 * 3600)] = Field(
        300,
        description="seconds a callback to retry is held in the store before it is placed in"
        " the queue again, at its original place",
    )
    schedule: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = Field(
        None,
        description="calling hours: a schedule named in the settings (`schedules`); unset: the"
        " queue's (`queue_schedules`), else always open",
    )
    at_closing: AtClosing = Field(
        AtClosing.CARRY,
        description="a callback still waiting at closing: `carry`, held in the store and placed"
        " at its place at the next opening; `expire`, it ends Expired and the customer is told"
        " timeout_prompt",
    )
    customer_hours: Annotated[str | None, Field(pattern=r"^[0-9:/ -]{1,120}$")] = Field(
        None,
        description="the customer's own hours, in their local time from their number's zones"
        " (all of them for a number spanning several; the centre's zone,"
        " calling_rules.timezone, for a number of no known zone): `08:00-21:00`, several"
        " joined by `/`; a callback due outside them waits in the store and is placed at its"
        " place when they open; unset: the queue's (calling_rules.customer_hours), else none",
    )
    ask_time: bool = Field(
        False,
        description="scheduled callbacks: the caller chooses as soon as possible or one of the"
        " next later times within its calling hours (settings later_slots,"
        " later_slot_minutes, later_lead_minutes)",
    )

    amd: bool = Field(
        False,
        description="machine detection: when the customer's phone answers, AMD() listens"
        " before the agent is connected; on an answering machine the agent hears a short"
        " notice (they may leave a message or hang up), the request ends Machine Answered"
        " and is retried while retries are left. Not with destination=extension (the"
        " extension's own greeting would count as a machine)",
    )
    cancel_on_live_answer: bool = Field(
        True,
        description="no stale duplicate: when the same number calls again and an agent of the"
        " same queue answers it as a live call, the callback still waiting for an agent"
        " (pending, waiting or offered) is cancelled, its placeholder leaves the queue and"
        " nobody is dialed; one already being served goes on. `no`: the callback is kept and"
        " served as well",
    )

    mode: Mode = Field(
        Mode.AGENT_FIRST,
        description="who is called first when the callback's turn comes: `agent_first`, the"
        " agent's phone rings with the screen-pop and the customer is dialed once they answer;"
        " `customer_first`, no agent is rung: the customer is called, judged by AMD(), asked"
        " to press 1, and then joins the queue at the head of their level for the next agent"
        " (a machine gets machine_message and a retry)",
    )
    greeting: Prompt = Field(
        "callback/customer-first-greeting",
        description="customer_first: what the customer hears on answering, who calls and why,"
        " ending with the request to press 1",
    )
    machine_message: Prompt = Field(
        "callback/machine-message",
        description="customer_first: the message left after the beep when a machine answers",
    )

    message: bool = Field(
        False,
        description="a voice message with the request: after the key the caller hears"
        " message_prompt and may say what it is about (up to message_max seconds; the pound key,"
        " 3 s of silence or hanging up ends it); the agent hears it on answering, before the"
        " customer is dialed (in customer first, before being connected), and supervisors and"
        " agents can play it from the Live view and the agent panel",
    )
    message_max: Annotated[int, Field(ge=5, le=120)] = Field(
        30, description="with message: the longest message, in seconds"
    )
    message_prompt: Prompt = Field(
        "callback/leave-message",
        description="with message: what the caller hears before the tone",
    )

    preferred_agent: PreferredAgent | None = Field(
        None,
        description="agent affinity: the agent offered the callback first, for"
        " affinity_timeout seconds, before any agent of the queue (the callback keeps its"
        " place): a member interface (`PJSIP/agent2`), or `last`, the agent who last handled"
        " the callback number (an answered callback of the store, found at its turn)",
    )
    preferred_agent_var: VariableName | None = Field(
        None,
        description="agent affinity: the channel variable holding the preferred agent's"
        " interface (e.g. filled by a CRM lookup); empty: no preferred agent; not with"
        " preferred_agent",
    )
    affinity_timeout: Annotated[int, Field(ge=5, le=600)] = Field(
        30,
        description="with a preferred agent: seconds from the callback's turn during which only"
        " that agent is offered it (waited for while busy, rung while free); then any agent",
    )

    @model_validator(mode="after")
    def _destination_has_its_variable(self) -> Self:
        if self.customer_hours is not None:
            try:
                parse_window(self.customer_hours)
            except ScheduleError as exc:
                raise ValueError(f"customer_hours: {exc}") from None
        if self.destination is Destination.NUMBER and self.number_var is None:
            raise ValueError("destination=number needs number_var")
        if self.destination is Destination.EXTENSION and self.extension_var is None:
            raise ValueError("destination=extension needs extension_var")
        if self.readback and self.destination is not Destination.NUMBER:
            raise ValueError("readback needs destination=number")
        if self.mode is Mode.CUSTOMER_FIRST and self.destination is Destination.EXTENSION:
            raise ValueError(
                "mode=customer_first does not go with destination=extension: the PBX that"
                " answers would be judged, and asked to press 1, before the extension is dialed"
            )
        if self.preferred_agent is not None and self.preferred_agent_var is not None:
            raise ValueError("preferred_agent and preferred_agent_var: give one of them")
        preferred = self.preferred_agent or self.preferred_agent_var
        if preferred and self.mode is Mode.CUSTOMER_FIRST:
            raise ValueError(
                "a preferred agent does not go with mode=customer_first: the customer who"
                " pressed 1 waits for the next agent of the queue"
            )
        if self.amd and self.destination is Destination.EXTENSION:
            raise ValueError(
                "amd does not go with destination=extension: the PBX that answers before the"
                " extension's digits are sent would be taken for an answering machine"
            )
        return self


def preferred_interface(value: str, where: str) -> str:
    """``value`` (read from a flow's variable) as a preferred agent's interface, or
    InvalidOptions saying why."""
    value = value.strip()
    if not re.match(INTERFACE, value):
        raise InvalidOptions(f"{where}: {value[:40]!r} is not an agent interface (PJSIP/agent2)")
    return value


def split_arguments(args: Sequence[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for arg in args:
        if not arg.strip():
            continue
        name, sep, value = arg.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidOptions(f"option {arg!r} is not name=value")
        if name in pairs:
            raise InvalidOptions(f"option {name!r} given twice")
        pairs[name] = value.strip()
    return pairs


def validated(model: type[M], pairs: dict[str, str]) -> M:
    """``pairs`` as ``model``, or InvalidOptions naming every problem."""
    try:
        return model.model_validate(pairs)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'options'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidOptions(problems) from None


def parse_options(args: Sequence[str]) -> ComponentOptions:
    return validated(ComponentOptions, split_arguments(args))


def parse_beside_request(model: type[M], args: Sequence[str]) -> M:
    """The options of a component entry that a flow may pass its request's options too: those
    of [callback] that ``model`` does not have are accepted and ignored, so that the same
    ${CALLBACK_OPTIONS} serves both."""
    ignored = frozenset(ComponentOptions.model_fields) - frozenset(model.model_fields)
    return validated(model, {k: v for k, v in split_arguments(args).items() if k not in ignored})


def error_prompt(args: Sequence[str]) -> str:
    """The error prompt to play even when the options as a whole are unusable."""
    try:
        value = split_arguments(args).get("error")
    except InvalidOptions:
        return DEFAULT_ERROR
    if value is None:
        return DEFAULT_ERROR
    try:
        return ComponentOptions(queue="x", error=value).error
    except ValidationError:
        return DEFAULT_ERROR
