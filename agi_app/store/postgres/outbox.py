"""The PostgreSQL store's side of webhooks (agi_app.store.port.WebhookOutbox): the event log
read as an outbox, each subscription's cursor and its delivery attempts; and one request's
log read a page at a time in the same seq order (the request API's GET).

Reading after a cursor is safe because seq rises in commit order (locks.py): every row
below the newest one a reader sees is committed or rolled back for good.
"""

from datetime import UTC

from agi_app.domain.event_log import LoggedEvent
from agi_app.store.port import ADVANCES, ATTEMPTS_KEPT, WebhookAttempt, prune_every
from agi_app.store.postgres.base import PgBase
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


class PgOutbox(PgBase):
    async def events_after(self, seq: int, limit: int) -> list[LoggedEvent]:
        rows = await self._rows("cannot read the event log", _EVENTS_AFTER, (seq, limit))
        return [LoggedEvent(row["seq"], event_from(row)) for row in rows]

    async def request_events(self, request_id: str, after: int, limit: int) -> list[LoggedEvent]:
        rows = await self._rows(
            "cannot read the event log", _REQUEST_EVENTS_AFTER, (request_id, after, limit)
        )
        return [LoggedEvent(row["seq"], event_from(row)) for row in rows]

    async def last_event_seq(self) -> int:
        row = await self._one("cannot read the event log", _LAST_SEQ, ())
        return int(row["seq"])

    async def count_events_after(self, seq: int, names: frozenset[str] | None = None) -> int:
        params: tuple[object, ...] = (seq,) if names is None else (seq, sorted(names))
        query = _COUNT_AFTER if names is None else _COUNT_NAMED_AFTER
        row = await self._one("cannot read the event log", query, params)
        return int(row["n"])

    async def webhook_cursor(self, subscription: str) -> int | None:
        row = await self._one("cannot read a webhook cursor", _CURSOR, (subscription,))
        return int(row["seq"]) if row else None

    async def start_webhook(self, subscription: str, seq: int) -> int:
        async with self._transaction(f"cannot start webhook {subscription}") as conn:
            await conn.execute(_START, (subscription, seq))
            cursor = await conn.execute(_CURSOR, (subscription,))
            row = await cursor.fetchone()
        assert row is not None
        return int(row["seq"])

    async def advance_webhook(self, subscription: str, seq: int) -> None:
        async with self._connection(f"cannot move webhook {subscription}") as conn:
            await advance(conn, subscription, seq)

    async def record_webhook_attempt(
        self, attempt: WebhookAttempt, keep: int = ATTEMPTS_KEPT
    ) -> None:
        async with self._transaction("cannot record a webhook attempt") as conn:
            cursor = await conn.execute(
                _INSERT_ATTEMPT,
                (
                    attempt.subscription,
                    attempt.seq,
                    attempt.at,
                    attempt.outcome,
                    attempt.status,
                    attempt.error,
                ),
            )
            if attempt.outcome in ADVANCES:
                await advance(conn, attempt.subscription, attempt.seq)
            row = await cursor.fetchone()
            if row is not None and int(row["id"]) % prune_every(keep) == 0:
                await conn.execute(
                    _PRUNE_ATTEMPTS, (attempt.subscription, attempt.subscription, keep)
                )

    async def webhook_attempts(self, subscription: str, limit: int) -> list[WebhookAttempt]:
        rows = await self._rows("cannot read webhook attempts", _ATTEMPTS, (subscription, limit))
        return [
            WebhookAttempt(
                subscription=row["subscription"],
                seq=row["seq"],
                at=row["at"].astimezone(UTC),
                outcome=row["outcome"],
                status=row["status"],
                error=row["error"],
            )
            for row in rows
        ]


async def advance(conn: Conn, subscription: str, seq: int) -> None:
    """Move a cursor, never backwards (also the fenced store's, fenced.py)."""
    await conn.execute(_ADVANCE, (subscription, seq))
