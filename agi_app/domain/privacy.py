"""Personal data: which of a request's fields and event details are a person's, and what they
become when the retention purge or an erasure removes them (pure: the store and the service
apply it, agi_app/serving/privacy.py).

PERSONAL_FIELDS is the one list of what the product keeps about a person in a request: a
field added to CallbackRequest that holds personal data (a voice message's file, say) is one
line here, and both the purge and ``forget`` remove it. A field of kind FILE names a file;
whoever applies ``scrubbed`` deletes the files it gives back.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from enum import Enum
from typing import Any

from agi_app.domain.numbers import NumberRules, normalize_caller_number
from agi_app.domain.request import CallbackRequest


class Kind(Enum):
    NUMBER = "number"  # replaced by its pseudonym: the same caller is still one caller
    TEXT = "text"  # emptied
    OPTIONAL = "optional"  # set to None
    FREE_TEXT = "free text"  # kept, its digit runs (numbers) removed: consent's wording stays
    FILE = "file"  # emptied, and the file it named is deleted


# Every personal field of a request and how it is removed. Not personal, so kept: the queue,
# server, times, states, outcomes, agents (staff), the channel's id, the prompts' names.
PERSONAL_FIELDS: dict[str, Kind] = {
    "caller_number": Kind.NUMBER,
    "callback_number": Kind.NUMBER,
    "caller_name": Kind.TEXT,
    "extension": Kind.OPTIONAL,  # the digits dialed once the customer answers
    "dialed_number": Kind.TEXT,  # the number the caller dialed: tells whom they called
    "consent": Kind.FREE_TEXT,  # names the dialed number; how they agreed stays
    "message": Kind.FILE,  # the caller's voice message: its recording is deleted
}

# Keys of an event's detail that hold personal data (the "repeated" event names the number
# its repeat dialed), at any depth; removed as the field of the same name.
PERSONAL_DETAIL_KEYS = frozenset(
    {"caller_number", "callback_number", "caller_name", "extension", "dialed_number", "number"}
)

PSEUDONYM_PREFIX = "anon:"
_DIGITS = re.compile(r"\+?[0-9][0-9*#]{2,}")
REMOVED = "[removed]"

Pseudonymize = Callable[[str], str]


def is_pseudonym(value: str) -> bool:
    return value.startswith(PSEUDONYM_PREFIX)


def keyed_pseudonym(key: bytes) -> Pseudonymize:
    """A number's stable pseudonym under ``key`` (HMAC-SHA-256, 80 bits shown): the same
    number gives the same pseudonym, and without the key nobody can try every number."""

    def pseudonym(number: str) -> str:
        if not number or is_pseudonym(number):
            return number
        digest = hmac.new(key, number.encode(), hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:20]

    return pseudonym


def random_pseudonym() -> Pseudonymize:
    """Pseudonyms linked to nothing (an erasure: not even the same caller is recognisable);
    one per number within one erasure, so a request's caller and callback numbers stay
    equal when they were."""
    given: dict[str, str] = {}

    def pseudonym(number: str) -> str:
        if not number or is_pseudonym(number):
            return number
        return given.setdefault(number, PSEUDONYM_PREFIX + "erased-" + secrets.token_hex(7))

    return pseudonym


def _removed(kind: Kind, value: Any, pseudonym: Pseudonymize) -> Any:
    if kind is Kind.NUMBER:
        return pseudonym(str(value)) if value else value
    if kind is Kind.OPTIONAL:
        return None
    if kind is Kind.FREE_TEXT:
        return _DIGITS.sub(REMOVED, str(value))
    return ""


def scrubbed(
    request: CallbackRequest, pseudonym: Pseudonymize
) -> tuple[CallbackRequest, list[str]]:
    """The request without its personal data, and the files its FILE fields named (for the
    caller to delete)."""
    files = [
        str(getattr(request, name))
        for name, kind in PERSONAL_FIELDS.items()
        if kind is Kind.FILE and getattr(request, name)
    ]
    changes = {
        name: _removed(kind, getattr(request, name), pseudonym)
        for name, kind in PERSONAL_FIELDS.items()
    }
    return replace(request, **changes), files


def scrub_detail(detail: Any, pseudonym: Pseudonymize) -> Any:
    """An event's detail without personal data (PERSONAL_DETAIL_KEYS at any depth)."""
    if isinstance(detail, dict):
        return {
            key: (
                _removed(PERSONAL_FIELDS.get(key, Kind.NUMBER), value, pseudonym)
                if key in PERSONAL_DETAIL_KEYS
                else scrub_detail(value, pseudonym)
            )
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return [scrub_detail(value, pseudonym) for value in detail]
    return detail


def has_personal_data(request: CallbackRequest) -> bool:
    """Whether the purge still has something to remove (its numbers are not pseudonyms)."""
    return not is_pseudonym(request.callback_number)


def forget_numbers(raw: str, rules: NumberRules) -> frozenset[str]:
    """The forms a person's number may be kept in: as given (digits) and in E.164 under the
    centre's region; InvalidNumber for anything that is no number."""
    normal = normalize_caller_number(raw, rules)
    return frozenset({normal, re.sub(r"[ ().-]", "", raw.strip())}) - {""}
