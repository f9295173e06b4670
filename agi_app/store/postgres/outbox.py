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
from agi_app.store.rows import PRUNE_ATTEMPTS


class PgOutbox(PgBase):
    async def events_after(self, seq: int, limit: int) -> list[LoggedEvent]:
        rows = await self._rows(
            "cannot read the event log",
            "SELECT * FROM request_events WHERE seq > %s ORDER BY seq LIMIT %s",
            (seq, limit),
        )
        return [LoggedEvent(row["seq"], event_from(row)) for row in rows]

    async def request_events(self, request_id: str, after: int, limit: int) -> list[LoggedEvent]:
        rows = await self._rows(
            "cannot read the event log",
            "SELECT * FROM request_events WHERE request_id = %s AND seq > %s ORDER BY seq LIMIT %s",
            (request_id, after, limit),
        )
        return [LoggedEvent(row["seq"], event_from(row)) for row in rows]

    async def last_event_seq(self) -> int:
        row = await self._one(
            "cannot read the event log",
            "SELECT coalesce(max(seq), 0) AS seq FROM request_events",
            (),
        )
        return int(row["seq"])

    async def count_events_after(self, seq: int, names: frozenset[str] | None = None) -> int:
        query = "SELECT count(*) AS n FROM request_events WHERE seq > %s"
        params: tuple[object, ...] = (seq,)
        if names is not None:
            query, params = query + " AND event = ANY(%s)", (seq, sorted(names))
        row = await self._one("cannot read the event log", query, params)
        return int(row["n"])

    async def webhook_cursor(self, subscription: str) -> int | None:
        row = await self._one(
            "cannot read a webhook cursor",
            "SELECT seq FROM webhook_cursors WHERE subscription = %s",
            (subscription,),
        )
        return int(row["seq"]) if row else None

    async def start_webhook(self, subscription: str, seq: int) -> int:
        async with self._transaction(f"cannot start webhook {subscription}") as conn:
            await conn.execute(
                "INSERT INTO webhook_cursors (subscription, seq) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (subscription, seq),
            )
            cursor = await conn.execute(
                "SELECT seq FROM webhook_cursors WHERE subscription = %s", (subscription,)
            )
            row = await cursor.fetchone()
        assert row is not None
        return int(row["seq"])

    async def advance_webhook(self, subscription: str, seq: int) -> None:
        async with self._connection(f"cannot move webhook {subscription}") as conn:
            await _advance(conn, subscription, seq)

    async def record_webhook_attempt(
        self, attempt: WebhookAttempt, keep: int = ATTEMPTS_KEPT
    ) -> None:
        async with self._transaction("cannot record a webhook attempt") as conn:
            cursor = await conn.execute(
                "INSERT INTO webhook_attempts (subscription, seq, at, outcome, status, error)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
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
                await _advance(conn, attempt.subscription, attempt.seq)
            row = await cursor.fetchone()
            if row is not None and int(row["id"]) % prune_every(keep) == 0:
                await conn.execute(
                    PRUNE_ATTEMPTS, (attempt.subscription, attempt.subscription, keep)
                )

    async def webhook_attempts(self, subscription: str, limit: int) -> list[WebhookAttempt]:
        rows = await self._rows(
            "cannot read webhook attempts",
            "SELECT * FROM webhook_attempts WHERE subscription = %s ORDER BY id DESC LIMIT %s",
            (subscription, limit),
        )
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


async def _advance(conn: Conn, subscription: str, seq: int) -> None:
    """Never backwards."""
    await conn.execute(
        "INSERT INTO webhook_cursors (subscription, seq) VALUES (%s, %s)"
        " ON CONFLICT (subscription) DO UPDATE"
        " SET seq = greatest(webhook_cursors.seq, excluded.seq)",
        (subscription, seq),
    )
