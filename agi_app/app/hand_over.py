"""The serving role handed over between processes sharing a PostgreSQL store: a process stands
by until the database makes it the serving one, then serves with its writes fenced by its
epoch, and ends (exit non-zero, restarted as a standby) when the role is lost. On SQLite there
is one process, and it serves at once (SoloLeadership)."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from agi_app.store.open import Leadership, NotLeader, ServiceStore

StartServing = Callable[[ServiceStore, Leadership], Awaitable[None]]


class HandOver:
    def __init__(self, leadership: Leadership, start_serving: StartServing) -> None:
        self._leadership = leadership
        self._start_serving = start_serving
        self._leads = asyncio.Event()  # the database made this process the serving one
        self._serving_started = asyncio.Event()

    async def lead(self, fenced: Callable[[int], ServiceStore]) -> None:
        """Stand by, serve once leading, and raise NotLeader when the role is lost."""
        epoch = await self._leadership.acquire()
        self._leads.set()
        await self._start_serving(fenced(epoch), self._leadership)
        self._serving_started.set()
        await self._leadership.lost.wait()
        raise NotLeader(f"serving lease lost (epoch {epoch})")

    async def first_term(self, term: "asyncio.Future[None]", standby_after: float) -> None:
        """A process the database makes the serving one at once starts serving before it
        takes requests, as on SQLite; a standby goes on after ``standby_after`` seconds."""
        leads: asyncio.Future[Any] = asyncio.ensure_future(self._leads.wait())
        await asyncio.wait([leads, term], timeout=standby_after, return_when="FIRST_COMPLETED")
        leads.cancel()
        if self._leads.is_set():
            serving: asyncio.Future[Any] = asyncio.ensure_future(self._serving_started.wait())
            await asyncio.wait([serving, term], return_when="FIRST_COMPLETED")
            serving.cancel()
        if term.done():
            term.result()  # it failed: so does the start
