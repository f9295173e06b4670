"""One Live view snapshot for every SSE client.

A snapshot costs Asterisk one QueueStatus per queue with waiting callbacks. One task computes
it, on each change (bursts coalesced) and at least every second (the waited time ticks), and
only while someone watches; every client waits for the next one. So the AMI and CPU cost does
not grow with the number of open browsers, and a cap bounds the connections themselves.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Snapshot = dict[str, Any]


class Full(Exception):
    """As many clients as the cap allows are watching already."""


class Broadcaster:
    def __init__(
        self,
        compute: Callable[[], Awaitable[Snapshot]],
        changed: Callable[[], asyncio.Event],
        *,
        max_clients: int,
        refresh_s: float = 1.0,
        min_gap_s: float = 0.2,
    ) -> None:
        self._compute = compute
        self._changed = changed
        self.max_clients = max_clients
        self._refresh_s = refresh_s
        self._min_gap_s = min_gap_s  # a burst of changes gives one snapshot, not one each
        self.clients = 0
        self.computed = 0  # snapshots computed so far (the tests and the benchmark count them)
        self._snapshot: Snapshot = {}
        self._encoded = b""
        self._version = 0
        self._published = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def join(self) -> None:
        """Take a client's place, or raise Full; ``leave()`` gives it back."""
        if self.clients >= self.max_clients:
            raise Full
        self.clients += 1
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def leave(self) -> None:
        self.clients -= 1
        if self.clients == 0 and self._task is not None:
            self._task.cancel()
            self._task = None
            self._encoded = b""  # whoever joins next waits for a fresh snapshot

    async def updates(self) -> AsyncIterator[tuple[Snapshot, bytes]]:
        """Each snapshot from now on (the latest at once if there is one), with its JSON."""
        seen = 0
        while True:
            published = self._published
            if self._version > seen and self._encoded:
                seen = self._version
                yield self._snapshot, self._encoded
                continue
            await published.wait()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            changed = self._changed()
            started = loop.time()
            try:
                snapshot = await self._compute()
            except Exception:  # a store or AMI hiccup: the next tick tries again
                log.exception("live view snapshot failed")
            else:
                self.computed += 1
                self._snapshot, self._encoded = snapshot, json.dumps(snapshot).encode()
                self._version += 1
                self._published.set()
                self._published = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._refresh_s):
                    await changed.wait()
            await asyncio.sleep(max(0.0, started + self._min_gap_s - loop.time()))
