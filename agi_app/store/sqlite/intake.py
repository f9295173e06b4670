"""Adding requests to the SQLite store: one active callback per (number, queue), the rate
limits counted under the write lock, and the request API's idempotency keys kept in the
request's own transaction.

A mixin of agi_app.store.sqlite.store.Store: it shares the store's one connection and its write
lock.
"""

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from functools import partial

import aiosqlite

from agi_app.domain.errors import RateLimited, StoreUnavailable
from agi_app.domain.request import CallbackRequest, RateLimits
from agi_app.store.port import REPEAT_NOTED_EVERY, IdempotencyKey, KeptAnswer
from agi_app.store.rows import COLUMNS, request_from_row, row_values
from agi_app.store.sqlite.thread import in_thread
from agi_app.store.sqlite.transactions import immediate

# The common case is one statement, so one durable commit: a trigger writes the "requested"
# event in the same transaction, and a repeat (same channel, or same number and queue while
# active) violates a unique index and inserts nothing.
_INSERT = (
    f"INSERT INTO requests ({', '.join(COLUMNS)}, updated_at)"
    f" VALUES ({', '.join('?' for _ in COLUMNS)}, ?) ON CONFLICT DO NOTHING"
)

# A repeat's "repeated" event, unless the request has one younger than REPEAT_NOTED_EVERY:
# looked for and written in one statement, so that two writers cannot both miss the other's.
_NOTE_REPEAT = (
    "INSERT INTO request_events (request_id, at, event, state, detail)"
    " SELECT ?, ?, 'repeated', ?, ? WHERE NOT EXISTS (SELECT 1 FROM request_events"
    " WHERE request_id = ? AND event = 'repeated' AND at > ?)"
)


def _insert_values(request: CallbackRequest) -> tuple[object, ...]:
    return (*row_values(request), request.requested_at.isoformat())


def _recent(request: CallbackRequest, limits: RateLimits) -> tuple[str, tuple[object, ...]]:
    """The query counting the caller's and the number's requests within the limits' window."""
    return (
        "SELECT coalesce(sum(caller_number = ?), 0), coalesce(sum(callback_number = ?), 0)"
        " FROM requests WHERE requested_at > ? AND (caller_number = ? OR callback_number = ?)",
        (
            request.caller_number or None,  # withheld callers are not one caller
            request.callback_number,
            (request.requested_at - limits.window).isoformat(),
            request.caller_number or None,
            request.callback_number,
        ),
    )


def _count_and_insert(
    request: CallbackRequest, limits: RateLimits | None, conn: sqlite3.Connection
) -> tuple[str | None, bool]:
    """On the database thread: why it is over the limits (nothing inserted), else whether
    the insert added it (False: it repeats one)."""
    if limits is not None:
        row = conn.execute(*_recent(request, limits)).fetchone()
        if row is not None and (why := limits.exceeded(int(row[0]), int(row[1]))):
            return why, False
    return None, conn.execute(_INSERT, _insert_values(request)).rowcount == 1


class RequestIntakeSql:
    _db: aiosqlite.Connection
    _writing: asyncio.Lock

    # Store's own (this mixin reads through it).
    async def get(self, request_id: str) -> CallbackRequest | None:
        raise NotImplementedError

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
        async with self._writing:
            return await self._counted_add(request, limits)

    async def _counted_add(
        self, request: CallbackRequest, limits: RateLimits | None
    ) -> CallbackRequest:
        """Under the write lock: counted against ``limits`` and inserted in one trip
        (thread.py); a repeat is answered with the request it repeats, even over them."""
        try:
            why, added = await in_thread(self._db, partial(_count_and_insert, request, limits))
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot store request: {exc}") from exc
        if why is not None:
            if (existing := await self._repeat_of(request)) is not None:
                return existing
            raise RateLimited(why)
        return request if added else await self._repeated(request)

    async def _repeated(self, request: CallbackRequest) -> CallbackRequest:
        """The request that ``request`` repeats (its insert added nothing)."""
        try:
            existing = await self._repeat_of(request)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot store request: {exc}") from exc
        if existing is None:  # gone meanwhile: cannot happen under the write lock
            raise StoreUnavailable(f"request for channel {request.channel} neither new nor known")
        return existing

    async def _repeat_of(self, request: CallbackRequest) -> CallbackRequest | None:
        async with self._db.execute(
            # A channel of another server is no repeat (see store_pg/intake.py).
            "SELECT * FROM requests WHERE server = ? AND (channel = ?"
            " OR (callback_number = ? AND queue = ? AND state != 'done'))"
            " ORDER BY channel = ? DESC LIMIT 1",
            (
                request.server,
                request.channel,
                request.callback_number,
                request.queue,
                request.channel,
            ),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        existing = request_from_row(row)
        if existing.channel != request.channel:
            detail = {"channel": request.channel, "dialed_number": request.dialed_number}
            at = request.requested_at
            await self._db.execute(
                _NOTE_REPEAT,
                (existing.id, at.isoformat(), existing.state.value, json.dumps(detail),
                 existing.id, (at - REPEAT_NOTED_EVERY).isoformat()),
            )  # fmt: skip
        return existing

    # ---- the request API's idempotency keys ------------------------------------------------
    async def kept_answer(
        self, credential: str, key: str, since: datetime | None = None
    ) -> KeptAnswer | None:
        async with self._db.execute(
            "SELECT * FROM idempotency_keys WHERE token = ? AND key = ? AND created_at >= ?",
            (credential, key, _iso(since)),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        at = datetime.fromisoformat(row["created_at"])
        return KeptAnswer(row["body_sha256"], row["request_id"], row["status"], at)

    async def add_once(
        self,
        request: CallbackRequest,
        limits: RateLimits | None,
        key: IdempotencyKey,
        since: datetime | None = None,
    ) -> tuple[CallbackRequest, KeptAnswer]:
        """The key is looked up and kept in the request's transaction (BEGIN IMMEDIATE: another
        process with the same key waits, then finds it); the key's primary key backs it.
        Expired keys are purged in the same transaction (by the created_at index)."""
        async with self._writing:
            try:
                async with immediate(self._db):
                    await self._db.execute(
                        "DELETE FROM idempotency_keys WHERE created_at < ?", (_iso(since),)
                    )
                    stored, kept = await self._add_once(request, limits, key)
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot store request: {exc}") from exc
        return stored, kept

    async def _add_once(
        self, request: CallbackRequest, limits: RateLimits | None, key: IdempotencyKey
    ) -> tuple[CallbackRequest, KeptAnswer]:
        if (kept := await self.kept_answer(key.credential, key.key)) is not None:
            stored = await self.get(kept.request_id)
            if stored is None:  # the foreign key forbids it
                raise StoreUnavailable(f"idempotency key for unknown request {kept.request_id}")
            return stored, kept
        stored = await self._counted_add(request, limits)
        status = 201 if stored.id == request.id else 200
        kept = KeptAnswer(key.body_sha256, stored.id, status, request.requested_at)
        values = (key.credential, key.key, key.body_sha256, stored.id, status)
        await self._db.execute(
            "INSERT INTO idempotency_keys"
            " (token, key, body_sha256, request_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (*values, kept.created_at.isoformat()),
        )
        return stored, kept


def _iso(since: datetime | None) -> str:
    """``since`` as stored (ISO 8601 in UTC, compared as text like every time here); none:
    a time before any."""
    return since.astimezone(UTC).isoformat() if since is not None else ""
