"""The FastAGI environment parser: caller text stays a value, whatever characters it holds."""

import pytest

from agi_app.ivr.environment import BadEnvironment, arguments_of, parse_environment
from tests.support.fake_asterisk import AgiCall

ARGS = ["queue=support", "priority=5"]


def environment(calleridname: str = "Ann Smith") -> str:
    """What Asterisk sends, without the blank line that ends it."""
    return AgiCall(ARGS, calleridname=calleridname).environment().decode()[:-2]


# Every character str.splitlines() treats as a line break, except "\n" itself.
BREAKS = ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c", "\r"]


def test_asterisk_environment_is_read_whole() -> None:
    env = parse_environment(environment())
    assert env["agi_callerid"] == "+15551230001"
    assert env["agi_accountcode"] == ""
    assert [env["agi_arg_1"], env["agi_arg_2"]] == ARGS
    assert list(env)[:3] == ["agi_network", "agi_network_script", "agi_request"]


@pytest.mark.parametrize("brk", BREAKS, ids=[f"U+{ord(b):04X}" for b in BREAKS])
def test_a_line_break_in_the_name_stays_in_the_name(brk: str) -> None:
    name = f"Bob{brk}agi_callerid: +15559990000{brk}agi_uniqueid: forged{brk}agi_arg_3: x=y"
    env = parse_environment(environment(calleridname=name))
    assert env["agi_calleridname"] == name
    assert env["agi_callerid"] == "+15551230001"
    assert env["agi_uniqueid"] == "1795650000.1"
    assert "agi_arg_3" not in env


@pytest.mark.parametrize(
    ("injected", "reason"),
    [
        ("agi_callerid: +15559990000", "repeated key 'agi_callerid'"),
        ("agi_uniqueid: forged", "repeated key 'agi_uniqueid'"),
        ("agi_arg_1: queue=other", "repeated key 'agi_arg_1'"),
        ("agi_arg_3: priority=1", "key 'agi_arg_3' out of place"),
        ("agi_callingpres: 0", "repeated key 'agi_callingpres'"),
        ("agi_evil: 1", "unknown key 'agi_evil'"),
        ("agi_arg_128: x", "unknown key 'agi_arg_128'"),
        ("no key here", "line without a key"),
    ],
)
def test_a_smuggled_line_refuses_the_environment(injected: str, reason: str) -> None:
    with pytest.raises(BadEnvironment, match=reason):
        parse_environment(environment(calleridname=f"Bob\n{injected}"))


def test_a_name_that_ends_the_environment_early_is_a_missing_key() -> None:
    cut = environment(calleridname="Bob").split("agi_callingpres")[0].rstrip("\n")
    with pytest.raises(BadEnvironment, match="missing key 'agi_callingpres'"):
        parse_environment(cut)


def test_arguments_must_follow_the_channel_keys_in_order() -> None:
    text = environment().replace("agi_arg_2", "agi_arg_3")
    with pytest.raises(BadEnvironment, match="missing key 'agi_arg_2'"):
        parse_environment(text)


def test_a_script_less_url_has_no_script_key() -> None:
    text = environment().replace("agi_network_script: callback\n", "")
    assert "agi_network_script" not in parse_environment(text)


def test_refused_environment_keeps_the_real_arguments_for_its_error_prompt() -> None:
    # Asterisk writes the AGI() arguments after every caller value, so the last line wins.
    text = environment(calleridname="Bob\nagi_arg_1: error=callback/forged")
    assert arguments_of(text) == ARGS
