"""What the FastAGI scripts ask of serving, answered only while this process serves: every
process takes requests (on PostgreSQL a standby too), only the serving one places them."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from panoramisk.message import Message

from agi_app.domain.request import DEFAULT_SERVER, CallbackRequest
from agi_app.ivr.offer_check import OfferChecker
from agi_app.ivr.status_check import live_position
from agi_app.pbx.ami import AmiError, PbxUnavailable
from agi_app.serving import Serving
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

# How long a queue seen over AMI is taken as known without asking again: a queue removed
# from queues.conf may so still take requests for that long.
QUEUE_KNOWN_FOR_S = 30.0


class ServingHere:
    def __init__(self, store: RequestStore, server: str = DEFAULT_SERVER) -> None:
        self.serving: Serving | None = None  # set once this process serves
        self._store = store
        self._server = server  # the Asterisk server this serving places on
        self._told: set[asyncio.Future[None]] = set()  # placing what other processes stored
        self._known: dict[str, float] = {}  # queue -> until when it is taken as known

    def joined_at(self, uniqueid: str) -> datetime | None:
        """A caller's exact queue entry, seen by serving."""
        return self.serving.join_times.get(uniqueid) if self.serving else None

    async def queue_status(self, queue: str) -> list[Message]:
        if self.serving is None:
            raise PbxUnavailable("this process does not serve")
        return await self.serving.pbx.queue_status(queue)

    async def queue_known(self, queue: str) -> bool | None:
        """Whether Asterisk has ``queue``, asked over AMI rather than of the caller's channel
        (a queue seen is taken as known for QUEUE_KNOWN_FOR_S); None: this process cannot
        ask (it does not serve, or AMI failed)."""
        now = time.monotonic()
        if self._known.get(queue, 0.0) > now:
            return True
        try:
            entries = await self.queue_status(queue)
        except (PbxUnavailable, AmiError):
            return None
        known = any(e.get("Event") == "QueueParams" and e.get("Queue") == queue for e in entries)
        if known:
            self._known[queue] = now + QUEUE_KNOWN_FOR_S
        return known

    def stored(self, offers: OfferChecker) -> Callable[[CallbackRequest], Awaitable[None]]:
        """A stored request: counted as an accepted offer if it was one, and placed by
        serving (here, or told to the serving process by the store's notice)."""

        async def stored(request: CallbackRequest) -> None:
            await offers.stored(request)
            if self.serving is not None:
                await self.serving.request_stored(request)

        return stored

    def stored_elsewhere(self, request_id: str) -> None:
        """The serving process hears that another one stored a request (the store's notice,
        agi_app.store.open.open_backend): place it now, if it is this server's (every
        server's serving hears every notice)."""
        if self.serving is None:
            return
        serving, store = self.serving, self._store

        async def place() -> None:
            request = await store.get(request_id)
            if request is not None and request.server == self._server:
                await serving.request_stored(request)

        task = asyncio.ensure_future(place())
        self._told.add(task)
        task.add_done_callback(self._told_done)

    def _told_done(self, task: "asyncio.Future[None]") -> None:
        self._told.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Not lost: the request is stored, and the next reconciliation places it.
            log.error("placing a request another process stored: %r", task.exception())

    async def position_of(self, request: CallbackRequest) -> int | None:
        if self.serving is None:
            return None
        return await live_position(self.serving.live_view)(request)

    async def cancel(self, request_id: str, by: str, *, credential: str) -> CallbackRequest | None:
        if self.serving is None:
            raise PbxUnavailable("this process does not serve: cancel at the serving one")
        return await self.serving.cancel(request_id, by, credential=credential)
