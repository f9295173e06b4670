"""Plain HTTP for the tests (stdlib in a thread, and a raw SSE reader: no client library)."""

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from tests.support.testbed import LOOPBACK


def _call(
    url: str, body: dict[str, Any] | None, token: str | None, host: str | None
) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if host:
        headers["Host"] = host
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers=headers, method="POST" if data else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def get(url: str, token: str | None = None, *, host: str | None = None) -> tuple[int, str]:
    return await asyncio.to_thread(_call, url, None, token, host)


async def post(
    url: str, body: dict[str, Any], token: str | None = None, *, host: str | None = None
) -> tuple[int, str]:
    return await asyncio.to_thread(_call, url, body, token, host)


class EventStream:
    """``async with EventStream(url, token) as s``: s.status, then ``await s.next()`` per event.

    A refused stream (status other than 200) keeps its body in ``s.body``.
    """

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url, self.token = urlsplit(url), token
        self.status = 0
        self.body = ""
        self._buffer = b""

    async def __aenter__(self) -> "EventStream":
        host, port = self.url.hostname or LOOPBACK, self.url.port or 80
        self._reader, self._writer = await asyncio.open_connection(host, port)
        auth = f"Authorization: Bearer {self.token}\r\n" if self.token else ""
        self._writer.write(
            f"GET {self.url.path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(self._reader.readuntil(b"\r\n\r\n"), 10)
        self.status = int(head.split(b" ", 2)[1])
        self._chunked = b"transfer-encoding: chunked" in head.lower()
        if self.status != 200:
            self.body = (await self._read_body(head)).decode()
        return self

    async def _read_body(self, head: bytes) -> bytes:
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
                return await asyncio.wait_for(self._reader.readexactly(length), 10)
        return await asyncio.wait_for(self._chunk(), 10)

    async def _chunk(self) -> bytes:
        size = int((await self._reader.readuntil(b"\r\n")).strip(), 16)
        data = await self._reader.readexactly(size + 2)
        return data[:-2]

    async def next(self, within: float = 10) -> dict[str, Any]:
        """The next event's data (JSON)."""
        while b"\n\n" not in self._buffer:
            more = await asyncio.wait_for(
                self._chunk() if self._chunked else self._reader.read(65536), within
            )
            if not more:
                raise EOFError("the stream ended")
            self._buffer += more
        message, self._buffer = self._buffer.split(b"\n\n", 1)
        data = b"".join(
            line.removeprefix(b"data: ") for line in message.split(b"\n") if line[:6] == b"data: "
        )
        result: dict[str, Any] = json.loads(data)
        return result

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
