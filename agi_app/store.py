"""The durable store of callback requests: one SQLite file (WAL, synchronous=FULL).

Every change is one transaction that also appends a row to the event log, so a request the
caller was told about is on disk before the success prompt starts.
"""

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiosqlite

from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State
from agi_app.errors import StoreUnavailable
from agi_app.migrations import MIGRATIONS

_COLUMNS = tuple(f.name for f in fields(CallbackRequest))
_TIMES = frozenset(
    f.name for f in fields(CallbackRequest) if "datetime" in str(f.type)
)  # fmt: skip
_ENUMS: dict[str, type[StrEnum]] = {
    "state": State,
    "call_outcome": CallOutcome,
    "contact_outcome": ContactOutcome,
}


@dataclass(frozen=True)
class Event:
    request_id: str
    at: datetime
    event: str
    state: str
    detail: dict[str, Any]


def _row_values(request: CallbackRequest) -> tuple[object, ...]:
    values: list[object] = []
    for name in _COLUMNS:
        value = getattr(request, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, frozenset):
            value = json.dumps(sorted(value))
        values.append(value)
    return tuple(values)


def _request_from_row(row: sqlite3.Row) -> CallbackRequest:
    values: dict[str, Any] = {name: row[name] for name in _COLUMNS}
    for name in _TIMES:
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    for name, enum in _ENUMS.items():
        if values[name] is not None:
            values[name] = enum(values[name])
    values["declined_by"] = frozenset(json.loads(values["declined_by"]))
    return CallbackRequest(**values)


class StaleUpdate(Exception):
    """The request changed since it was read: reload and decide again."""


class Store:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        # One connection: its transactions must not interleave between awaits.
        self._writing = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path, *, busy_timeout: float = 2.0) -> AsyncIterator["Store"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = await aiosqlite.connect(path, timeout=busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open {path}: {exc}") from exc
        try:
            db.row_factory = sqlite3.Row
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=FULL")
            await db.execute("PRAGMA foreign_keys=ON")
            store = cls(db)
            await store._migrate()
            yield store
        finally:
            await db.close()

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

    async def add(self, request: CallbackRequest) -> CallbackRequest:
        """Store a new request, or return the one it repeats.

        A request repeats another when it comes from the same channel (a retried AGI session)
        or asks for the same number in the same queue while that one is still active: one
        active callback per (number, queue), and it keeps its place.
        """
        placeholders = ", ".join("?" for _ in _COLUMNS)
        async with self._writing:
            return await self._add(request, placeholders)

    async def _add(self, request: CallbackRequest, placeholders: str) -> CallbackRequest:
        try:
            # The common case is one statement, so one durable commit and one trip to the
            # database thread: a trigger writes the "requested" event in the same
            # transaction, and a repeat (same channel, or same number and queue while
            # active) violates a unique index and inserts nothing.
            cursor = await self._db.execute(
                f"INSERT INTO requests ({', '.join(_COLUMNS)}, updated_at)"
                f" VALUES ({placeholders}, ?) ON CONFLICT DO NOTHING",
                (*_row_values(request), request.requested_at.isoformat()),
            )
            if cursor.rowcount == 1:
                return request
            return await self._repeat_of(request)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot store request: {exc}") from exc

    async def _repeat_of(self, request: CallbackRequest) -> CallbackRequest:
        async with self._db.execute(
            "SELECT * FROM requests WHERE channel = ?"
            " OR (callback_number = ? AND queue = ? AND state != 'done')"
            " ORDER BY channel = ? DESC LIMIT 1",
            (request.channel, request.callback_number, request.queue, request.channel),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:  # gone meanwhile: cannot happen under the write lock
            raise StoreUnavailable(f"request for channel {request.channel} neither new nor known")
        existing = _request_from_row(row)
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
        assignments = ", ".join(f"{name} = ?" for name in _COLUMNS if name != "id")
        values = [v for name, v in zip(_COLUMNS, _row_values(after), strict=True) if name != "id"]
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
        return _request_from_row(row) if row else None

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
        return [_request_from_row(row) for row in rows]

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
