"""The offer checks kept for the report (schema 11): each check's outcome and the wait it
expected; the request that follows a check has the same channel.

A mixin of agi_app.store.sqlite.store.Store: it shares the store's one connection and its write
lock.
"""

import asyncio
import sqlite3
from datetime import datetime

import aiosqlite

from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.offer import OfferCheck, Reason


class OfferLogSql:
    _db: aiosqlite.Connection
    _writing: asyncio.Lock

    async def record_offer_check(self, check: OfferCheck) -> None:
        """One offer check, for the report (changes no request)."""
        async with self._writing:
            try:
                await self._db.execute(
                    "INSERT INTO offer_checks (channel, queue, at, reason, expected_wait)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        check.channel,
                        check.queue,
                        check.at.isoformat(),
                        check.reason.value,
                        check.expected_wait,
                    ),
                )
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot record an offer check: {exc}") from exc

    async def offer_checks(self, since: datetime | None = None) -> list[OfferCheck]:
        """The offer checks (at or after ``since``), oldest first."""
        query, params = "SELECT * FROM offer_checks", tuple[str, ...]()
        if since is not None:
            query, params = query + " WHERE at >= ?", (since.isoformat(),)
        async with self._db.execute(query + " ORDER BY seq", params) as cursor:
            rows = await cursor.fetchall()
        return [
            OfferCheck(
                row["channel"],
                row["queue"],
                datetime.fromisoformat(row["at"]),
                Reason(row["reason"]),
                row["expected_wait"],
            )
            for row in rows
        ]
