"""The durable store of callback requests: one SQLite file (WAL, synchronous=FULL).

It is the RequestStore (agi_app.store_port) the service runs on; Event and StaleUpdate are
re-exported from there.

Every change is one transaction that also appends a row to the event log, so a request the
caller was told about is on disk before the success prompt starts.
"""

import asyncio
import json
import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from agi_app.domain.request import (
    CallbackRequest,
    RateLimits,
    State,
)
from agi_app.errors import RateLimited, StoreCorrupt, StoreUnavailable
from agi_app.migrations import MIGRATIONS
from agi_app.store_port import Event, StaleUpdate
from agi_app.store_rows import COLUMNS, request_from_row, row_values

__all__ = ["Event", "StaleUpdate", "Store"]

log = logging.getLogger(__name__)


def _create_private(path: Path) -> None:
    """Callers' names and numbers are personal data: a new store directory is 0700 and a new
    store file 0600 (SQLite gives its -wal and -shm files the database file's mode). What
    already exists is the admin's choice, but an open one is worth a warning."""
    directory = path.parent
    if not directory.exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=0o700, exist_ok=True)
    elif directory.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        log.warning("store directory %s is writable by others: make it 0700", directory)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("store file %s is open to other users: make it 0600", path)


class Store:
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
            _create_private(path)
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

    async def add(
        self, request: CallbackRequest, limits: RateLimits | None = None
    ) -> CallbackRequest:
        """Store a new request, or return the one it repeats.

        A request repeats another when it comes from the same channel (a retried AGI session)
        or asks for the same number in the same queue while that one is still active: one
        active callback per (number, queue), and it keeps its place. A new request beyond
        ``limits`` is refused (RateLimited); counted under the write lock, so that callers
        arriving together cannot all slip under it.
        """
        placeholders = ", ".join("?" for _ in COLUMNS)
        async with self._writing:
            if limits is not None and (why := await self._over_limit(request, limits)):
                if (existing := await self._repeat_of(request)) is not None:
                    return existing
                raise RateLimited(why)
            return await self._add(request, placeholders)

    async def _over_limit(self, request: CallbackRequest, limits: RateLimits) -> str | None:
        try:
            async with self._db.execute(
                "SELECT coalesce(sum(caller_number = ?), 0), coalesce(sum(callback_number = ?), 0)"
                " FROM requests WHERE requested_at > ?"
                " AND (caller_number = ? OR callback_number = ?)",
                (
                    request.caller_number or None,  # withheld callers are not one caller
                    request.callback_number,
                    (request.requested_at - limits.window).isoformat(),
                    request.caller_number or None,
                    request.callback_number,
                ),
            ) as cursor:
                row = await cursor.fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot count recent requests: {exc}") from exc
        return limits.exceeded(int(row[0]), int(row[1])) if row else None

    async def _add(self, request: CallbackRequest, placeholders: str) -> CallbackRequest:
        try:
            # The common case is one statement, so one durable commit and one trip to the
            # database thread: a trigger writes the "requested" event in the same
            # transaction, and a repeat (same channel, or same number and queue while
            # active) violates a unique index and inserts nothing.
            cursor = await self._db.execute(
                f"INSERT INTO requests ({', '.join(COLUMNS)}, updated_at)"
                f" VALUES ({placeholders}, ?) ON CONFLICT DO NOTHING",
                (*row_values(request), request.requested_at.isoformat()),
            )
            if cursor.rowcount == 1:
                return request
            existing = await self._repeat_of(request)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot store request: {exc}") from exc
        if existing is None:  # gone meanwhile: cannot happen under the write lock
            raise StoreUnavailable(f"request for channel {request.channel} neither new nor known")
        return existing

    async def _repeat_of(self, request: CallbackRequest) -> CallbackRequest | None:
        async with self._db.execute(
            "SELECT * FROM requests WHERE channel = ?"
            " OR (callback_number = ? AND queue = ? AND state != 'done')"
            " ORDER BY channel = ? DESC LIMIT 1",
            (request.channel, request.callback_number, request.queue, request.channel),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        existing = request_from_row(row)
        if existing.channel != request.channel:
            detail = {"channel": request.channel, "dialed_number": request.dialed_number}
            await self._append_event(existing, "repeated", request.requested_at, detail)
        return existing

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
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = await self._db.execute(
                    f"UPDATE requests SET {assignments}, updated_at = ?"
                    " WHERE id = ? AND state = ? AND attempt = ?",
                    (*values, at.isoformat(), after.id, before.state.value, before.attempt),
                )
                if cursor.rowcount != 1:
                    raise StaleUpdate(f"request {after.id} changed under us")
                await self._append_event(after, event, at, detail)
                await self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    await self._db.execute("ROLLBACK")
                raise
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
        await self._db.execute(
            "INSERT INTO request_events (request_id, at, event, state, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            (request.id, at.isoformat(), event, request.state.value, json.dumps(detail)),
        )

    async def get(self, request_id: str) -> CallbackRequest | None:
        async with self._db.execute("SELECT * FROM requests WHERE id = ?", (request_id,)) as cur:
            row = await cur.fetchone()
        return request_from_row(row) if row else None

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

    async def events(self, request_id: str) -> list[Event]:
        async with self._db.execute(
            "SELECT * FROM request_events WHERE request_id = ? ORDER BY seq", (request_id,)
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            Event(
                request_id=row["request_id"],
                at=datetime.fromisoformat(row["at"]),
                event=row["event"],
                state=row["state"],
                detail=json.loads(row["detail"]),
            )
            for row in rows
        ]
