"""A RequestStore in memory, for unit tests of serving: the contract tests
(tests/integration/test_store_contract.py) hold it to the SQLite store's behaviour.

Nothing here awaits between reading and writing, so each call is one step, as each of the
SQLite store's is one transaction under its write lock.
"""

import copy
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from agi_app.domain.affinity import last_agent, waits_for_preferred
from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.domain.errors import RateLimited, StoreUnavailable
from agi_app.domain.event_log import Event, LoggedEvent
from agi_app.domain.offer import OfferCheck
from agi_app.domain.options import Mode
from agi_app.domain.request import CallbackRequest, RateLimits, State
from agi_app.store.port import (
    ADVANCES,
    ATTEMPTS_KEPT,
    REPEAT_NOTED_EVERY,
    IdempotencyKey,
    KeptAnswer,
    StaleUpdate,
    WebhookAttempt,
)


class MemoryStore:
    def __init__(self) -> None:
        self._requests: dict[str, CallbackRequest] = {}  # in insertion order
        self._events: list[Event] = []
        self._keys: dict[tuple[str, str], KeptAnswer] = {}
        self._webhook_cursors: dict[str, int] = {}  # the outbox (store_port.WebhookOutbox)
        self._webhook_attempts: list[WebhookAttempt] = []
        self._offer_checks: list[OfferCheck] = []
        self._do_not_call: dict[str, DoNotCallEntry] = {}

    async def add(
        self, request: CallbackRequest, limits: RateLimits | None = None
    ) -> CallbackRequest:
        if limits is not None and (why := self._over_limit(request, limits)):
            if (existing := self._repeat_of(request)) is not None:
                return existing
            raise RateLimited(why)
        if (existing := self._repeat_of(request)) is not None:
            return existing
        if request.id in self._requests or any(
            r.channel == request.channel for r in self._requests.values()
        ):  # the channel is unique, whatever the server (as in the databases)
            raise StoreUnavailable(f"request for channel {request.channel} neither new nor known")
        self._requests[request.id] = request
        asked = {"credential": request.requested_by} if request.requested_by else {}
        self._append(request, "requested", request.requested_at, asked)
        return request

    def _over_limit(self, request: CallbackRequest, limits: RateLimits) -> str | None:
        since = request.requested_at - limits.window
        recent = [r for r in self._requests.values() if r.requested_at > since]
        from_caller = sum(  # withheld callers are not one caller
            bool(request.caller_number) and r.caller_number == request.caller_number for r in recent
        )
        to_destination = sum(r.callback_number == request.callback_number for r in recent)
        return limits.exceeded(from_caller, to_destination)

    def _repeat_of(self, request: CallbackRequest) -> CallbackRequest | None:
        mine = [r for r in self._requests.values() if r.server == request.server]
        same_channel = [r for r in mine if r.channel == request.channel]
        if same_channel:
            return same_channel[0]
        existing = self._active(request.callback_number, request.queue, server=request.server)
        lately = request.requested_at - REPEAT_NOTED_EVERY
        if existing is not None and not any(
            e.request_id == existing.id and e.event == "repeated" and e.at > lately
            for e in self._events
        ):
            detail = {"channel": request.channel, "dialed_number": request.dialed_number}
            self._append(existing, "repeated", request.requested_at, detail)
        return existing

    def _active(
        self, number: str, queue: str, *, besides: str = "", server: str | None = None
    ) -> CallbackRequest | None:
        return next(
            (
                r
                for r in self._requests.values()
                if r.callback_number == number
                and r.queue == queue
                and r.state is not State.DONE
                and r.id != besides
                and server in (None, r.server)
            ),
            None,
        )

    async def save(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        event: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        stored = self._requests.get(after.id)
        if stored is None or (stored.state, stored.attempt) != (before.state, before.attempt):
            raise StaleUpdate(f"request {after.id} changed under us")
        if after.state is not State.DONE and self._active(
            after.callback_number, after.queue, besides=after.id, server=after.server
        ):
            raise StoreUnavailable(f"cannot update request: {after.id} would be a second active")
        self._requests[after.id] = after
        self._append(after, event, at, detail or {})

    async def note(
        self, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        self._append(request, event, at, detail)

    def _append(
        self, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        # A copy, as a database keeps its own: the caller's dict may change afterwards.
        self._events.append(
            Event(request.id, at, event, request.state.value, copy.deepcopy(detail))
        )

    async def get(self, request_id: str) -> CallbackRequest | None:
        return self._requests.get(request_id)

    async def requests(self, *states: State) -> list[CallbackRequest]:
        return self._in_order(r for r in self._requests.values() if not states or r.state in states)

    async def requests_with_customer_hours(self, *states: State) -> list[CallbackRequest]:
        return self._in_order(
            r for r in self._requests.values() if r.state in states and r.customer_hours
        )

    async def requests_awaiting_turn(self, *states: State) -> list[CallbackRequest]:
        return self._in_order(
            r
            for r in self._requests.values()
            if r.state in states and (r.mode is Mode.CUSTOMER_FIRST or waits_for_preferred(r))
        )

    @staticmethod
    def _in_order(chosen: Iterable[CallbackRequest]) -> list[CallbackRequest]:
        """Serving order: priority level, then queue entry, then request time."""
        return sorted(chosen, key=lambda r: (r.priority, r.queue_entered_at, r.requested_at))

    async def last_agent(self, number: str) -> str | None:
        return last_agent(self._requests.values(), number)

    async def active_for(self, number: str, queue: str) -> list[CallbackRequest]:
        return [
            r
            for r in await self.requests()
            if number
            and number in (r.caller_number, r.callback_number)
            and r.queue == queue
            and r.state is not State.DONE
        ]

    async def events(self, request_id: str) -> list[Event]:
        return [
            replace(e, detail=copy.deepcopy(e.detail))
            for e in self._events
            if e.request_id == request_id
        ]

    # The webhooks' outbox: an event's seq is its place in the log, from 1.

    async def request_events(self, request_id: str, after: int, limit: int) -> list[LoggedEvent]:
        logged = await self.events_after(after, len(self._events))
        return [e for e in logged if e.event.request_id == request_id][:limit]

    async def events_after(self, seq: int, limit: int) -> list[LoggedEvent]:
        chosen = self._events[max(seq, 0) : max(seq, 0) + limit]
        return [
            LoggedEvent(n, replace(e, detail=copy.deepcopy(e.detail)))
            for n, e in enumerate(chosen, start=max(seq, 0) + 1)
        ]

    async def last_event_seq(self) -> int:
        return len(self._events)

    async def count_events_after(self, seq: int, names: frozenset[str] | None = None) -> int:
        return sum(names is None or e.event in names for e in self._events[max(seq, 0) :])

    async def start_webhook(self, subscription: str, seq: int) -> int:
        return self._webhook_cursors.setdefault(subscription, seq)

    async def webhook_cursor(self, subscription: str) -> int | None:
        return self._webhook_cursors.get(subscription)

    async def advance_webhook(self, subscription: str, seq: int) -> None:
        self._webhook_cursors[subscription] = max(self._webhook_cursors.get(subscription, 0), seq)

    async def record_webhook_attempt(
        self, attempt: WebhookAttempt, keep: int = ATTEMPTS_KEPT
    ) -> None:
        self._webhook_attempts.append(attempt)
        mine = [a for a in self._webhook_attempts if a.subscription == attempt.subscription]
        for old in mine[:-keep]:
            self._webhook_attempts.remove(old)
        if attempt.outcome in ADVANCES:
            await self.advance_webhook(attempt.subscription, attempt.seq)

    async def webhook_attempts(self, subscription: str, limit: int) -> list[WebhookAttempt]:
        mine = [a for a in self._webhook_attempts if a.subscription == subscription]
        return mine[::-1][:limit]

    async def kept_answer(
        self, credential: str, key: str, since: datetime | None = None
    ) -> KeptAnswer | None:
        kept = self._keys.get((credential, key))
        return kept if kept is not None and (since is None or kept.created_at >= since) else None

    async def add_once(
        self,
        request: CallbackRequest,
        limits: RateLimits | None,
        key: IdempotencyKey,
        since: datetime | None = None,
    ) -> tuple[CallbackRequest, KeptAnswer]:
        if since is not None:  # expired keys are purged
            self._keys = {k: a for k, a in self._keys.items() if a.created_at >= since}
        if (kept := self._keys.get((key.credential, key.key))) is not None:
            return self._requests[kept.request_id], kept
        stored = await self.add(request, limits)  # awaits nothing: still one step
        status = 201 if stored.id == request.id else 200
        kept = KeptAnswer(key.body_sha256, stored.id, status, request.requested_at)
        self._keys[(key.credential, key.key)] = kept
        return stored, kept

    # Personal data (PersonalData): a request's last change is its last event's time.

    async def done_before(self, before: datetime, limit: int) -> list[CallbackRequest]:
        last = {e.request_id: e.at for e in self._events}
        found = [
            r
            for r in self._requests.values()
            if r.state is State.DONE
            and last.get(r.id, r.requested_at) < before
            and not r.callback_number.startswith("anon:")
        ]
        return sorted(found, key=lambda r: (last.get(r.id, r.requested_at), r.id))[:limit]

    async def of_numbers(self, numbers: frozenset[str]) -> list[CallbackRequest]:
        found = [
            r
            for r in self._requests.values()
            if r.caller_number in numbers or r.callback_number in numbers
        ]
        return sorted(found, key=lambda r: (r.requested_at, r.id))

    async def rewrite_personal(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        details: dict[int, dict[str, Any]],
        event: tuple[str, datetime, dict[str, Any]] | None = None,
    ) -> None:
        stored = self._requests.get(after.id)
        if stored is None or (stored.state, stored.attempt) != (before.state, before.attempt):
            raise StaleUpdate(f"request {after.id} changed under us")
        self._requests[after.id] = after
        for seq, detail in details.items():  # seq: the place in the log, from 1
            if 0 < seq <= len(self._events) and self._events[seq - 1].request_id == after.id:
                self._events[seq - 1] = replace(self._events[seq - 1], detail=copy.deepcopy(detail))
        self._keys = {k: a for k, a in self._keys.items() if a.request_id != after.id}
        if event is not None:
            self._append(after, *event)

    async def record_offer_check(self, check: OfferCheck) -> None:
        self._offer_checks.append(check)

    async def offer_checks(self, since: datetime | None = None) -> list[OfferCheck]:
        return [c for c in self._offer_checks if since is None or c.at >= since]

    async def do_not_call(self) -> list[DoNotCallEntry]:
        return [self._do_not_call[k] for k in sorted(self._do_not_call)]

    async def add_do_not_call(self, entry: DoNotCallEntry) -> bool:
        if entry.entry in self._do_not_call:
            return False
        self._do_not_call[entry.entry] = entry
        return True

    async def remove_do_not_call(self, entry: str) -> bool:
        return self._do_not_call.pop(entry, None) is not None
