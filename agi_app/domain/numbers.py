"""Phone numbers: which ones a callback may dial, normalized to E.164 (libphonenumber)."""

import re
from dataclasses import dataclass, field
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from agi_app.errors import BlockedNumber, InvalidExtension, InvalidNumber

# What carriers and phones send when the caller withholds their number.
ANONYMOUS_NAMES = frozenset(
    {"", "anonymous", "restricted", "unknown", "unavailable", "private", "withheld"}
)
# Q.931 presentation: bits 5-6 = 01 means "presentation prohibited".
_PRESENTATION_MASK = 0x60
_PRESENTATION_PROHIBITED = 0x20

_SEPARATORS = re.compile(r"[ ().-]")  # how people write numbers; no other whitespace
_DIALABLE = re.compile(r"^\+?[0-9]{3,20}$")
_EXTENSION = re.compile(r"^[0-9*#]{1,20}$")
_E164_MAX_DIGITS = 15


@dataclass(frozen=True)
class NumberRules:
    region: str = "US"
    # "possible" checks length for the country; "valid" also checks the numbering plan
    # (stricter, but refuses fictional numbers such as the test bed's +1555...).
    check: Literal["possible", "valid"] = "possible"
    blocked_types: frozenset[str] = field(default_factory=lambda: frozenset({"PREMIUM_RATE"}))
    block_emergency: bool = True


def is_withheld(number: str, presentation: str = "") -> bool:
    if number.strip().lower() in ANONYMOUS_NAMES:
        return True
    try:
        pres = int(presentation)
    except ValueError:
        return False
    return pres & _PRESENTATION_MASK == _PRESENTATION_PROHIBITED


def normalize_number(raw: str, rules: NumberRules) -> str:
    """The E.164 form of ``raw``, or an error saying why it cannot be called back."""
    compact = _SEPARATORS.sub("", raw)
    if not _DIALABLE.match(compact):
        raise InvalidNumber(f"{raw!r} is not a phone number")
    if rules.block_emergency and phonenumbers.is_emergency_number(compact, rules.region):
        raise BlockedNumber(f"{raw!r} is an emergency number")
    try:
        parsed = phonenumbers.parse(compact, rules.region)
    except NumberParseException as exc:
        raise InvalidNumber(f"{raw!r} cannot be parsed: {exc}") from None
    e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    if len(e164) - 1 > _E164_MAX_DIGITS or not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber(f"{raw!r} has the wrong length for its country")
    if rules.check == "valid" and not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"{raw!r} is not a valid number")
    kind = phonenumbers.number_type(parsed)
    for name in rules.blocked_types:
        if kind == getattr(PhoneNumberType, name, None):
            raise BlockedNumber(f"{raw!r} is a {name.lower().replace('_', ' ')} number")
    return e164


def normalize_extension(raw: str) -> str:
    extension = raw.strip()
    if not _EXTENSION.match(extension):
        raise InvalidExtension(f"extension {raw!r} must be 1 to 20 of 0-9, * and #")
    return extension
