"""FastAGI over asyncio: panoramisk parses the protocol, this adapter adds what it lacks.

panoramisk's own connection handler spins forever on a peer that closes before its headers
and serves anyone; here the headers are read with a size and time limit, only configured
peers are served, and each AGI command is a typed async method.
"""

import asyncio
import logging
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
        self.args = [self.env[f"agi_arg_{n}"] for n in range(1, 129) if f"agi_arg_{n}" in self.env]

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
        error = result.get("error")
        if error == "AGIResultHangup":
            raise AgiHangup(line)
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


async def _read_env(reader: asyncio.StreamReader, limit: float) -> dict[str, str]:
    raw = await asyncio.wait_for(reader.readuntil(b"\n\n"), limit)
    if len(raw) > _MAX_HEADER_BYTES:
        raise ValueError("AGI environment too large")
    env: dict[str, str] = {}
    for line in raw.decode("utf-8", errors="replace").splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            env[name] = value
    return env


class FastAgiServer:
    """Serves one route per script name, only to allowed peers."""

    def __init__(
        self,
        routes: dict[str, Handler],
        *,
        allowed_peers: Collection[str],
        header_timeout: float = 5.0,
        command_timeout: float = 30.0,
    ) -> None:
        self._routes = routes
        self._allowed = frozenset(allowed_peers)
        self._header_timeout = header_timeout
        self._command_timeout = command_timeout
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

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
        try:
            if not peer or peer[0] not in self._allowed:
                log.warning("fastagi refused peer=%s: not in agi_allowed_peers", peer)
                return
            try:
                env = await _read_env(reader, self._header_timeout)
            except (
                TimeoutError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ValueError,
            ) as exc:
                log.warning("fastagi bad session peer=%s: %s", peer, exc or type(exc).__name__)
                return
            script = env.get("agi_network_script", "")
            handler = self._routes.get(script)
            if handler is None:
                log.error("fastagi no route for script=%r peer=%s", script, peer)
                return
            request = Request(app=None, headers=env, reader=reader, writer=writer)
            await handler(AgiChannel(env, request, self._command_timeout))
        except AgiHangup:
            log.info("fastagi caller hung up channel=%s", peer)
        except Exception:
            log.exception("fastagi handler failed peer=%s", peer)
        finally:
            self._sessions.discard(task)
            writer.close()
