"""Number read-back (component option ``readback=yes``, with ``destination=number``).

Before anything is stored the caller hears the number read back digit by digit, then "press 1
to confirm, 2 to enter it again". On 2 they type a new number (ended by #), which is checked
by the same rules as the first and read back in turn. Only a confirmed number is stored; no
key, another key, or a third 2 ends the request with the error prompt.

The digits read back are the ones the caller typed, not the E.164 form that will be dialed:
the caller can only judge what they typed, and a US caller who typed ten digits would hear a
"one" they never pressed and take it for a mistake. What is dialed follows from what was
typed by one fixed normalization, which the destination policy checks on every number.
"""

import logging
import re
from collections.abc import Callable
from typing import Protocol, TypeVar

from agi_app.domain.errors import CallbackError

log = logging.getLogger(__name__)

T = TypeVar("T")

ROUNDS = 3  # read-backs at most: the first number and two re-entries
CONFIRM_KEY = "1"
REENTER_KEY = "2"
CONFIRM_TIMEOUT_MS = 5000  # after the question
ENTER_TIMEOUT_MS = 10000  # for the first key of a re-entry, and between its keys
MAX_DIGITS = 15  # the longest E.164 number

INTRO_PROMPT = "callback/number-readback"  # "The number you entered is"
CONFIRM_PROMPT = "callback/confirm-number"  # "To confirm it, press 1. To enter it again, 2."
ENTER_PROMPT = "callback/enter-number"  # the test bed's own "enter the number" prompt

_NOT_DIGIT = re.compile(r"[^0-9]")


class NotConfirmed(CallbackError):
    code = "not-confirmed"


class Dialogue(Protocol):
    """The AGI commands the read-back needs (fastagi.AgiChannel has them)."""

    @property
    def uniqueid(self) -> str: ...

    async def stream_file(self, prompt: str, escape_digits: str = "") -> str: ...

    async def say_digits(self, digits: str, escape_digits: str = "") -> str: ...

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str: ...


async def read_back(agi: Dialogue, typed: str, build: Callable[[str], T]) -> T:
    """What ``build`` makes of the number the caller confirmed.

    ``build`` checks a number as the request would (raising a CallbackError such as
    InvalidNumber or BlockedNumber); each re-entered number goes through it before it is
    read back, so a refused one ends the request as it would have without read-back.
    """
    result = build(typed)
    for round_ in range(1, ROUNDS + 1):
        key = await _ask(agi, typed)
        log.info(
            "callback readback channel=%s round=%d number=%s key=%s",
            agi.uniqueid,
            round_,
            typed,
            key or "none",
        )
        if key == CONFIRM_KEY:
            return result
        if key != REENTER_KEY:
            pressed = f"key {key!r}" if key else "no key"
            raise NotConfirmed(f"{pressed} after read-back {round_}")
        if round_ < ROUNDS:
            typed = await agi.get_data(ENTER_PROMPT, ENTER_TIMEOUT_MS, MAX_DIGITS)
            result = build(typed)
    raise NotConfirmed(f"2 pressed at each of {ROUNDS} read-backs: no number confirmed")


async def _ask(agi: Dialogue, typed: str) -> str:
    """Read the number back and ask; the caller may answer as soon as they have heard enough."""
    answers = CONFIRM_KEY + REENTER_KEY
    key = await agi.stream_file(INTRO_PROMPT, answers)
    if not key:
        key = await agi.say_digits(_NOT_DIGIT.sub("", typed), answers)
    if not key:
        key = await agi.get_data(CONFIRM_PROMPT, CONFIRM_TIMEOUT_MS, 1)
    return key
