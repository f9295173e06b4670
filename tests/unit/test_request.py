from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agi_app.domain.errors import AnonymousCaller, InvalidExtension, InvalidNumber
from agi_app.domain.numbers import NumberRules
from agi_app.domain.options import parse_options
from agi_app.domain.request import CallFacts, State, build_request, clean_name

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
RULES = NumberRules(allowed_prefixes=("+1555",))  # the test bed's fictional numbers
FACTS = CallFacts(
    channel="1795650000.7",
    caller_number="+15551230001",
    caller_name="Ann Smith",
    presentation="0",
    dialed_number="5000",
    queue_position=2,
    queue_prio=5,
    queue_wait=120,
)


def build(facts: CallFacts, *args: str):  # type: ignore[no-untyped-def]
    return build_request(facts, parse_options(list(args)), RULES, request_id="r1", now=NOW)


def test_request_from_the_queue_keeps_place_and_entry_time() -> None:
    request = build(FACTS, "queue=support", "max_wait=1800", "timeout_prompt=callback/timeout")
    assert request.state is State.PENDING
    assert request.channel == "1795650000.7"
    assert request.callback_number == "+15551230001"
    assert request.caller_name == "Ann Smith"
    assert request.dialed_number == "5000"
    assert request.position == 2
    assert request.priority == 5  # the live level, QUEUE_PRIO 5 -> level 5
    assert request.queue_entered_at == NOW - timedelta(seconds=120)
    assert request.requested_at == NOW
    assert request.expires_at == NOW + timedelta(seconds=1800)
    assert request.timeout_prompt == "callback/timeout"
    assert request.extension is None


def test_component_priority_wins_over_the_live_level() -> None:
    assert build(FACTS, "queue=support", "priority=1").priority == 1
    assert build(replace(FACTS, queue_prio=None), "queue=support").priority == 5
    assert build(replace(FACTS, queue_prio=9), "queue=support").priority == 1


def test_cancel_on_live_answer_is_on_unless_the_dialplan_says_no() -> None:
    assert build(FACTS, "queue=support").cancel_on_live_answer is True
    assert build(FACTS, "queue=support", "cancel_on_live_answer=no").cancel_on_live_answer is False


def test_ivr_request_has_no_position_and_enters_now() -> None:
    facts = replace(FACTS, queue_position=None, queue_prio=None, queue_wait=None)
    request = build(facts, "queue=support")
    assert request.position is None
    assert request.queue_entered_at == NOW


def test_destination_number_uses_the_captured_number() -> None:
    facts = replace(FACTS, destination_value="15551230002")
    request = build(facts, "queue=support", "destination=number", "number_var=CB_NUMBER")
    assert request.callback_number == "+15551230002"
    assert request.caller_number == "+15551230001"


def test_destination_number_works_for_a_withheld_caller() -> None:
    facts = replace(FACTS, caller_number="anonymous", destination_value="5551230002")
    request = build(facts, "queue=support", "destination=number", "number_var=CB_NUMBER")
    assert request.callback_number == "+15551230002"
    assert request.caller_number == ""


def test_destination_extension() -> None:
    facts = replace(FACTS, destination_value="4321")
    request = build(facts, "queue=support", "destination=extension", "extension_var=CB_EXT")
    assert request.callback_number == "+15551230001"
    assert request.extension == "4321"


@pytest.mark.parametrize(
    ("facts", "args", "error"),
    [
        (replace(FACTS, caller_number="anonymous"), (), AnonymousCaller),
        (replace(FACTS, presentation="32"), (), AnonymousCaller),
        (replace(FACTS, caller_number="abc"), (), InvalidNumber),
        (
            replace(FACTS, destination_value=""),
            ("destination=number", "number_var=V"),
            InvalidNumber,
        ),
        (  # the caller ID is shown, not dialed, yet it may not carry dialplan syntax
            replace(
                FACTS, caller_number="1,CB_ID=forged,DB(cb/x)=1", destination_value="15551230002"
            ),
            ("destination=number", "number_var=V"),
            InvalidNumber,
        ),
        (replace(FACTS, dialed_number="5000,x"), (), InvalidNumber),
        (
            replace(FACTS, destination_value="12x"),
            ("destination=extension", "extension_var=V"),
            InvalidExtension,
        ),
    ],
)
def test_refusals(facts: CallFacts, args: tuple[str, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        build(facts, "queue=support", *args)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ('Ann "The Boss" Smith', 'Ann "The Boss" Smith'),
        ('Ann, \\"Boss\\" \\\\ O', 'Ann, "Boss" \\ O'),
        ("Line\nBreak\r\x00", "Line Break"),
        ("  many   spaces ", "many spaces"),
        ("unknown", ""),
        ("x" * 200, "x" * 80),
    ],
)
def test_caller_names_are_cleaned(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_the_consent_says_where_the_caller_pressed_the_key() -> None:
    assert build(FACTS, "queue=support").consent == (
        "phone: the caller pressed the callback key in queue support, having called 5000"
    )
    ivr = build(FACTS, "queue=support", "offer=callback/ivr-offer").consent
    assert ivr.startswith("phone: the caller pressed the callback key in the IVR step callback/")
