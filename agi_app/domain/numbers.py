"""Phone numbers: which ones a callback may dial, normalized to E.164 (libphonenumber).

Every number the PBX may dial is toll-fraud surface, so a number is dialable only when it is
well formed, not an emergency number, in an allowed region (``US`` does not let in Jamaica,
which shares +1) and of no refused type; or when it starts with a prefix the admin allowed
explicitly (the test bed's fictional +1555 numbers, which belong to no region).
"""

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

from agi_app.domain.errors import BlockedNumber, InvalidExtension, InvalidNumber

# What carriers and phones send when the caller withholds their number.
ANONYMOUS_NAMES = frozenset(
    {"", "anonymous", "restricted", "unknown", "unavailable", "private", "withheld"}
)
# Q.931 presentation: bits 5-6 = 01 means "presentation prohibited".
_PRESENTATION_MASK = 0x60
_PRESENTATION_PROHIBITED = 0x20

_SEPARATORS = re.compile(r"[ ().-]")  # how people write numbers; no other whitespace
_DIALABLE = re.compile(r"^\+?[0-9]{3,20}$")
_SHORT = re.compile(r"^[0-9]{1,20}$")  # internal extensions as caller IDs
_DIALED = re.compile(r"^\+?[0-9*#]{1,32}$")
_EXTENSION = re.compile(r"^[0-9*#]{1,20}$")
_E164_MAX_DIGITS = 15
# libphonenumber's region of the non-geographic entities: +800, +808, +870, +881, +882,
# +883, +979 (international freephone, satellite and international networks).
_NON_GEOGRAPHIC = "001"
INTERNATIONAL_NETWORK = "INTERNATIONAL_NETWORK"  # our name for them, next to libphonenumber's
# The names blocked_number_types may hold: libphonenumber's types, and ours.
NUMBER_TYPES = frozenset(n for n in vars(PhoneNumberType) if n.isupper()) | {INTERNATIONAL_NETWORK}
# The regions national numbers may be parsed in (number_region), and those a number may be
# in (allowed_regions).
REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
DESTINATION_REGIONS = REGIONS | {_NON_GEOGRAPHIC}
# Refused unless the admin says otherwise: the kinds of numbers toll fraud pumps traffic to,
# and numbers libphonenumber cannot place (no region: nobody knows what they cost).
DEFAULT_BLOCKED_TYPES = frozenset(
    {
        "PREMIUM_RATE",
        "SHARED_COST",
        "UAN",
        "PERSONAL_NUMBER",
        "VOIP",
        "UNKNOWN",
        INTERNATIONAL_NETWORK,
    }
)


@dataclass(frozen=True)
class NumberRules:
    region: str = "US"
    # "possible" checks length for the country; "valid" also checks the numbering plan
    # (stricter, but refuses fictional numbers such as the test bed's +1555...).
    check: Literal["possible", "valid"] = "possible"
    blocked_types: frozenset[str] = DEFAULT_BLOCKED_TYPES
    block_emergency: bool = True
    # Regions (ISO 3166 codes) a callback may go to; empty means ``region`` alone.
    allowed_regions: frozenset[str] = frozenset()
    # E.164 prefixes dialable whatever their region or type (never emergency numbers).
    allowed_prefixes: tuple[str, ...] = ()

    @property
    def regions(self) -> frozenset[str]:
        return self.allowed_regions or frozenset({self.region})


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
    check_destination(parsed, rules, raw)
    return e164


def check_destination(parsed: PhoneNumber, rules: NumberRules, raw: str) -> None:
    """Refuse a parsed number the policy does not let the PBX dial (BlockedNumber)."""
    e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    if any(e164.startswith(prefix) for prefix in rules.allowed_prefixes):
        return
    region = phonenumbers.region_code_for_number(parsed)
    kind = phonenumbers.number_type(parsed)
    if region == _NON_GEOGRAPHIC and INTERNATIONAL_NETWORK in rules.blocked_types:
        raise BlockedNumber(f"{raw!r} is on an international network (+{parsed.country_code})")
    for name in rules.blocked_types:
        if kind == getattr(PhoneNumberType, name, None):
            raise BlockedNumber(f"{raw!r} is a number of type {name}")
    if region not in rules.regions:
        allowed = ", ".join(sorted(rules.regions))
        raise BlockedNumber(f"{raw!r} is in region {region or 'unknown'}, not in {allowed}")


def dialable(e164: str, rules: NumberRules) -> str | None:
    """Why a stored number may not be dialed under today's policy, or None when it may."""
    try:
        normalize_number(e164, rules)
    except (InvalidNumber, BlockedNumber) as exc:
        return exc.message
    return None


def normalize_caller_number(raw: str, rules: NumberRules) -> str:
    """The caller's own number where it is shown, not dialed (destination=number): E.164
    when it parses, else its digits; anything else (commas, letters, brackets) is refused."""
    compact = _SEPARATORS.sub("", raw)
    if not _DIALABLE.match(compact) and not _SHORT.match(compact):
        raise InvalidNumber(f"caller number {raw!r} is not a phone number")
    try:
        parsed = phonenumbers.parse(compact, rules.region)
    except NumberParseException:
        return compact
    if not phonenumbers.is_possible_number(parsed):
        return compact
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def normalize_dialed_number(raw: str) -> str:
    """The number the caller dialed (the DID): digits, * and #, or refused."""
    dialed = raw.strip()
    if dialed and not _DIALED.match(dialed):
        raise InvalidNumber(f"dialed number {raw!r} is not a phone number")
    return dialed


def normalize_extension(raw: str) -> str:
    extension = raw.strip()
    if not _EXTENSION.match(extension):
        raise InvalidExtension(f"extension {raw!r} must be 1 to 20 of 0-9, * and #")
    return extension
