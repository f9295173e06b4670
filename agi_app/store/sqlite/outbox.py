"""The SQLite store's side of webhooks (agi_app.store.port.WebhookOutbox): the event log read
as an outbox, each subscription's cursor and its delivery attempts (schema 9); and one
request's log read a page at a time in the same seq order (the request API's GET).

A mixin of agi_app.store.sqlite.store.Store: it shares the store's one connection and its write
lock.
"""

import asyncio
import sqlite3
from datetime import datetime

import aiosqlite

from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.event_log import LoggedEvent
from agi_app.store.port import ADVANCES, ATTEMPTS_KEPT, WebhookAttempt, prune_every
from agi_app.store.rows import PRUNE_ATTEMPTS
from agi_app.store.sqlite.transactions import event_from_row, immediate


class WebhookOutboxSql:
    _db: aiosqlite.Connection
    _writing: asyncio.Lock

    async def events_after(self, seq: int, limit: int) -> list[LoggedEvent]:
        return await self._logged(
            "SELECT * FROM request_events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )

    async def request_events(self, request_id: str, after: int, limit: int) -> list[LoggedEvent]:
        return await self._logged(
            "SELECT * FROM request_events WHERE request_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (request_id, after, limit),
        )

    async def _logged(self, query: str, params: tuple[object, ...]) -> list[LoggedEvent]:
        # Under the write lock: on this one connection a read between another coroutine's
        # BEGIN and COMMIT would see rows that may yet be rolled back (and their seq reused).
        async with self._writing:
            try:
                async with self._db.execute(query, params) as cursor:
                    rows = await cursor.fetchall()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot read the event log: {exc}") from exc
        return [LoggedEvent(row["seq"], event_from_row(row)) for row in rows]

    async def last_event_seq(self) -> int:
        async with self._writing:
            return await self._one("SELECT coalesce(max(seq), 0) FROM request_events", ())

    async def count_events_after(self, seq: int, names: frozenset[str] | None = None) -> int:
        query = "SELECT count(*) FROM request_events WHERE seq > ?"
        params: tuple[object, ...] = (seq,)
        if names is not None:
            query += f" AND event IN ({', '.join('?' for _ in names)})"
            params += tuple(sorted(names))
        async with self._writing:
            return await self._one(query, params)

    async def _one(self, query: str, params: tuple[object, ...]) -> int:
        try:
            async with self._db.execute(query, params) as cursor:
                row = await cursor.fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot read the event log: {exc}") from exc
        return int(row[0]) if row else 0

    async def webhook_cursor(self, subscription: str) -> int | None:
        async with self._db.execute(
            "SELECT seq FROM webhook_cursors WHERE subscription = ?", (subscription,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else None

    async def start_webhook(self, subscription: str, seq: int) -> int:
        async with self._writing:
            try:
                await self._db.execute(
                    "INSERT INTO webhook_cursors (subscription, seq) VALUES (?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (subscription, seq),
                )
                found = await self.webhook_cursor(subscription)
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot start webhook {subscription}: {exc}") from exc
        assert found is not None
        return found

    async def advance_webhook(self, subscription: str, seq: int) -> None:
        async with self._writing:
            try:
                await self._advance(subscription, seq)
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot move webhook {subscription}: {exc}") from exc

    async def _advance(self, subscription: str, seq: int) -> None:
        await self._db.execute(
            "INSERT INTO webhook_cursors (subscription, seq) VALUES (?, ?)"
            " ON CONFLICT (subscription) DO UPDATE SET seq = max(seq, excluded.seq)",
            (subscription, seq),
        )

    async def record_webhook_attempt(
        self, attempt: WebhookAttempt, keep: int = ATTEMPTS_KEPT
    ) -> None:
        async with self._writing:
            try:
                async with immediate(self._db):
                    cursor = await self._db.execute(
                        "INSERT INTO webhook_attempts"
                        " (subscription, seq, at, outcome, status, error)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            attempt.subscription,
                            attempt.seq,
                            attempt.at.isoformat(),
                            attempt.outcome,
                            attempt.status,
                            attempt.error,
                        ),
                    )
                    if attempt.outcome in ADVANCES:
                        await self._advance(attempt.subscription, attempt.seq)
                    if (cursor.lastrowid or 0) % prune_every(keep) == 0:
                        await self._db.execute(
                            PRUNE_ATTEMPTS.replace("%s", "?"),
                            (attempt.subscription, attempt.subscription, keep),
                        )
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot record a webhook attempt: {exc}") from exc

    async def webhook_attempts(self, subscription: str, limit: int) -> list[WebhookAttempt]:
        async with self._db.execute(
            "SELECT * FROM webhook_attempts WHERE subscription = ? ORDER BY id DESC LIMIT ?",
            (subscription, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            WebhookAttempt(
                subscription=row["subscription"],
                seq=row["seq"],
                at=datetime.fromisoformat(row["at"]),
                outcome=row["outcome"],
                status=row["status"],
                error=row["error"],
            )
            for row in rows
        ]
