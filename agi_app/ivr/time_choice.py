"""Scheduled callbacks (component option ``ask_time=yes``): the caller chooses "as soon as
possible" or one of the next times within calling hours, read out by the service.

"When should we call you? For as soon as possible, press 1. For a later time, press 2." Then,
on 2, "Choose a time by its number.", and for each time its number and the time ("1, Monday
at 6 PM; 2, Monday at 7 PM", Asterisk's own prompts; a key cuts the list short). No
key after the first question is "as soon as possible": the caller asked for a callback
already. After choosing "later", no key or a key that names no time ends the request with
the error prompt, and nothing is stored.
"""

import logging
from datetime import datetime
from typing import Protocol

from agi_app.domain.errors import CallbackError

log = logging.getLogger(__name__)

ASAP_KEY = "1"
LATER_KEY = "2"
QUESTION_TIMEOUT_MS = 5000
CHOICE_TIMEOUT_MS = 5000

WHEN_PROMPT = "callback/when"
INTRO_PROMPT = "callback/slot-intro"
PAUSE_PROMPT = "silence/1"  # Asterisk's own second of silence, to wait for the choice


class NotScheduled(CallbackError):
    code = "not-scheduled"


class Dialogue(Protocol):
    """The AGI commands it needs (fastagi.AgiChannel has them)."""

    @property
    def uniqueid(self) -> str: ...

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str: ...

    async def stream_file(self, prompt: str, escape_digits: str = "") -> str: ...

    async def say_digits(self, digits: str, escape_digits: str = "") -> str: ...

    async def say_datetime(self, at: datetime, zone: str, escape_digits: str = "") -> str: ...


async def ask_time(agi: Dialogue, slots: list[datetime], zone: str) -> datetime | None:
    """The time the caller chose, or None for as soon as possible."""
    if not slots:
        return None  # no later time within calling hours to offer
    if await agi.get_data(WHEN_PROMPT, QUESTION_TIMEOUT_MS, 1) != LATER_KEY:
        return None
    keys = "".join(str(n) for n in range(1, len(slots) + 1))
    key = await agi.stream_file(INTRO_PROMPT, keys)
    for n, slot in enumerate(slots, start=1):
        if key:
            break
        key = await agi.say_digits(str(n), keys) or await agi.say_datetime(slot, zone, keys)
    if not key:
        key = await agi.get_data(PAUSE_PROMPT, CHOICE_TIMEOUT_MS, 1)
    log.info("callback time channel=%s key=%s", agi.uniqueid, key or "none")
    if not key or key not in keys:
        raise NotScheduled(f"{'key ' + repr(key) if key else 'no key'} after the later times")
    return slots[int(key) - 1]
