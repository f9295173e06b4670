"""The Callback component's options, as an admin writes them in the dialplan.

    Gosub(callback,s,1(queue=support,priority=5,destination=original,max_wait=1800))

Each AGI argument is one ``name=value``; empty arguments are the unused Gosub slots.
"""

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agi_app.domain.errors import InvalidOptions
from agi_app.domain.hours import AtClosing

# Asterisk sound names: a relative path; separators never doubled, so never "..".
Prompt = Annotated[str, Field(max_length=128, pattern=r"^[A-Za-z0-9_]+(?:[/.-][A-Za-z0-9_]+)*$")]
VariableName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")]

M = TypeVar("M", bound=BaseModel)

DEFAULT_SUCCESS = "callback/request-successful"
DEFAULT_ERROR = "callback/error-in-request"


class Destination(StrEnum):
    ORIGINAL = "original"  # the caller's own number
    NUMBER = "number"  # a number captured earlier in the flow
    EXTENSION = "extension"  # the caller's number, then the extension as DTMF


class ComponentOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    priority: Annotated[int | None, Field(ge=1, le=10)] = None
    destination: Destination = Destination.ORIGINAL
    number_var: VariableName | None = None
    extension_var: VariableName | None = None
    max_wait: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] = 1800
    success: Prompt = DEFAULT_SUCCESS
    error: Prompt = DEFAULT_ERROR
    timeout_prompt: Prompt | None = None
    key: Annotated[str, Field(pattern=r"^[0-9*#]$")] = "1"
    offer: Prompt | None = None
    offer_timeout: Annotated[int, Field(ge=1, le=60)] = 5
    # destination=number: read the number back and have the caller confirm or re-enter it.
    readback: bool = False
    retries: Annotated[int, Field(ge=0, le=10)] = 0
    retry_interval: Annotated[int, Field(ge=1, le=24 * 3600)] = 300
    # Calling hours: a schedule named in the settings (default: the queue's, if any).
    schedule: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None
    at_closing: AtClosing = AtClosing.CARRY
    # Scheduled callbacks: the caller chooses "as soon as possible" or a later time.
    ask_time: bool = False

    @model_validator(mode="after")
    def _destination_has_its_variable(self) -> Self:
        if self.destination is Destination.NUMBER and self.number_var is None:
            raise ValueError("destination=number needs number_var")
        if self.destination is Destination.EXTENSION and self.extension_var is None:
            raise ValueError("destination=extension needs extension_var")
        if self.readback and self.destination is not Destination.NUMBER:
            raise ValueError("readback needs destination=number")
        return self


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
