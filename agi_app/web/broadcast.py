"""One Live view snapshot for every SSE client.

A snapshot costs Asterisk one QueueStatus per queue with waiting callbacks. One task computes
it, on each change (bursts coalesced) and at least every second (the waited time ticks), and
only while someone watches; every client waits for the next one. So the AMI and CPU cost does
not grow with the number of open browsers, and ``StreamLimits`` bound the connections
themselves: per credential, and per pool (agents apart from viewers and supervisors), so that
one token, or every agent together, cannot take the places of the others.
"""

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from agi_app.config.credentials import Principal, Role

log = logging.getLogger(__name__)

Snapshot = dict[str, Any]


# Streams one credential may hold open (tabs, the Live view and the supervisor's screen
# together) unless it names its own ``max_streams``.
PER_CREDENTIAL = 10


class Full(Exception):
    """A stream refused: 429 when its credential holds its most already, 503 when its pool is
    full; ``message`` says which."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class StreamLimits:
    """The open SSE streams of one web server, every endpoint's together: at most
    ``per_credential`` per credential name (or the credential's own ``max_streams``), and at
    most ``pool`` in each pool: the agents' streams, and the viewers' and supervisors'."""

    def __init__(self, pool: int, per_credential: int = PER_CREDENTIAL) -> None:
        self.pool, self.per_credential = pool, per_credential
        self.by_name: Counter[str] = Counter()
        self.by_pool: Counter[str] = Counter()

    @staticmethod
    def pool_of(principal: Principal) -> str:
        return "agents" if principal.role is Role.AGENT else "viewers and supervisors"

    def take(self, principal: Principal) -> Callable[[], None]:
        """Take a place, or raise Full; the function returned gives it back (once)."""
        name, pool = principal.name, self.pool_of(principal)
        most = min(principal.max_streams or self.per_credential, self.pool)
        if self.by_name[name] >= most:
            raise Full(
                f"credential {name!r} has {most} live streams open, its most: close one "
                "(another tab or screen) and try again",
                429,
            )
        if self.by_pool[pool] >= self.pool:
            raise Full(f"too many live views of {pool} open; try again later", 503)
        self.by_name[name] += 1
        self.by_pool[pool] += 1
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if not given_back:
                given_back = True
                self.by_name[name] -= 1
                self.by_pool[pool] -= 1
                if not self.by_name[name]:
                    del self.by_name[name]

        return give_back


class Broadcaster:
    def __init__(
        self,
        compute: Callable[[], Awaitable[Snapshot]],
        changed: Callable[[], asyncio.Event],
        *,
        refresh_s: float = 1.0,
        min_gap_s: float = 0.2,
    ) -> None:
        self._compute = compute
        self._changed = changed
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
        """One more client (StreamLimits admitted it); ``leave()`` when it goes."""
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
