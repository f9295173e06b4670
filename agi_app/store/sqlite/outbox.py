"""The SQLite store's side of webhooks (agi_app.store.port.WebhookOutbox): the event log read
as an outbox, each subscription's cursor and its delivery attempts (schema 9); and one
request's log read a page at a time in the same seq order (the request API's GET).

Each function runs on the store's thread (connection.py), one call of the store: a read never
comes between another call's BEGIN and COMMIT, so it never shows a row that may yet be rolled
back (and its seq reused).
"""

import json
import sqlite3
from datetime import datetime

from agi_app.domain.event_log import LoggedEvent
from agi_app.store.port import ADVANCES, WebhookAttempt, prune_every
from agi_app.store.sqlite.connection import immediate
from agi_app.store.sqlite.request_log import event_from_row
from agi_app.store.sqlite.sql_files import QUERIES

_EVENTS_AFTER = QUERIES["events_after"]
_REQUEST_EVENTS_AFTER = QUERIES["request_events_after"]
_LAST_EVENT_SEQ = QUERIES["last_event_seq"]
_COUNT_EVENTS_AFTER = QUERIES["count_events_after"]
_COUNT_NAMED_EVENTS_AFTER = QUERIES["count_named_events_after"]
_WEBHOOK_CURSOR = QUERIES["webhook_cursor"]
_START_WEBHOOK = QUERIES["start_webhook"]
_ADVANCE_WEBHOOK = QUERIES["advance_webhook"]
_INSERT_ATTEMPT = QUERIES["insert_webhook_attempt"]
_PRUNE_ATTEMPTS = QUERIES["prune_webhook_attempts"]
_ATTEMPTS = QUERIES["webhook_attempts"]


def events_after(conn: sqlite3.Connection, seq: int, limit: int) -> list[LoggedEvent]:
    rows = conn.execute(_EVENTS_AFTER, (seq, limit))
    return [LoggedEvent(row["seq"], event_from_row(row)) for row in rows]


def request_events(
    conn: sqlite3.Connection, request_id: str, after: int, limit: int
) -> list[LoggedEvent]:
    rows = conn.execute(_REQUEST_EVENTS_AFTER, (request_id, after, limit))
    return [LoggedEvent(row["seq"], event_from_row(row)) for row in rows]


def last_event_seq(conn: sqlite3.Connection) -> int:
    return _count(conn.execute(_LAST_EVENT_SEQ))


def count_events_after(conn: sqlite3.Connection, seq: int, names: frozenset[str] | None) -> int:
    if names is None:
        return _count(conn.execute(_COUNT_EVENTS_AFTER, (seq,)))
    return _count(conn.execute(_COUNT_NAMED_EVENTS_AFTER, (seq, json.dumps(sorted(names)))))


def _count(cursor: sqlite3.Cursor) -> int:
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def webhook_cursor(conn: sqlite3.Connection, subscription: str) -> int | None:
    row = conn.execute(_WEBHOOK_CURSOR, (subscription,)).fetchone()
    return int(row[0]) if row else None


def start_webhook(conn: sqlite3.Connection, subscription: str, seq: int) -> int:
    conn.execute(_START_WEBHOOK, (subscription, seq))
    found = webhook_cursor(conn, subscription)
    assert found is not None
    return found


def advance_webhook(conn: sqlite3.Connection, subscription: str, seq: int) -> None:
    conn.execute(_ADVANCE_WEBHOOK, (subscription, seq))


def record_webhook_attempt(conn: sqlite3.Connection, attempt: WebhookAttempt, keep: int) -> None:
    """The attempt, the cursor moved if it advances, and now and then the oldest attempts
    pruned, in one transaction."""
    with immediate(conn):
        cursor = conn.execute(
            _INSERT_ATTEMPT,
            (attempt.subscription, attempt.seq, attempt.at.isoformat(), attempt.outcome,
             attempt.status, attempt.error),
        )  # fmt: skip
        if attempt.outcome in ADVANCES:
            advance_webhook(conn, attempt.subscription, attempt.seq)
        if (cursor.lastrowid or 0) % prune_every(keep) == 0:
            conn.execute(_PRUNE_ATTEMPTS, (attempt.subscription, attempt.subscription, keep))


def webhook_attempts(
    conn: sqlite3.Connection, subscription: str, limit: int
) -> list[WebhookAttempt]:
    return [
        WebhookAttempt(
            subscription=row["subscription"],
            seq=row["seq"],
            at=datetime.fromisoformat(row["at"]),
            outcome=row["outcome"],
            status=row["status"],
            error=row["error"],
        )
        for row in conn.execute(_ATTEMPTS, (subscription, limit))
    ]
