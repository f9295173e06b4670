"""The durable store of callback requests: one SQLite file (WAL, synchronous=FULL).

It is the RequestStore (agi_app.store.port) the service runs on; Event and StaleUpdate are
re-exported from there.

Every change is one transaction that also appends a row to the event log, so a request the
caller was told about is on disk before the success prompt starts.
"""

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from agi_app.domain.errors import StoreCorrupt, StoreUnavailable
from agi_app.domain.event_log import Event
from agi_app.domain.request import (
    CallbackRequest,
    State,
)
from agi_app.store.port import StaleUpdate
from agi_app.store.rows import COLUMNS, request_from_row, row_values
from agi_app.store.sqlite.file import create_private
from agi_app.store.sqlite.intake import RequestIntakeSql
from agi_app.store.sqlite.migrations import MIGRATIONS
from agi_app.store.sqlite.offer_log import OfferLogSql
from agi_app.store.sqlite.outbox import WebhookOutboxSql
from agi_app.store.sqlite.thread import in_thread, in_transaction
from agi_app.store.sqlite.transactions import event_from_row

__all__ = ["Event", "StaleUpdate", "Store"]

log = logging.getLogger(__name__)


class Store(RequestIntakeSql, OfferLogSql, WebhookOutboxSql):
    """Adding requests: intake.py; offer checks: offer_log.py; the webhooks'
    outbox: outbox.py (mixins sharing this connection and its write lock)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        # One connection: its transactions must not interleave between awaits.
        self._writing = asyncio.Lock()

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
            db = await aiosqlite.connect(path, timeout=busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open {path}: {exc}") from exc
        try:
            db.row_factory = sqlite3.Row
            store = cls(db)
            try:
                await store._check()
                await db.execute("PRAGMA journal_mode=WAL")
                await db.execute("PRAGMA synchronous=FULL")
                await db.execute("PRAGMA foreign_keys=ON")
                await store._migrate()
            except sqlite3.OperationalError as exc:  # locked, unreadable: may pass
                raise StoreUnavailable(f"cannot open {path}: {exc}") from exc
            except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
                raise StoreCorrupt(f"{path} is not a usable callback store: {exc}") from exc
            yield store
        finally:
            await db.close()

    async def _check(self) -> None:
        # quick_check reads every page once (no index cross-check): a truncated or
        # overwritten file is found here, not by the first request that touches it.
        async with self._db.execute("PRAGMA quick_check(1)") as cursor:
            row = await cursor.fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(row[0] if row else "quick_check gave no answer")

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise StoreUnavailable(f"store schema {version} is newer than this service")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits first; the version bump rides in the same script.
            await self._db.executescript(
                f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {number}; COMMIT;"
            )

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def save(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        event: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write ``after`` and its event row, only if the row still is ``before``."""
        assignments = ", ".join(f"{name} = ?" for name in COLUMNS if name != "id")
        values = [v for name, v in zip(COLUMNS, row_values(after), strict=True) if name != "id"]
        async with self._writing:
            await self._save(before, after, event, at, detail or {}, assignments, values)

    async def _save(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        event: str,
        at: datetime,
        detail: dict[str, Any],
        assignments: str,
        values: list[object],
    ) -> None:
        update = (
            f"UPDATE requests SET {assignments}, updated_at = ?"
            " WHERE id = ? AND state = ? AND attempt = ?"
        )
        params = (*values, at.isoformat(), after.id, before.state.value, before.attempt)
        event_row = _event_row(after, event, at, detail)

        def work(conn: sqlite3.Connection) -> None:
            if conn.execute(update, params).rowcount != 1:
                raise StaleUpdate(f"request {after.id} changed under us")
            conn.execute(*event_row)

        try:  # one trip to the database thread (thread.py)
            await in_thread(self._db, in_transaction(work))
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot update request: {exc}") from exc

    async def note(
        self, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        """An event log row that changes nothing in the request (a placement's reasons)."""
        async with self._writing:
            try:
                await self._append_event(request, event, at, detail)
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot record {event}: {exc}") from exc

    async def _append_event(
        self, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        await self._db.execute(*_event_row(request, event, at, detail))

    async def get(self, request_id: str) -> CallbackRequest | None:
        # One trip (a cursor's execute, fetch and close are three).
        rows = await self._db.execute_fetchall("SELECT * FROM requests WHERE id = ?", (request_id,))
        return next((request_from_row(row) for row in rows), None)

    async def requests(self, *states: State) -> list[CallbackRequest]:
        """Requests in serving order (priority level, then original queue entry)."""
        query = "SELECT * FROM requests"
        params: tuple[object, ...] = ()
        if states:
            query += f" WHERE state IN ({', '.join('?' for _ in states)})"
            params = tuple(s.value for s in states)
        query += " ORDER BY priority, queue_entered_at, requested_at"
        async with self._db.execute(query, params) as cursor:
            rows = await cursor.fetchall()
        return [request_from_row(row) for row in rows]

    async def active_for(self, number: str, queue: str) -> list[CallbackRequest]:
        """Requests of ``queue`` not done, asked from or calling back ``number``."""
        if not number:
            return []
        try:
            async with self._db.execute(
                "SELECT * FROM requests WHERE (caller_number = ? OR callback_number = ?)"
                " AND queue = ? AND state != 'done'"
                " ORDER BY priority, queue_entered_at, requested_at",
                (number, number, queue),
            ) as cursor:
                rows = await cursor.fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot read requests for {number}: {exc}") from exc
        return [request_from_row(row) for row in rows]

    async def events(self, request_id: str) -> list[Event]:
        async with self._db.execute(
            "SELECT * FROM request_events WHERE request_id = ? ORDER BY seq", (request_id,)
        ) as cursor:
            rows = await cursor.fetchall()
        return [event_from_row(row) for row in rows]


def _event_row(
    request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
) -> tuple[str, tuple[object, ...]]:
    """The statement appending ``event`` to the request's event log, and its parameters."""
    return (
        "INSERT INTO request_events (request_id, at, event, state, detail) VALUES (?, ?, ?, ?, ?)",
        (request.id, at.isoformat(), event, request.state.value, json.dumps(detail)),
    )
