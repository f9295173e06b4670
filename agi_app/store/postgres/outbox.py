"""The PostgreSQL store's side of webhooks (agi_app.store.port.WebhookOutbox): the event log
read as an outbox, each subscription's cursor and its delivery attempts; and one request's
log read a page at a time in the same seq order (the request API's GET).

Reading after a cursor is safe because seq rises in commit order (locks.py): every row
below the newest one a reader sees is committed or rolled back for good. Each function runs
on a connection the store took for one call (store.py).
"""

from datetime import UTC

from agi_app.domain.event_log import LoggedEvent
from agi_app.store.port import ADVANCES, WebhookAttempt, prune_every
from agi_app.store.postgres.connection import Conn
from agi_app.store.postgres.rows import event_from
from agi_app.store.postgres.sql_files import QUERIES

_EVENTS_AFTER = QUERIES["events_after"]
_REQUEST_EVENTS_AFTER = QUERIES["request_events_after"]
_LAST_SEQ = QUERIES["last_event_seq"]
_COUNT_AFTER = QUERIES["count_events_after"]
_COUNT_NAMED_AFTER = QUERIES["count_named_events_after"]
_CURSOR = QUERIES["webhook_cursor"]
_START = QUERIES["start_webhook"]
_ADVANCE = QUERIES["advance_webhook"]
_INSERT_ATTEMPT = QUERIES["insert_webhook_attempt"]
_PRUNE_ATTEMPTS = QUERIES["prune_webhook_attempts"]
_ATTEMPTS = QUERIES["webhook_attempts"]


async def events_after(conn: Conn, seq: int, limit: int) -> list[LoggedEvent]:
    cursor = await conn.execute(_EVENTS_AFTER, (seq, limit))
    return [LoggedEvent(row["seq"], event_from(row)) for row in await cursor.fetchall()]


async def request_events(conn: Conn, request_id: str, after: int, limit: int) -> list[LoggedEvent]:
    cursor = await conn.execute(_REQUEST_EVENTS_AFTER, (request_id, after, limit))
    return [LoggedEvent(row["seq"], event_from(row)) for row in await cursor.fetchall()]


async def last_event_seq(conn: Conn) -> int:
    cursor = await conn.execute(_LAST_SEQ, ())
    row = await cursor.fetchone()
    assert row is not None  # an aggregate: one row, always
    return int(row["seq"])


async def count_events_after(conn: Conn, seq: int, names: frozenset[str] | None) -> int:
    params: tuple[object, ...] = (seq,) if names is None else (seq, sorted(names))
    cursor = await conn.execute(_COUNT_AFTER if names is None else _COUNT_NAMED_AFTER, params)
    row = await cursor.fetchone()
    assert row is not None  # an aggregate: one row, always
    return int(row["n"])


async def webhook_cursor(conn: Conn, subscription: str) -> int | None:
    cursor = await conn.execute(_CURSOR, (subscription,))
    row = await cursor.fetchone()
    return int(row["seq"]) if row else None


async def start_webhook(conn: Conn, subscription: str, seq: int) -> int:
    """In a transaction: the cursor, created at ``seq`` unless it is there already."""
    await conn.execute(_START, (subscription, seq))
    found = await webhook_cursor(conn, subscription)
    assert found is not None
    return found


async def advance_webhook(conn: Conn, subscription: str, seq: int) -> None:
    """Move a cursor, never backwards (also in the fenced store's transaction, fenced.py)."""
    await conn.execute(_ADVANCE, (subscription, seq))


async def record_webhook_attempt(conn: Conn, attempt: WebhookAttempt, keep: int) -> None:
    """In a transaction: the attempt, the cursor moved if it advances, and now and then the
    oldest attempts pruned."""
    cursor = await conn.execute(
        _INSERT_ATTEMPT,
        (attempt.subscription, attempt.seq, attempt.at, attempt.outcome, attempt.status,
         attempt.error),
    )  # fmt: skip
    if attempt.outcome in ADVANCES:
        await advance_webhook(conn, attempt.subscription, attempt.seq)
    row = await cursor.fetchone()
    if row is not None and int(row["id"]) % prune_every(keep) == 0:
        await conn.execute(_PRUNE_ATTEMPTS, (attempt.subscription, attempt.subscription, keep))


async def webhook_attempts(conn: Conn, subscription: str, limit: int) -> list[WebhookAttempt]:
    cursor = await conn.execute(_ATTEMPTS, (subscription, limit))
    return [
        WebhookAttempt(
            subscription=row["subscription"],
            seq=row["seq"],
            at=row["at"].astimezone(UTC),
            outcome=row["outcome"],
            status=row["status"],
            error=row["error"],
        )
        for row in await cursor.fetchall()
    ]
