"""The caller's status check (the component's ``[callback-status]``): a caller who calls again
while a callback from (or to) their number waits in the queue hears so, and its place, and
keeps it with one key or cancels it with another.

    Gosub(callback-status,s,1(queue=support))

Off unless the admin puts it in a flow. With nothing waiting (or a withheld or unusable caller
number, or unusable options) it returns at once and the caller hears nothing extra: the check
must never stand between a caller and the queue. The dialplan learns the result from
CALLBACK_STATUS (NONE, KEPT, CANCELLED, INVALID, ERROR), plays CALLBACK_PROMPT when set, then
hangs up or returns as CALLBACK_NEXT says (HANGUP, CONTINUE).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Annotated, Any, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agi_app.domain.errors import CallbackError
from agi_app.domain.numbers import NumberRules, is_withheld, normalize_caller_number
from agi_app.domain.options import DEFAULT_ERROR, Prompt, parse_beside_request
from agi_app.domain.request import WAITING_STATES, CallbackRequest, CallOutcome
from agi_app.ivr.fastagi import key_of, quote
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

STATUS_SCRIPT = "callback-status"  # agi://host:port/callback-status
_POSITION_WITHIN = 3.0  # seconds: a slow PBX costs the position, never the caller's time

Key = Annotated[str, Field(pattern=r"^[0-9*#]$")]


class After(StrEnum):
    CONTINUE = "continue"  # return to the flow (into the queue, in the test bed)
    HANGUP = "hangup"


class Status(StrEnum):
    NONE = "NONE"  # nothing waiting: the caller heard nothing
    KEPT = "KEPT"  # the keep key, or no key
    CANCELLED = "CANCELLED"
    INVALID = "INVALID"  # another key: kept, the caller heard the error prompt
    ERROR = "ERROR"  # unusable options, or the cancel failed


class StatusOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = Field(
        description="the queue to look in: its callbacks from or to the caller's number that"
        " still wait for an agent (of several, the one to be served first)"
    )
    keep_key: Key = Field("1", description="the key that keeps the callback, as no key does")
    cancel_key: Key = Field(
        "2",
        description="the key that cancels the callback (another than keep_key; change"
        " choice_prompt with the keys)",
    )
    choice_timeout: Annotated[int, Field(ge=1, le=60)] = Field(
        5, description="seconds to wait for the key after choice_prompt; no key keeps it"
    )
    after_keep: After = Field(
        After.HANGUP,
        description="after a kept callback: `hangup`, the call ends (the callback holds the"
        " caller's place); `continue`, the flow goes on",
    )
    after_cancel: After = Field(
        After.CONTINUE,
        description="after a cancel: `continue`, the flow goes on (into the queue as a live"
        " caller, say); `hangup`, the call ends",
    )
    waiting_prompt: Prompt = Field(
        "callback/status-waiting",
        description='played first: "You have a callback waiting."',
    )
    position_prompt: Prompt = Field(
        "callback/status-position",
        description='then, when the callback has a place: "Your place in the queue is", and the'
        " number (`SAY NUMBER`)",
    )
    choice_prompt: Prompt = Field(
        "callback/status-choice",
        description='then: "To keep it, press 1. To cancel it, press 2."; a key during any of'
        " these prompts answers at once",
    )
    kept_prompt: Prompt = Field(
        "callback/status-kept", description="played when the callback is kept"
    )
    cancelled_prompt: Prompt = Field(
        "callback/status-cancelled", description="played when the callback is cancelled"
    )
    error: Prompt = Field(
        DEFAULT_ERROR,
        description="played on another key (the callback is kept) or a cancel that came too"
        " late; then the call ends",
    )

    @model_validator(mode="after")
    def _keys_differ(self) -> Self:
        if self.keep_key == self.cancel_key:
            raise ValueError("keep_key and cancel_key must differ")
        return self


def parse_status_options(args: Sequence[str]) -> StatusOptions:
    return parse_beside_request(StatusOptions, args)


class Channel(Protocol):
    """What the check uses of a FastAGI session (agi_app.ivr.fastagi.AgiChannel)."""

    @property
    def env(self) -> dict[str, str]: ...

    @property
    def args(self) -> list[str]: ...

    @property
    def uniqueid(self) -> str: ...

    async def command(self, line: str, *, wait: float | None = None) -> dict[str, Any]: ...

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str: ...

    async def set_variable(self, name: str, value: str) -> None: ...


PositionOf = Callable[[CallbackRequest], Awaitable[int | None]]


class Cancel(Protocol):
    def __call__(
        self, request_id: str, by: str, *, credential: str
    ) -> Awaitable[CallbackRequest | None]: ...


LiveView = Callable[[], Awaitable[list[dict[str, object]]]]


def live_position(live_view: LiveView) -> PositionOf:
    """A request's place as the Live view shows it: its placeholder's position in the
    Asterisk queue, or, held in the store, the place it will take; None without either
    (being placed, or between two dials of a retry)."""

    async def position_of(request: CallbackRequest) -> int | None:
        for row in await live_view():
            if row.get("id") == request.id:
                position = row.get("position")
                return position if isinstance(position, int) and position > 0 else None
        return None

    return position_of


class CallerStatus:
    def __init__(
        self,
        store: RequestStore,
        rules: NumberRules,
        *,
        position_of: PositionOf | None = None,
        cancel: Cancel | None = None,
    ) -> None:
        self._store = store
        self._rules = rules
        self._position_of = position_of
        self._cancel = cancel  # None without AMI: nothing is served, nothing to check

    async def __call__(self, agi: Channel) -> None:
        channel = agi.uniqueid
        try:
            options = parse_status_options(agi.args)
        except CallbackError as exc:
            log.error("callback status channel=%s: %s (the call goes on)", channel, exc)
            await agi.set_variable("CALLBACK_STATUS", Status.ERROR)
            return
        number = self._caller_number(agi)
        request = await self._waiting(channel, number, options.queue) if number else None
        if request is None or number is None or self._cancel is None:
            await agi.set_variable("CALLBACK_STATUS", Status.NONE)
            return
        position = await self._position(request)
        key = await self._ask(agi, options, position)
        said = (
            f"callback status id={request.id} channel={channel} number={number} position={position}"
        )
        if key in ("", options.keep_key):
            log.info("%s: kept (key %r)", said, key)
            await self._tell(agi, Status.KEPT, options.kept_prompt, options.after_keep)
        elif key == options.cancel_key:
            await self._cancel_it(agi, options, request, number, said)
        else:
            log.warning("%s: key %r is neither keep nor cancel; kept", said, key)
            await self._tell(agi, Status.INVALID, options.error, After.HANGUP)

    def _caller_number(self, agi: Channel) -> str | None:
        raw = agi.env.get("agi_callerid", "")
        if is_withheld(raw, agi.env.get("agi_callingpres", "")):
            return None
        try:
            return normalize_caller_number(raw, self._rules)
        except CallbackError as exc:
            log.info("callback status channel=%s: nothing to look up: %s", agi.uniqueid, exc)
            return None

    async def _waiting(self, channel: str, number: str, queue: str) -> CallbackRequest | None:
        """The first to be served of the number's requests still waiting for an agent (one
        being served already is past cancelling)."""
        try:
            found = await self._store.active_for(number, queue)
        except CallbackError as exc:
            log.error("callback status channel=%s: %s (the call goes on)", channel, exc)
            return None
        return next((r for r in found if r.state in WAITING_STATES), None)

    async def _position(self, request: CallbackRequest) -> int | None:
        if self._position_of is None:
            return None
        try:
            async with asyncio.timeout(_POSITION_WITHIN):
                return await self._position_of(request)
        except Exception as exc:  # the position is a courtesy: never fail the call on it
            log.warning("callback status id=%s: no position: %r", request.id, exc)
            return None

    @staticmethod
    async def _ask(agi: Channel, options: StatusOptions, position: int | None) -> str:
        """Waiting, its place, the choice; a key pressed at any point is the answer."""
        keys = quote(options.keep_key + options.cancel_key)
        played = [f"STREAM FILE {options.waiting_prompt} {keys}"]
        if position is not None:
            played.append(f"STREAM FILE {options.position_prompt} {keys}")
            played.append(f"SAY NUMBER {position} {keys}")
        for line in played:
            if key := key_of(await agi.command(line)):
                return key
        return await agi.get_data(options.choice_prompt, options.choice_timeout * 1000, 1)

    async def _cancel_it(
        self,
        agi: Channel,
        options: StatusOptions,
        request: CallbackRequest,
        number: str,
        said: str,
    ) -> None:
        assert self._cancel is not None
        try:
            after = await self._cancel(request.id, f"caller:{number}", credential="phone")
        except Exception:
            log.exception("%s: cancel failed", said)
            after = None
        if after is None or after.call_outcome is not CallOutcome.CANCELLED:
            # Served or finished meanwhile: it is not cancelled, and the caller must not
            # hear that it is.
            state = after.state if after is not None else "unknown"
            log.warning("%s: not cancelled (now %s)", said, state)
            await self._tell(agi, Status.ERROR, options.error, After.HANGUP)
            return
        log.info("%s: cancelled by the caller", said)
        await self._tell(agi, Status.CANCELLED, options.cancelled_prompt, options.after_cancel)

    @staticmethod
    async def _tell(agi: Channel, status: Status, prompt: str, after: After) -> None:
        """The dialplan plays the prompt, then hangs up or returns; the status comes last, as
        the dialplan trusts the prompt only with a status (a refused session sets none)."""
        await agi.set_variable("CALLBACK_PROMPT", prompt)
        await agi.set_variable("CALLBACK_NEXT", after.name)
        await agi.set_variable("CALLBACK_STATUS", status)
