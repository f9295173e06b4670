import pytest
from hypothesis import given
from hypothesis import strategies as st

from agi_app.domain.errors import BlockedNumber, CallbackError, InvalidExtension, InvalidNumber
from agi_app.domain.numbers import (
    NumberRules,
    dialable,
    is_withheld,
    normalize_caller_number,
    normalize_dialed_number,
    normalize_extension,
    normalize_number,
)

# The test bed's fictional +1555 numbers belong to no region: allowed by prefix, as there.
RULES = NumberRules(allowed_regions=frozenset({"US", "GB"}), allowed_prefixes=("+1555",))


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
    lab = ("+1555",)
    assert normalize_number(fictional, NumberRules(allowed_prefixes=lab)) == fictional
    with pytest.raises(InvalidNumber):
        normalize_number(fictional, NumberRules(check="valid", allowed_prefixes=lab))


def test_premium_rate_blocking_is_configurable() -> None:
    allowed = NumberRules(blocked_types=frozenset())
    assert normalize_number("+19005551234", allowed) == "+19005551234"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("+18765551234", "region JM"),  # Jamaica shares +1 with the US
        ("18765551234", "region JM"),
        ("+2693212345", "region KM"),  # Comoros
        ("+14165551234", "region CA"),  # Canada is not the US either
        ("+881612345678", "international network"),  # satellite
        ("011881612345678", "international network"),
        ("+882123456789", "international network"),
        ("+80012345678", "international network"),  # international freephone
        ("+19005551234", "PREMIUM_RATE"),
        ("+18005551234x", ""),  # not a number at all
    ],
)
def test_destination_policy_refuses_other_regions_and_risky_types(raw: str, why: str) -> None:
    with pytest.raises(CallbackError) as refused:
        normalize_number(raw, NumberRules())
    assert why in refused.value.message


def test_destination_policy_defaults_to_the_numbering_region_alone() -> None:
    us = NumberRules()
    assert normalize_number("+14155552671", us) == "+14155552671"
    assert normalize_number("4155552671", us) == "+14155552671"
    with pytest.raises(BlockedNumber, match="region unknown"):
        normalize_number("+15551230001", NumberRules(blocked_types=frozenset()))
    with pytest.raises(BlockedNumber, match="UNKNOWN"):
        normalize_number("+15551230001", us)  # fictional: no region, no type


def test_destination_policy_is_the_admins_to_widen() -> None:
    north_america = NumberRules(allowed_regions=frozenset({"US", "CA"}))
    assert normalize_number("+14165551234", north_america) == "+14165551234"
    lab = NumberRules(allowed_prefixes=("+1555",))
    assert normalize_number("+15551230001", lab) == "+15551230001"
    with pytest.raises(BlockedNumber):
        normalize_number("+18765551234", lab)
    everything = NumberRules(allowed_prefixes=("+",))
    with pytest.raises(BlockedNumber, match="emergency"):
        normalize_number("911", everything)  # never, whatever the policy


def test_stored_numbers_are_checked_again_before_dialing() -> None:
    assert dialable("+14155552671", NumberRules()) is None
    assert "region JM" in (dialable("+18765551234", NumberRules()) or "")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("+15551230001", "+15551230001"), ("1001", "1001"), ("(415) 555-2671", "+14155552671")],
)
def test_caller_numbers_are_normalized(raw: str, shown: str) -> None:
    assert normalize_caller_number(raw, NumberRules()) == shown


@pytest.mark.parametrize("raw", ["1,CB_ID=forged,DB(cb/x)=1", "+1555)1,x", "abc", "1;2", "${X}"])
def test_caller_and_dialed_numbers_with_dialplan_syntax_are_refused(raw: str) -> None:
    with pytest.raises(InvalidNumber):
        normalize_caller_number(raw, NumberRules())
    with pytest.raises(InvalidNumber):
        normalize_dialed_number(raw)


def test_dialed_numbers() -> None:
    assert normalize_dialed_number(" 5000 ") == "5000"
    assert normalize_dialed_number("") == ""
    assert normalize_dialed_number("*98#") == "*98#"


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
