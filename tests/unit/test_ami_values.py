"""What the service sends to AMI cannot carry caller text that adds variables or headers."""

import pytest

from agi_app.pbx.ami import UnsafeValue, _check_header_values, originate_variables


def test_honest_values_pass() -> None:
    assert originate_variables(
        {
            "__CB_ID": "0b6f2f9e-8a40-4c38-9a53-3f1f0f7c2d11",
            "__CB_CALLER_NUMBER": "+15551230001",
            "__CB_EXTENSION": "12*3#",
            "__CB_REQUESTED_AT": "2026-11-26T09:30:00.123456+00:00",
            "__CB_CALLER_NAME_B64": "Qm9iICJCb3NzIg==",
            "CB_DIAL_OPTIONS": "D(ww123#)",
            "CB_POSITION": 2,
        }
    ) == [
        "__CB_ID=0b6f2f9e-8a40-4c38-9a53-3f1f0f7c2d11",
        "__CB_CALLER_NUMBER=+15551230001",
        "__CB_EXTENSION=12*3#",
        "__CB_REQUESTED_AT=2026-11-26T09:30:00.123456+00:00",
        "__CB_CALLER_NAME_B64=Qm9iICJCb3NzIg==",
        "CB_DIAL_OPTIONS=D(ww123#)",
        "CB_POSITION=2",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "1,CB_ID=forged,DB(cb/x)=1",  # Asterisk splits Variable on commas
        "+1555&PJSIP/+18765551234@pstn",  # a second Dial() target
        "${SHELL(id)}",
        "$[1+1]",
        'Bob "Boss"',
        "a\\b",
        "x|y",
        "line\r\nAction: Originate",
        "+1555 123",
    ],
)
def test_values_that_could_split_evaluate_or_quote_are_refused(value: str) -> None:
    with pytest.raises(UnsafeValue):
        originate_variables({"__CB_CALLER_NUMBER": value})


def test_variable_names_are_ours_alone() -> None:
    with pytest.raises(UnsafeValue):
        originate_variables({"DB(cb/x)": "1"})


def test_no_header_value_may_start_another_header() -> None:
    _check_header_values({"Action": "UserEvent", "CallerName": "Bob O'Neil, Jr. ${X}"})
    with pytest.raises(UnsafeValue):
        _check_header_values({"Action": "UserEvent", "CallerName": "Bob\r\nAction: Originate"})
    with pytest.raises(UnsafeValue):
        _check_header_values({"Action": "Originate", "Variable": ["A=1", "B=2\nC=3"]})
