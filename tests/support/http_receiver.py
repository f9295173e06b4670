"""A real HTTP receiver for the webhook tests: an asyncio HTTP/1.1 server on LOOPBACK that keeps
every POST in arrival order, checks each signature with the verification snippet of
docs/how-to/webhooks.md (written here independently of the product's code), answers
``status``, and can be taken down (connections refused, open ones closed) and brought back on
the same port.
"""

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from agi_app.domain.event_log import LoggedEvent
from tests.support.testbed import LOOPBACK


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The snippet of docs/how-to/webhooks.md: header is X-Callback-Signature, body the raw
    request body."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, sent = fields.get("t", ""), fields.get("v1", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False  # too old, or from the future: a replay
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, sent)


@dataclass(frozen=True)
class Delivery:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    signed: bool  # the signature verified with the receiver's secret
    answered: int  # the status the receiver answered

    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    @property
    def event_id(self) -> int:
        return int(self.headers["x-callback-event-id"])


class HttpReceiver:
    def __init__(self, secret: str, *, port: int = 0, status: int = 204) -> None:
        self.secret = secret
        self.port = port
        self.status = status  # what it answers from now on
        self.delay = 0.0  # seconds it takes before answering (a slow receiver)
        self.deliveries: list[Delivery] = []  # every request, in arrival order
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/hooks/callback"

    def accepted(self) -> list[Delivery]:
        """The deliveries it answered 2xx, in arrival order."""
        return [d for d in self.deliveries if 200 <= d.answered < 300]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Down: the port refuses connections, and open ones are closed."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        line = await reader.readline()
        if not line:
            return False
        method, path, _version = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.status
        signed = verify(self.secret, headers.get("x-callback-signature", ""), body)
        self.deliveries.append(Delivery(method, path, headers, body, signed, status))
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        return headers.get("connection", "").lower() != "close"


def carried(deliveries: list[Delivery]) -> list[tuple[Any, ...]]:
    """The log row each body carries: its place in the log, request, event, state, detail, time."""
    bodies = [d.json() for d in deliveries]
    return [
        (b["id"], b["request_id"], b["event"], b["state"], b["detail"], b["at"]) for b in bodies
    ]


def logged(rows: list[LoggedEvent]) -> list[tuple[Any, ...]]:
    """The same, from the store's rows."""
    return [
        (
            r.seq,
            r.event.request_id,
            r.event.event,
            r.event.state,
            r.event.detail,
            r.event.at.isoformat(),
        )
        for r in rows
    ]


def first_arrivals(deliveries: list[Delivery]) -> list[Delivery]:
    """Each event once, at its first arrival (at least once: a re-sent one arrives again)."""
    seen: set[int] = set()
    firsts = []
    for d in deliveries:
        if d.event_id not in seen:
            seen.add(d.event_id)
            firsts.append(d)
    return firsts
