"""The durable store of callback requests: one SQLite file (WAL, synchronous=FULL).

It is the RequestStore and WebhookOutbox (agi_app.store.port) the service runs on; Event and
StaleUpdate are re-exported from there.

Every change is one transaction that also appends a row to the event log, so a request the
caller was told about is on disk before the success prompt starts. Each method is one trip to
the connection's thread (connection.py), running one function of the part that does it:
request_log.py (requests read, saved, noted), intake.py (requests added, rate limits,
idempotency keys), outbox.py (the webhooks' outbox), offer_log.py (offer checks), personal.py
(personal data removed). Their SQL
is in sql/ (sql_files.py).
"""

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.domain.errors import StoreCorrupt, StoreUnavailable
from agi_app.domain.event_log import Event, LoggedEvent
from agi_app.domain.offer import OfferCheck
from agi_app.domain.request import CallbackRequest, RateLimits, State
from agi_app.store.port import (
    ATTEMPTS_KEPT,
    IdempotencyKey,
    KeptAnswer,
    StaleUpdate,
    WebhookAttempt,
)
from agi_app.store.sqlite import (
    do_not_call,
    intake,
    migrations,
    offer_log,
    outbox,
    personal,
    request_log,
)
from agi_app.store.sqlite.connection import Connection, prepare
from agi_app.store.sqlite.file import create_private

__all__ = ["Event", "StaleUpdate", "Store"]

_READ_LOG = "cannot read the event log"


