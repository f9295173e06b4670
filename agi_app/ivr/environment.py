"""The AGI environment a FastAGI session starts with: checked to be what Asterisk would send,
one key per line in its order, before anything in it is believed."""

import asyncio
import re

MAX_HEADER_BYTES = 16 * 1024


# What Asterisk 22 sends, in this order (res/res_agi.c: launch_netscript, then setup_env):
# agi_network_script only when the AGI URL names a script, then the AGI() arguments.
_NETWORK_KEYS = ("agi_network", "agi_network_script")
_CHANNEL_KEYS = (
    "agi_request",
    "agi_channel",
    "agi_language",
    "agi_type",
    "agi_uniqueid",
    "agi_version",
    "agi_callerid",
    "agi_calleridname",
    "agi_callingpres",
    "agi_callingani2",
    "agi_callington",
    "agi_callingtns",
    "agi_dnid",
    "agi_rdnis",
    "agi_context",
    "agi_extension",
    "agi_priority",
    "agi_enhanced",
    "agi_accountcode",
    "agi_threadid",
)
_MAX_ARGS = 127  # AGI() takes MAX_ARGS (128) words in res_agi.c, the script's included
_ARG_KEY = re.compile(r"agi_arg_([1-9][0-9]{0,2})")
# Every key Asterisk may send, looked up once per line (a set, not a pattern per line).
_KNOWN = frozenset(
    (*_NETWORK_KEYS, *_CHANNEL_KEYS, *(f"agi_arg_{n}" for n in range(1, _MAX_ARGS + 1)))
)


class BadEnvironment(ValueError):
    """An AGI environment Asterisk would not have sent: refused, whatever its values say."""


def parse_environment(text: str) -> dict[str, str]:
    """The environment's ``name: value`` lines (without the blank line that ends them).

    Every key Asterisk sends must be there, once, in Asterisk's order, then the arguments
    numbered from 1: a value that smuggles a line in shows up as a repeated, unknown or
    misplaced key, and a value that ends the environment early as a missing one.
    """
    env: dict[str, str] = {}
    # "\n" only: Asterisk ends each line with it, and a caller's name may hold any other
    # line break (U+2028, U+0085, \x1c, \r...) that str.splitlines() would also split on.
    for line in text.split("\n"):
        name, sep, value = line.partition(": ")
        if not sep:
            raise BadEnvironment(f"line without a key: {line[:40]!r}")
        if name not in _KNOWN:
            raise BadEnvironment(f"unknown key {name[:40]!r}")
        if name in env:
            raise BadEnvironment(f"repeated key {name!r}")
        env[name] = value
    network = _NETWORK_KEYS if "agi_network_script" in env else _NETWORK_KEYS[:1]
    args = sum(1 for name in env if name.startswith("agi_arg_"))
    expected = [*network, *_CHANNEL_KEYS, *(f"agi_arg_{n}" for n in range(1, args + 1))]
    if list(env) != expected:
        missing = [name for name in expected if name not in env]
        if missing:
            raise BadEnvironment(f"missing key {missing[0]!r}")
        misplaced = next(got for got, want in zip(env, expected, strict=True) if got != want)
        raise BadEnvironment(f"key {misplaced!r} out of place")
    return env


def arguments_of(text: str) -> list[str]:
    """The AGI() arguments of an environment that was refused, for its error prompt: the
    last line for each number wins, as Asterisk writes the real ones after every value."""
    lines = (line.partition(": ") for line in text.split("\n"))
    found = {name: value for name, _, value in lines if _ARG_KEY.fullmatch(name)}
    args: list[str] = []
    while (value := found.get(f"agi_arg_{len(args) + 1}")) is not None:
        args.append(value)
    return args


async def read_environment(reader: asyncio.StreamReader, limit: float) -> str:
    async with asyncio.timeout(limit):
        raw = await reader.readuntil(b"\n\n")
    if len(raw) > MAX_HEADER_BYTES:
        raise ValueError("AGI environment too large")
    return raw[:-2].decode("utf-8", errors="replace")
