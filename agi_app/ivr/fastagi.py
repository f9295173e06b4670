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
from datetime import datetime
from typing import Any

from panoramisk.fast_agi import Request

from agi_app.ivr.environment import (
    MAX_HEADER_BYTES,
    BadEnvironment,
    arguments_of,
    parse_environment,
    read_environment,
)

log = logging.getLogger(__name__)


class AgiHangup(Exception):
    """The caller hung up while we were talking to the channel."""


class AgiCommandError(Exception):
    """Asterisk refused or failed an AGI command."""


def quote(value: str) -> str:
    """One AGI argument: quoted, with the characters AGI's parser treats specially escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{escaped}"'


_DIGITS = re.compile(r"[0-9]{1,32}")
_SPOKEN_DATETIME = "A 'digits/at' IMp"  # Asterisk's say.c format: "Monday at 6 PM"
_ZONE = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")  # an IANA name: no spaces, quotes
_ESCAPE_KEYS = re.compile(r"[0-9*#]{0,12}")


def _keys(escape_digits: str) -> str:
    if not _ESCAPE_KEYS.fullmatch(escape_digits):
        raise ValueError(f"escape digits must be 0-9, * and #, not {escape_digits!r}")
    return escape_digits


def key_of(result: dict[str, Any]) -> str:
    """STREAM FILE, SAY DIGITS and SAY NUMBER answer the ASCII code of the key that stopped
    them, or 0."""
    value, _ = result.get("result", ("0", ""))
    try:
        code = int(value)
    except ValueError:
        return ""
    return chr(code) if 0 < code < 128 else ""


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

    async def stream_file(self, prompt: str, escape_digits: str = "") -> str:
        """Play a prompt; the escape key that cut it short, or '' when it played out."""
        return key_of(
            await self.command(f'STREAM FILE {prompt} "{_keys(escape_digits)}"', wait=120)
        )

    async def say_digits(self, digits: str, escape_digits: str = "") -> str:
        """Say ``digits`` one by one in the channel's language; the escape key that cut it
        short, or '' when it played out."""
        if not _DIGITS.fullmatch(digits):
            raise ValueError(f"SAY DIGITS takes 0-9 only, not {digits!r}")
        line = f'SAY DIGITS {digits} "{_keys(escape_digits)}"'
        return key_of(await self.command(line, wait=120))

    async def say_datetime(self, at: datetime, zone: str, escape_digits: str = "") -> str:
        """Say a day and time ("Monday at 6 PM", Asterisk's own prompts) as a clock in ``zone``
        shows it; the escape key that cut it short, or ''."""
        if not _ZONE.fullmatch(zone):
            raise ValueError(f"not a time zone name: {zone!r}")
        when = f'{int(at.timestamp())} "{_keys(escape_digits)}"'
        line = f'SAY DATETIME {when} "{_SPOKEN_DATETIME}" {zone}'
        return key_of(await self.command(line, wait=120))


Handler = Callable[[AgiChannel], Awaitable[None]]

# Seconds a stop (SIGTERM) waits for sessions in flight: a session is a few round trips, or
# a caller choosing a time or confirming a number; systemd's stop timeout is far longer.
STOP_GRACE = 5.0


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
            self._serve, host, port, limit=MAX_HEADER_BYTES, reuse_address=True
        )

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def route(self, script: str) -> Handler | None:
        """The handler serving ``script`` (a reload gives it new settings)."""
        return self._routes.get(script)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Take no new session, let those in flight finish for up to ``grace`` seconds (a
        caller mid-request still hears whether it was taken), then end the rest."""
        if self._server is not None:
            self._server.close()  # new connections are refused from here on
        if in_flight := set(self._sessions):
            log.info("fastagi stopping: %d in flight, %.0fs to finish", len(in_flight), grace)
            _, late = await asyncio.wait(in_flight, timeout=grace)
            if late:
                log.warning("fastagi stopping: %d not finished in %.0fs, ended", len(late), grace)
                for task in late:
                    task.cancel()
                await asyncio.wait(late, timeout=grace)
        if self._server is not None:
            await self._server.wait_closed()  # since Python 3.12 it also waits for connections

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
                text = await read_environment(reader, self._header_timeout)
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
