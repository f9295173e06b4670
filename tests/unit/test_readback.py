"""The read-back dialogue on a scripted channel: what the caller hears, which number wins."""

import pytest

from agi_app.domain.errors import BlockedNumber, InvalidNumber
from agi_app.domain.numbers import NumberRules, normalize_number
from agi_app.ivr.readback import NotConfirmed, read_back

RULES = NumberRules(allowed_prefixes=("+1555",))


class ScriptedCaller:
    """A channel whose caller presses the scripted keys: one answer per AGI command, '' for
    a command the caller lets play out (or lets time out)."""

    uniqueid = "1795650000.1"

    def __init__(self, *answers: str) -> None:
        self._answers = list(answers)
        self.heard: list[str] = []

    def _next(self) -> str:
        return self._answers.pop(0) if self._answers else ""

    async def stream_file(self, prompt: str, escape_digits: str = "") -> str:
        assert escape_digits == "12"
        self.heard.append(prompt)
        return self._next()

    async def say_digits(self, digits: str, escape_digits: str = "") -> str:
        assert escape_digits == "12"
        self.heard.append(f"digits {digits}")
        return self._next()

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        self.heard.append(f"{prompt} ({timeout_ms} ms, {max_digits})")
        return self._next()


def build(number: str) -> str:
    return normalize_number(number, RULES)


READBACK = ["callback/number-readback", "digits 5551239999", "callback/confirm-number (5000 ms, 1)"]
ENTER = "callback/enter-number (10000 ms, 15)"


async def test_confirmed_at_once_is_the_typed_number() -> None:
    caller = ScriptedCaller("", "", "1")
    assert await read_back(caller, "5551239999", build) == "+15551239999"
    assert caller.heard == READBACK


async def test_the_digits_read_back_are_the_typed_ones_without_separators() -> None:
    caller = ScriptedCaller("", "", "1")
    assert await read_back(caller, "(555) 123-9999", build) == "+15551239999"
    assert caller.heard[1] == "digits 5551239999"  # not 15551239999, the E.164 form


async def test_re_entered_then_confirmed_is_the_second_number() -> None:
    caller = ScriptedCaller("", "", "2", "5551237777", "", "", "1")
    assert await read_back(caller, "5551239999", build) == "+15551237777"
    assert caller.heard == [
        *READBACK,
        ENTER,
        "callback/number-readback",
        "digits 5551237777",
        "callback/confirm-number (5000 ms, 1)",
    ]


async def test_a_key_during_the_read_back_answers_at_once() -> None:
    caller = ScriptedCaller("", "2", "5551237777", "1")
    assert await read_back(caller, "5551239999", build) == "+15551237777"
    assert caller.heard == [
        "callback/number-readback",
        "digits 5551239999",
        ENTER,
        "callback/number-readback",
    ]


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("911", BlockedNumber),  # emergency
        ("011881612345678", BlockedNumber),  # a satellite network
        ("12", InvalidNumber),
        ("", InvalidNumber),  # nothing typed before the time-out
        ("555*1239999", InvalidNumber),
    ],
)
async def test_a_refused_re_entry_ends_the_dialogue(typed: str, error: type[Exception]) -> None:
    caller = ScriptedCaller("", "", "2", typed, "1")
    with pytest.raises(error):
        await read_back(caller, "5551239999", build)
    assert caller.heard == [*READBACK, ENTER]  # never read back, never confirmed


@pytest.mark.parametrize("answer", ["", "3", "#", "*"])
async def test_no_key_or_another_key_is_not_a_confirmation(answer: str) -> None:
    caller = ScriptedCaller("", "", answer)
    with pytest.raises(NotConfirmed) as raised:
        await read_back(caller, "5551239999", build)
    assert raised.value.code == "not-confirmed"
    assert caller.heard == READBACK


async def test_three_read_backs_at_most() -> None:
    caller = ScriptedCaller(
        *["", "", "2", "5551230101"], *["", "", "2", "5551230102"], *["", "", "2", "5551230103"]
    )
    with pytest.raises(NotConfirmed, match="3 read-backs"):
        await read_back(caller, "5551239999", build)
    assert caller.heard.count("callback/number-readback") == 3
    assert caller.heard.count(ENTER) == 2  # no third re-entry is asked for


async def test_the_first_number_is_checked_before_it_is_read_back() -> None:
    caller = ScriptedCaller("", "", "1")
    with pytest.raises(BlockedNumber):
        await read_back(caller, "911", build)
    assert caller.heard == []
