"""Every Asterisk server's serving as the web sees one (several servers,
agi_app/config/servers.py): the Live view and the agents' screen-pops of all servers, and
each action taken to the serving of the request's own server. The supervisor's screen and
the request API's intake are the first server's."""

import asyncio

from agi_app.domain.request import CallbackRequest
from agi_app.serving import Serving
from agi_app.serving.views import Views
from agi_app.store.port import RequestStore


class ServingSet:
    def __init__(self, servings: dict[str, Serving], store: RequestStore) -> None:
        self._servings = servings
        self._store = store  # the whole store: where a request's server is read
        self.first = next(iter(servings.values()))
        self.metrics = self.first.metrics  # one registry for all
        self._changed = asyncio.Event()
        for serving in servings.values():
            serving.notifier.listeners.append(self._notify)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def changed(self) -> asyncio.Event:
        """Set at the next change on any server (read it again after waiting)."""
        return self._changed

    @property
    def views(self) -> Views:
        """The first server's read models (the request API takes requests for it)."""
        return self.first.views

    async def live_view(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for name, serving in self._servings.items():
            rows += [{**row, "server": name} for row in await serving.live_view()]
        return rows

    async def screen_pop_view(self) -> dict[str, dict[str, object]]:
        """Agent interface -> its screen-pop, whichever server rings it (agent interfaces
        are told apart by name: give each server's agents their own)."""
        pops: dict[str, dict[str, object]] = {}
        for serving in self._servings.values():
            pops |= await serving.screen_pop_view()
        return pops

    async def wrap_up_view(self) -> dict[str, dict[str, object]]:
        """Agent interface -> the callback awaiting its wrap-up code, whichever server."""
        ended: dict[str, dict[str, object]] = {}
        for serving in self._servings.values():
            ended |= await serving.wrap_up_view()
        return ended

    def rules_changed(self) -> None:
        for serving in self._servings.values():
            serving.rules_changed()

    async def _serving_of(self, request_id: str) -> Serving | None:
        request = await self._store.get(request_id)
        return self._servings.get(request.server) if request is not None else None

    async def cancel(self, request_id: str, by: str, *, credential: str) -> CallbackRequest | None:
        serving = await self._serving_of(request_id)
        if serving is None:
            return None
        return await serving.cancel(request_id, by, credential=credential)

    async def reprioritize(
        self, request_id: str, level: int, by: str, *, credential: str
    ) -> CallbackRequest | None:
        serving = await self._serving_of(request_id)
        if serving is None:
            return None
        return await serving.reprioritize(request_id, level, by, credential=credential)

    async def dispose(
        self, request_id: str, code: str, by: str, *, credential: str
    ) -> CallbackRequest | None:
        serving = await self._serving_of(request_id)
        if serving is None:
            return None
        return await serving.dispose(request_id, code, by, credential=credential)

    async def request_stored(self, request: CallbackRequest) -> None:
        if (serving := self._servings.get(request.server)) is not None:
            await serving.request_stored(request)
