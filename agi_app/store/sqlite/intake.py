"""Adding requests to the SQLite store: one active callback per (number, queue), the rate
limits counted in the same call as the insert, and the request API's idempotency keys kept in
the request's own transaction.

Each function runs on the store's thread (connection.py), one call of the store: no other
call of the store comes in between its statements.
"""

import json
import sqlite3
from datetime import UTC, datetime

from agi_app.domain.errors import RateLimited, StoreUnavailable
from agi_app.domain.request import CallbackRequest, RateLimits
from agi_app.store.port import REPEAT_NOTED_EVERY, IdempotencyKey, KeptAnswer
from agi_app.store.rows import COLUMNS, request_from_row, row_values
from agi_app.store.sqlite import request_log
from agi_app.store.sqlite.connection import immediate
from agi_app.store.sqlite.sql_files import QUERIES

_INSERT = QUERIES["insert_request"].format(
    columns=", ".join(COLUMNS), values=", ".join("?" for _ in COLUMNS)
)
_COUNT_RECENT = QUERIES["count_recent"]
_REPEAT_OF = QUERIES["repeat_of"]
_NOTE_REPEAT = QUERIES["note_repeat"]
_KEPT_KEY = QUERIES["kept_key"]
_INSERT_KEY = QUERIES["insert_key"]
_PURGE_EXPIRED_KEYS = QUERIES["purge_expired_keys"]


def add(
    conn: sqlite3.Connection, request: CallbackRequest, limits: RateLimits | None
) -> CallbackRequest:
    """Store a new request, or return the one it repeats.

    A request repeats another when it comes from the same channel (a retried AGI session)
    or asks for the same number in the same queue while that one is still active: one
    active callback per (number, queue), and it keeps its place. A new request beyond
    ``limits`` is refused (RateLimited); a repeat is answered even over them. The common case
    is one statement (the insert), so one durable commit.
    """
    if limits is not None:
        counts = conn.execute(_COUNT_RECENT, _recent(request, limits)).fetchone()
        if why := limits.exceeded(int(counts[0]), int(counts[1])):
            if (existing := _repeat_of(conn, request)) is not None:
                return existing
            raise RateLimited(why)
    values = (*row_values(request), request.requested_at.isoformat())
    if conn.execute(_INSERT, values).rowcount == 1:
        return request
    if (existing := _repeat_of(conn, request)) is None:  # a unique index refused it
        raise StoreUnavailable(f"request for channel {request.channel} neither new nor known")
    return existing


def _recent(request: CallbackRequest, limits: RateLimits) -> tuple[object, ...]:
    """count_recent's parameters: the caller's and the number's requests within the window."""
    caller = request.caller_number or None  # withheld callers are not one caller
    since = (request.requested_at - limits.window).isoformat()
    return (caller, request.callback_number, since, caller, request.callback_number)


def _repeat_of(conn: sqlite3.Connection, request: CallbackRequest) -> CallbackRequest | None:
    """The stored request ``request`` repeats, if any; a repeat from another channel is
    noted on it (a "repeated" event, at most one per REPEAT_NOTED_EVERY)."""
    params = (request.server, request.channel, request.callback_number, request.queue,
              request.channel)  # fmt: skip
    row = conn.execute(_REPEAT_OF, params).fetchone()
    if row is None:
        return None
    existing = request_from_row(row)
    if existing.channel != request.channel:
        detail = {"channel": request.channel, "dialed_number": request.dialed_number}
        at = request.requested_at
        conn.execute(
            _NOTE_REPEAT,
            (existing.id, at.isoformat(), existing.state.value, json.dumps(detail),
             existing.id, (at - REPEAT_NOTED_EVERY).isoformat()),
        )  # fmt: skip
    return existing


# ---- the request API's idempotency keys ----------------------------------------------------
def kept_answer(
    conn: sqlite3.Connection, credential: str, key: str, since: datetime | None
) -> KeptAnswer | None:
    row = conn.execute(_KEPT_KEY, (credential, key, _iso(since))).fetchone()
    if row is None:
        return None
    at = datetime.fromisoformat(row["created_at"])
    return KeptAnswer(row["body_sha256"], row["request_id"], row["status"], at)


def add_once(
    conn: sqlite3.Connection,
    request: CallbackRequest,
    limits: RateLimits | None,
    key: IdempotencyKey,
    since: datetime | None,
) -> tuple[CallbackRequest, KeptAnswer]:
    """The key is looked up and kept in the request's transaction (BEGIN IMMEDIATE: another
    process with the same key waits, then finds it); the key's primary key backs it.
    Expired keys are purged in the same transaction (by the created_at index). A refusal
    (RateLimited) rolls all of it back."""
    with immediate(conn):
        conn.execute(_PURGE_EXPIRED_KEYS, (_iso(since),))
        if (kept := kept_answer(conn, key.credential, key.key, None)) is not None:
            stored = request_log.get(conn, kept.request_id)
            if stored is None:  # the foreign key forbids it
                raise StoreUnavailable(f"idempotency key for unknown request {kept.request_id}")
            return stored, kept
        stored = add(conn, request, limits)
        status = 201 if stored.id == request.id else 200
        kept = KeptAnswer(key.body_sha256, stored.id, status, request.requested_at)
        conn.execute(
            _INSERT_KEY,
            (key.credential, key.key, key.body_sha256, stored.id, status,
             kept.created_at.isoformat()),
        )  # fmt: skip
        return stored, kept


def _iso(since: datetime | None) -> str:
    """``since`` as stored (ISO 8601 in UTC, compared as text like every time here); none:
    a time before any."""
    return since.astimezone(UTC).isoformat() if since is not None else ""
