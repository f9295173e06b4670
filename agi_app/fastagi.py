"""FastAGI over asyncio: panoramisk parses the protocol, this adapter adds what it lacks.

panoramisk's own connection handler spins forever on a peer that closes before its headers
and serves anyone; here the headers are read with a size and time limit, only configured
peers are served, and each AGI command is a typed async method.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from panoramisk.fast_agi import Request

log = logging.getLogger(__name__)

_MAX_HEADER_BYTES = 16 * 1024


class AgiHangup(Exception):
    """The caller hung up while we were talking to the channel."""


class AgiCommandError(Exception):
    """Asterisk refused or failed an AGI command."""


def quote(value: str) -> str:
    """One AGI argument: quoted, with the characters AGI's parser treats specially escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{escaped}"'


@dataclass
class AgiChannel:
    """The channel on the other end of one FastAGI session."""

    env: dict[str, str]
    request: Request
    command_timeout: float = 30.0
    args: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.args = []
        while (arg := self.env.get(f"agi_arg_{len(self.args) + 1}")) is not None:
            self.args.append(arg)

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    async def command(self, line: str, *, wait: float | None = None) -> dict[str, Any]:
        try:
            async with asyncio.timeout(wait or self.command_timeout):  # no task per command
                result: dict[str, Any] = await self.request.send_command(line)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            raise AgiHangup(f"{line.split()[0]}: connection lost") from exc
        except TimeoutError as exc:
            raise AgiCommandError(f"{line!r}: no answer from Asterisk") from exc
        except ValueError as exc:  # panoramisk cannot parse the reply, or there was none
            if self.request.reader.at_eof():
                raise AgiHangup(f"{line.split()[0]}: connection closed") from exc
            raise AgiCommandError(f"{line!r}: unreadable reply") from exc
        error = result.get("error")
        if error == "AGIResultHangup":
            raise AgiHangup(line)
        if error and self.request.reader.at_eof():  # closed instead of answering
            raise AgiHangup(f"{line.split()[0]}: connection closed")
        if error:
            raise AgiCommandError(f"{line!r}: {error} {result.get('msg', '')}".strip())
        return result

    async def get_variable(self, name: str) -> str | None:
        result = await self.command(f"GET VARIABLE {name}")
        value, data = result.get("result", ("0", ""))
        return data if value == "1" else None

    async def get_full_variable(self, expression: str) -> str | None:
        result = await self.command(f"GET FULL VARIABLE {quote(expression)}")
        value, data = result.get("result", ("0", ""))
        return data if value == "1" else None

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {name} {quote(value)}")

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        """Play a prompt and collect up to ``max_digits`` keys; '' when none was pressed."""
        result = await self.command(
            f"GET DATA {prompt} {timeout_ms} {max_digits}", wait=300 + timeout_ms / 1000
        )
        value, _ = result.get("result", ("", ""))
        return str(value)


Handler = Callable[[AgiChannel], Awaitable[None]]


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


class BadEnvironment(ValueError):
    """An AGI environment Asterisk would not have sent: refused, whatever its values say."""


def _known(name: str) -> bool:
    if name in _NETWORK_KEYS or name in _CHANNEL_KEYS:
        return True
    match = _ARG_KEY.fullmatch(name)
    return match is not None and int(match[1]) <= _MAX_ARGS


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
        if not _known(name):
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


async def _read_env(reader: asyncio.StreamReader, limit: float) -> str:
    raw = await asyncio.wait_for(reader.readuntil(b"\n\n"), limit)
    if len(raw) > _MAX_HEADER_BYTES:
        raise ValueError("AGI environment too large")
    return raw[:-2].decode("utf-8", errors="replace")


class FastAgiServer:
    """Serves one route per script name, only to allowed peers, at most ``max_sessions`` at a
    time. A session that cannot be served (over the cap, or an environment Asterisk would not
    have sent) goes to ``refuse`` instead, which tells the dialplan so (the caller hears an
    error prompt at once rather than waiting or hearing nothing)."""

    def __init__(
        self,
        routes: dict[str, Handler],
        *,
        allowed_peers: Collection[str],
        header_timeout: float = 5.0,
        command_timeout: float = 30.0,
        max_sessions: int = 256,
        refuse: Handler | None = None,
    ) -> None:
        self._routes = routes
        self._allowed = frozenset(allowed_peers)
        self._header_timeout = header_timeout
        self._command_timeout = command_timeout
        self._max_sessions = max_sessions
        self._refuse = refuse
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._handling = 0  # sessions inside a route's handler

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(
            self._serve, host, port, limit=_MAX_HEADER_BYTES, reuse_address=True
        )

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self, grace: float = 10.0) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._sessions:
            await asyncio.wait(self._sessions, timeout=grace)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        peer = writer.get_extra_info("peername")
        channel = "-"
        try:
            if not peer or peer[0] not in self._allowed:
                log.warning("fastagi refused peer=%s: not in agi_allowed_peers", peer)
                return
            try:
                text = await _read_env(reader, self._header_timeout)
            except (
                TimeoutError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ValueError,
            ) as exc:
                log.warning("fastagi bad session peer=%s: %s", peer, exc or type(exc).__name__)
                return
            try:
                env = parse_environment(text)
            except BadEnvironment as exc:
                log.warning("fastagi refused environment peer=%s: %s", peer, exc)
                args = {f"agi_arg_{n}": a for n, a in enumerate(arguments_of(text), start=1)}
                await self._refused(AgiChannel(args, Request(None, args, reader, writer)))
                return
            channel = env["agi_uniqueid"]
            script = env.get("agi_network_script", "")
            handler = self._routes.get(script)
            if handler is None:
                log.error("fastagi no route for script=%r peer=%s", script, peer)
                return
            agi = AgiChannel(env, Request(None, env, reader, writer), self._command_timeout)
            if self._handling >= self._max_sessions:
                log.warning(
                    "fastagi busy channel=%s: %d sessions already (agi_max_sessions),"
                    " refused with the error prompt",
                    channel,
                    self._handling,
                )
                await self._refused(agi)
                return
            self._handling += 1
            try:
                await handler(agi)
            finally:
                self._handling -= 1
        except AgiHangup as exc:
            log.info("fastagi caller hung up channel=%s peer=%s: %s", channel, peer, exc)
        except Exception:
            log.exception("fastagi handler failed channel=%s peer=%s", channel, peer)
        finally:
            self._sessions.discard(task)
            writer.close()

    async def _refused(self, agi: AgiChannel) -> None:
        if self._refuse is None:
            return  # the dialplan's own fallback applies
        agi.command_timeout = min(agi.command_timeout, self._header_timeout)
        try:
            await self._refuse(agi)
        except AgiCommandError as exc:
            log.warning("fastagi refusal not delivered: %s", exc)
