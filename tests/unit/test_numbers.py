import pytest
from hypothesis import given
from hypothesis import strategies as st

from agi_app.domain.numbers import NumberRules, is_withheld, normalize_extension, normalize_number
from agi_app.errors import BlockedNumber, CallbackError, InvalidExtension, InvalidNumber

RULES = NumberRules()


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+15551230001", "+15551230001"),
        ("15551230002", "+15551230002"),
        ("5551230003", "+15551230003"),
        ("(555) 123-0004", "+15551230004"),
        ("+442079460000", "+442079460000"),
        ("011442079460000", "+442079460000"),
    ],
)
def test_numbers_are_normalized_to_e164(raw: str, e164: str) -> None:
    assert normalize_number(raw, RULES) == e164


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", InvalidNumber),
        ("abc", InvalidNumber),
        ("1-800-FLOWERS", InvalidNumber),
        ("12", InvalidNumber),
        ("+1555123000123456789", InvalidNumber),
        ("555;Dial(PJSIP/x)", InvalidNumber),
        ("+1555\n1230001", InvalidNumber),
        ("911", BlockedNumber),
        ("112", BlockedNumber),
        ("+19005551234", BlockedNumber),  # premium rate
    ],
)
def test_unusable_numbers_are_refused(raw: str, error: type[CallbackError]) -> None:
    with pytest.raises(error):
        normalize_number(raw, RULES)


def test_valid_check_is_stricter_than_possible() -> None:
    fictional = "+15551230001"
    assert normalize_number(fictional, NumberRules(check="possible")) == fictional
    with pytest.raises(InvalidNumber):
        normalize_number(fictional, NumberRules(check="valid"))


def test_premium_rate_blocking_is_configurable() -> None:
    allowed = NumberRules(blocked_types=frozenset())
    assert normalize_number("+19005551234", allowed) == "+19005551234"


@pytest.mark.parametrize(
    ("number", "presentation", "withheld"),
    [
        ("", "", True),
        ("anonymous", "0", True),
        ("Anonymous", "", True),
        ("restricted", "", True),
        ("+15551230001", "0", False),
        ("+15551230001", "32", True),  # prohibited, not screened
        ("+15551230001", "35", True),
        ("+15551230001", "67", False),  # number unavailable is 0x40: not "prohibited"
    ],
)
def test_withheld_numbers(number: str, presentation: str, withheld: bool) -> None:
    assert is_withheld(number, presentation) is withheld


def test_extensions() -> None:
    assert normalize_extension(" 123# ") == "123#"
    for bad in ("", "12a", "1" * 21, "1,2", "w1"):
        with pytest.raises(InvalidExtension):
            normalize_extension(bad)


@given(st.text(max_size=40))
def test_number_rules_accept_only_e164_or_refuse(raw: str) -> None:
    try:
        e164 = normalize_number(raw, RULES)
    except CallbackError:
        return
    assert e164.startswith("+")
    assert e164[1:].isdigit()
    assert 4 <= len(e164) <= 16
