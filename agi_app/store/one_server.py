"""One Asterisk server's share of the store (several servers, agi_app/config/servers.py).

What a server's FastAGI listener takes is recorded as that server's, and what its serving
lists (to place, reconcile, count or show) is that server's alone: each server's placeholders
wait in its own queues and its customers are dialed from it. Reads by id and writes of a
request already read need no filter; the log and the offer checks are the whole store's.
"""

from dataclasses import replace
from datetime import datetime
from typing import Any

from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.domain.event_log import Event, LoggedEvent
from agi_app.domain.offer import OfferCheck
from agi_app.domain.request import CallbackRequest, RateLimits, State
from agi_app.store.port import IdempotencyKey, KeptAnswer, RequestStore


class ServerStore:
    """A RequestStore over ``store`` that sees and records only ``server``'s requests."""

    def __init__(self, store: RequestStore, server: str) -> None:
        self._store = store
        self.server = server

    async def add(
        self, request: CallbackRequest, limits: RateLimits | None = None
    ) -> CallbackRequest:
        return await self._store.add(replace(request, server=self.server), limits)

    async def add_once(
        self,
        request: CallbackRequest,
        limits: RateLimits | None,
        key: IdempotencyKey,
        since: datetime | None = None,
    ) -> tuple[CallbackRequest, KeptAnswer]:
        return await self._store.add_once(replace(request, server=self.server), limits, key, since)

    async def requests(self, *states: State) -> list[CallbackRequest]:
        return [r for r in await self._store.requests(*states) if r.server == self.server]

    async def requests_with_customer_hours(self, *states: State) -> list[CallbackRequest]:
        chosen = await self._store.requests_with_customer_hours(*states)
        return [r for r in chosen if r.server == self.server]

    async def requests_awaiting_turn(self, *states: State) -> list[CallbackRequest]:
        chosen = await self._store.requests_awaiting_turn(*states)
        return [r for r in chosen if r.server == self.server]

    async def last_agent(self, number: str) -> str | None:
        return await self._store.last_agent(number)  # any server's: the agent may be shared

    async def active_for(self, number: str, queue: str) -> list[CallbackRequest]:
        return [r for r in await self._store.active_for(number, queue) if r.server == self.server]

    async def save(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        event: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self._store.save(before, after, event, at, detail)

    async def note(
        self, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        await self._store.note(request, event, at, detail)

    async def get(self, request_id: str) -> CallbackRequest | None:
        return await self._store.get(request_id)

    async def events(self, request_id: str) -> list[Event]:
        return await self._store.events(request_id)

    async def request_events(self, request_id: str, after: int, limit: int) -> list[LoggedEvent]:
        return await self._store.request_events(request_id, after, limit)

    async def record_offer_check(self, check: OfferCheck) -> None:
        await self._store.record_offer_check(check)

    async def offer_checks(self, since: datetime | None = None) -> list[OfferCheck]:
        return await self._store.offer_checks(since)

    async def do_not_call(self) -> list[DoNotCallEntry]:
        return await self._store.do_not_call()

    async def add_do_not_call(self, entry: DoNotCallEntry) -> bool:
        return await self._store.add_do_not_call(entry)

    async def remove_do_not_call(self, entry: str) -> bool:
        return await self._store.remove_do_not_call(entry)

    async def kept_answer(
        self, credential: str, key: str, since: datetime | None = None
    ) -> KeptAnswer | None:
        return await self._store.kept_answer(credential, key, since)
