"""Adding requests to the PostgreSQL store: one active callback per (number, queue) by a
partial unique index, the rate limits counted under the numbers' advisory locks, and the
request API's idempotency keys kept in the request's own transaction under the key's lock.

Each add is one transaction: the request, its "requested" (or the repeated one's "repeated")
event and, for add_once, its key commit together or not at all; add_once also purges keys
expired by then. Each function runs on a connection the store took for one call (store.py):
add and add_once in that call's transaction.
"""

from datetime import UTC, datetime

from agi_app.domain.errors import RateLimited, StoreUnavailable
from agi_app.domain.request import CallbackRequest, RateLimits
from agi_app.store.port import REPEAT_NOTED_EVERY, IdempotencyKey, KeptAnswer
from agi_app.store.postgres import locks, notices, request_log
from agi_app.store.postgres.connection import Conn
from agi_app.store.postgres.rows import COLUMN_LIST, PLACEHOLDERS, request_from, values
from agi_app.store.postgres.sql_files import QUERIES

_INSERT = QUERIES["insert_request"].format(columns=COLUMN_LIST, values=PLACEHOLDERS)
_REPEAT = QUERIES["repeat_of"]
_COUNT_RECENT = QUERIES["count_recent"]
_REPEATED_SINCE = QUERIES["repeated_since"]
_KEPT = QUERIES["kept_key"]
_KEPT_SINCE = QUERIES["kept_key_since"]
_INSERT_KEY = QUERIES["insert_key"]
_PURGE = QUERIES["purge_expired_keys"]
_DELETE_EXPIRED = QUERIES["delete_expired_key"]
_TRIES = 3  # a repeat that ended between our insert and our read: insert again


async def add(
    conn: Conn,
    request: CallbackRequest,
    limits: RateLimits | None,
    key: IdempotencyKey | None = None,
) -> CallbackRequest:
    """In a transaction: store a new request, or return the one it repeats
    (store_port.RequestStore.add); with ``key``, keep its answer too."""
    if limits is not None:
        await locks.take_numbers(conn, request.caller_number, request.callback_number)
        if why := await _over_limit(conn, request, limits):
            if (existing := await _repeat_of(conn, request)) is None:
                raise RateLimited(why)
            return await _answered(conn, request, existing, key)
    for _ in range(_TRIES):
        # A conflicting insert not committed yet is waited for: then it is a repeat (its
        # row is read below), or it rolled back and this one goes in.
        cursor = await conn.execute(_INSERT, (*values(request), request.requested_at))
        if await cursor.fetchone() is not None:  # went in
            return await _answered(conn, request, request, key)
        if (existing := await _repeat_of(conn, request)) is not None:
            return await _answered(conn, request, existing, key)
    raise StoreUnavailable(f"request for channel {request.channel} neither new nor known")


async def _answered(
    conn: Conn,
    request: CallbackRequest,
    stored: CallbackRequest,
    key: IdempotencyKey | None,
) -> CallbackRequest:
    """Keep the key's answer, then the event: the event log's lock is taken last."""
    if key is not None:
        status = 201 if stored.id == request.id else 200
        await conn.execute(
            _INSERT_KEY,
            (key.credential, key.key, key.body_sha256, stored.id, status, request.requested_at),
        )
    if stored is request:
        asked = {"credential": request.requested_by} if request.requested_by else {}
        await request_log.append_event(conn, request, "requested", request.requested_at, asked)
        await notices.tell_stored(conn, request.id)  # the leader places it, wherever it is
    elif stored.channel != request.channel:
        await _note_repeat(conn, stored, request)
    return stored


async def _note_repeat(conn: Conn, stored: CallbackRequest, request: CallbackRequest) -> None:
    """The "repeated" event, unless the request has one younger than REPEAT_NOTED_EVERY: looked
    for under the event log's lock (the last one taken, as ever), so that two writers cannot
    both miss the other's (read committed: each statement sees what committed before it)."""
    await locks.take(conn, locks.EVENTS)
    cursor = await conn.execute(
        _REPEATED_SINCE, (stored.id, request.requested_at - REPEAT_NOTED_EVERY)
    )
    if await cursor.fetchone() is None:
        detail = {"channel": request.channel, "dialed_number": request.dialed_number}
        await request_log.append_event(conn, stored, "repeated", request.requested_at, detail)


async def _over_limit(conn: Conn, request: CallbackRequest, limits: RateLimits) -> str | None:
    caller = request.caller_number or None  # withheld callers are not one caller
    cursor = await conn.execute(
        _COUNT_RECENT,
        (caller, request.callback_number, request.requested_at - limits.window, caller,
         request.callback_number),
    )  # fmt: skip
    row = await cursor.fetchone()
    return limits.exceeded(int(row["from_caller"]), int(row["to_destination"])) if row else None


async def _repeat_of(conn: Conn, request: CallbackRequest) -> CallbackRequest | None:
    cursor = await conn.execute(
        _REPEAT,
        (request.server, request.channel, request.callback_number, request.queue, request.channel),
    )
    row = await cursor.fetchone()
    return request_from(row) if row else None


# ---- the request API's idempotency keys ----------------------------------------------------
async def kept_answer(
    conn: Conn, credential: str, key: str, since: datetime | None = None
) -> KeptAnswer | None:
    params: tuple[object, ...] = (credential, key) if since is None else (credential, key, since)
    cursor = await conn.execute(_KEPT if since is None else _KEPT_SINCE, params)
    row = await cursor.fetchone()
    if row is None:
        return None
    at: datetime = row["created_at"]
    return KeptAnswer(row["body_sha256"], row["request_id"], row["status"], at.astimezone(UTC))


async def add_once(
    conn: Conn,
    request: CallbackRequest,
    limits: RateLimits | None,
    key: IdempotencyKey,
    since: datetime | None,
) -> tuple[CallbackRequest, KeptAnswer]:
    """In a transaction, the key's lock first: another process with the same key waits for
    this transaction, then finds the key kept (its primary key backs the lock). Then expired
    keys go: others' (a batch), and this one, free again, under its lock."""
    await locks.take(conn, locks.idempotency_key(key.credential, key.key))
    if since is not None:
        await conn.execute(_PURGE, (since,))
        await conn.execute(_DELETE_EXPIRED, (key.credential, key.key, since))
    if (kept := await kept_answer(conn, key.credential, key.key)) is not None:
        stored = await request_log.get(conn, kept.request_id)
        if stored is None:  # the foreign key forbids it
            raise StoreUnavailable(f"idempotency key for unknown request {kept.request_id}")
        return stored, kept
    stored = await add(conn, request, limits, key)
    status = 201 if stored.id == request.id else 200
    return stored, KeptAnswer(key.body_sha256, stored.id, status, request.requested_at)