class Store:
    def __init__(self, db: Connection) -> None:
        self._db = db

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path, *, busy_timeout: float = 2.0) -> AsyncIterator["Store"]:
        """Open (creating it private to this user) the store at ``path``, checked and migrated.

        A file that is not a sound SQLite database raises StoreCorrupt naming it.
        """
        try:
            create_private(path)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create {path}: {exc}") from exc
        try:
            db = await Connection.open(path, busy_timeout)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open {path}: {exc}") from exc
        try:
            try:
                await db.call(_prepared)
            except sqlite3.OperationalError as exc:  # locked, unreadable: may pass
                raise StoreUnavailable(f"cannot open {path}: {exc}") from exc
            except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
                raise StoreCorrupt(f"{path} is not a usable callback store: {exc}") from exc
            yield cls(db)
        finally:
            await db.close()

    async def schema_version(self) -> int:
        return await self._db.run("cannot read the schema version", migrations.schema_version)

    # ---- requests (RequestStore) ---------------------------------------------------------
    async def add(
        self, request: CallbackRequest, limits: RateLimits | None = None
    ) -> CallbackRequest:
        return await self._db.write("cannot store request", intake.add, request, limits)

    async def add_once(
        self,
        request: CallbackRequest,
        limits: RateLimits | None,
        key: IdempotencyKey,
        since: datetime | None = None,
    ) -> tuple[CallbackRequest, KeptAnswer]:
        return await self._db.write(
            "cannot store request", intake.add_once, request, limits, key, since
        )

    async def kept_answer(
        self, credential: str, key: str, since: datetime | None = None
    ) -> KeptAnswer | None:
        return await self._db.run(
            "cannot read an idempotency key", intake.kept_answer, credential, key, since
        )

    async def save(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        event: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self._db.write(
            "cannot update request", request_log.save, before, after, event, at, detail or {}
        )

    async def note(
        self, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        await self._db.write(
            f"cannot record {event}", request_log.append_event, request, event, at, detail
        )

    async def get(self, request_id: str) -> CallbackRequest | None:
        return await self._db.run("cannot read a request", request_log.get, request_id)

    async def requests(self, *states: State) -> list[CallbackRequest]:
        return await self._db.run("cannot read requests", request_log.requests, states)

    async def requests_with_customer_hours(self, *states: State) -> list[CallbackRequest]:
        return await self._db.run("cannot read requests", request_log.with_customer_hours, states)

    async def requests_awaiting_turn(self, *states: State) -> list[CallbackRequest]:
        return await self._db.run("cannot read requests", request_log.awaiting_turn, states)

    async def active_for(self, number: str, queue: str) -> list[CallbackRequest]:
        if not number:  # a withheld caller is nobody in particular
            return []
        return await self._db.run(
            f"cannot read requests for {number}", request_log.active_for, number, queue
        )

    async def last_agent(self, number: str) -> str | None:
        return await self._db.run(
            f"cannot read the last agent of {number}", request_log.last_agent, number
        )

    async def events(self, request_id: str) -> list[Event]:
        return await self._db.run(_READ_LOG, request_log.events, request_id)

    async def request_events(self, request_id: str, after: int, limit: int) -> list[LoggedEvent]:
        return await self._db.run(_READ_LOG, outbox.request_events, request_id, after, limit)

    # ---- offer checks --------------------------------------------------------------------
    async def record_offer_check(self, check: OfferCheck) -> None:
        await self._db.run("cannot record an offer check", offer_log.record_offer_check, check)

    async def offer_checks(self, since: datetime | None = None) -> list[OfferCheck]:
        return await self._db.run("cannot read offer checks", offer_log.offer_checks, since)

    # ---- do-not-call entries ---------------------------------------------------------------
    async def do_not_call(self) -> list[DoNotCallEntry]:
        return await self._db.run("cannot read the do-not-call list", do_not_call.do_not_call)

    async def add_do_not_call(self, entry: DoNotCallEntry) -> bool:
        return await self._db.run(
            "cannot add to the do-not-call list", do_not_call.add_do_not_call, entry
        )

    async def remove_do_not_call(self, entry: str) -> bool:
        return await self._db.run(
            "cannot remove from the do-not-call list", do_not_call.remove_do_not_call, entry
        )

    # ---- the webhooks' outbox (WebhookOutbox) --------------------------------------------
    async def events_after(self, seq: int, limit: int) -> list[LoggedEvent]:
        return await self._db.run(_READ_LOG, outbox.events_after, seq, limit)

    async def last_event_seq(self) -> int:
        return await self._db.run(_READ_LOG, outbox.last_event_seq)

    async def count_events_after(self, seq: int, names: frozenset[str] | None = None) -> int:
        return await self._db.run(_READ_LOG, outbox.count_events_after, seq, names)

    async def start_webhook(self, subscription: str, seq: int) -> int:
        return await self._db.run(
            f"cannot start webhook {subscription}", outbox.start_webhook, subscription, seq
        )

    async def webhook_cursor(self, subscription: str) -> int | None:
        return await self._db.run(
            f"cannot read webhook {subscription}", outbox.webhook_cursor, subscription
        )

    async def advance_webhook(self, subscription: str, seq: int) -> None:
        await self._db.run(
            f"cannot move webhook {subscription}", outbox.advance_webhook, subscription, seq
        )

    async def record_webhook_attempt(
        self, attempt: WebhookAttempt, keep: int = ATTEMPTS_KEPT
    ) -> None:
        await self._db.run(
            "cannot record a webhook attempt", outbox.record_webhook_attempt, attempt, keep
        )

    async def webhook_attempts(self, subscription: str, limit: int) -> list[WebhookAttempt]:
        return await self._db.run(
            "cannot read webhook attempts", outbox.webhook_attempts, subscription, limit
        )

    # ---- personal data (PersonalData) ----------------------------------------------------
    async def done_before(self, before: datetime, limit: int) -> list[CallbackRequest]:
        return await self._db.run("cannot read requests", personal.done_before, before, limit)

    async def of_numbers(self, numbers: frozenset[str]) -> list[CallbackRequest]:
        return await self._db.run("cannot read requests", personal.of_numbers, numbers)

    async def rewrite_personal(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        details: dict[int, dict[str, Any]],
        event: tuple[str, datetime, dict[str, Any]] | None = None,
    ) -> None:
        await self._db.run(
            "cannot remove personal data", personal.rewrite_personal, before, after, details, event
        )


def _prepared(conn: sqlite3.Connection) -> None:
    """The file checked, its commits made durable, its schema brought up to date."""
    prepare(conn)
    migrations.migrate(conn)
