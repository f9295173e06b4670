import pytest
from hypothesis import given
from hypothesis import strategies as st

from agi_app.domain.errors import InvalidOptions
from agi_app.domain.options import (
    DEFAULT_ERROR,
    ComponentOptions,
    Destination,
    error_prompt,
    parse_options,
)


def test_full_options_parse_with_types() -> None:
    options = parse_options(
        [
            "queue=support",
            "priority=1",
            "destination=extension",
            "extension_var=CALLBACK_EXTENSION",
            "max_wait=600",
            "success=callback/ok",
            "error=callback/bad",
            "timeout_prompt=callback/timeout",
            "key=#",
            "",  # unused Gosub slots arrive as empty arguments
            "",
        ]
    )
    assert options == ComponentOptions(
        queue="support",
        priority=1,
        destination=Destination.EXTENSION,
        extension_var="CALLBACK_EXTENSION",
        max_wait=600,
        success="callback/ok",
        error="callback/bad",
        timeout_prompt="callback/timeout",
        key="#",
    )


def test_defaults() -> None:
    options = parse_options(["queue=support"])
    assert options.destination is Destination.ORIGINAL
    assert options.priority is None
    assert options.max_wait == 1800
    assert options.key == "1"
    assert options.offer is None
    assert options.timeout_prompt is None


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "queue"),
        (["queue=support", "priority=0"], "priority"),
        (["queue=support", "priority=11"], "priority"),
        (["queue=support", "priority=high"], "priority"),
        (["queue=support", "destination=elsewhere"], "destination"),
        (["queue=support", "destination=number"], "number_var"),
        (["queue=support", "destination=extension"], "extension_var"),
        (["queue=support", "max_wait=0"], "max_wait"),
        (["queue=support", "key=12"], "key"),
        (["queue=support", "colour=blue"], "colour"),
        (["queue=support", "queue=sales"], "twice"),
        (["queue=support", "justaword"], "name=value"),
        (["queue=sup port"], "queue"),
        (["queue=support", "success=../../etc/passwd"], "success"),
        (["queue=support", "error=/abs/path"], "error"),
        (["queue=support", 'success=a"b'], "success"),
        (["queue=support", "number_var=${EVIL}"], "number_var"),
    ],
)
def test_bad_options_are_refused_with_the_reason(args: list[str], fragment: str) -> None:
    with pytest.raises(InvalidOptions) as caught:
        parse_options(args)
    assert fragment in str(caught.value)
    assert caught.value.code == "invalid-options"


def test_error_prompt_survives_other_bad_options() -> None:
    assert error_prompt(["priority=99", "error=callback/custom-error"]) == "callback/custom-error"
    assert error_prompt(["queue=support", "error=../x"]) == DEFAULT_ERROR
    assert error_prompt(["garbage"]) == DEFAULT_ERROR


_names = st.sampled_from(
    ["queue", "priority", "destination", "max_wait", "key", "success", "x", "", " "]
)


@given(st.lists(st.tuples(_names, st.text(max_size=30)), max_size=8))
def test_parser_only_ever_returns_valid_options_or_invalid_options(
    pairs: list[tuple[str, str]],
) -> None:
    args = [f"{name}={value}" for name, value in pairs]
    try:
        options = parse_options(args)
    except InvalidOptions:
        return
    assert 1 <= (options.priority or 1) <= 10
    assert options.queue
    assert ".." not in options.success and ".." not in options.error


@given(st.lists(st.text(max_size=40), max_size=10))
def test_error_prompt_is_always_a_safe_prompt(args: list[str]) -> None:
    prompt = error_prompt(args)
    assert prompt == DEFAULT_ERROR or ComponentOptions(queue="q", error=prompt).error == prompt
