"""The offer checks kept for the report on PostgreSQL: each check's outcome and the wait it
expected (the request that follows a check has the same channel)."""

from datetime import UTC, datetime

from agi_app.domain.offer import OfferCheck, Reason
from agi_app.store.postgres.base import PgBase


class PgOfferLog(PgBase):
    async def record_offer_check(self, check: OfferCheck) -> None:
        """One offer check, for the report (changes no request)."""
        async with self._connection("cannot record an offer check") as conn:
            await conn.execute(
                "INSERT INTO offer_checks (channel, queue, at, reason, expected_wait)"
                " VALUES (%s, %s, %s, %s, %s)",
                (check.channel, check.queue, check.at, check.reason.value, check.expected_wait),
            )

    async def offer_checks(self, since: datetime | None = None) -> list[OfferCheck]:
        """The offer checks (at or after ``since``), oldest first."""
        query, params = "SELECT * FROM offer_checks", tuple[object, ...]()
        if since is not None:
            query, params = query + " WHERE at >= %s", (since,)
        rows = await self._rows("cannot read offer checks", query + " ORDER BY seq", params)
        return [
            OfferCheck(
                row["channel"],
                row["queue"],
                row["at"].astimezone(UTC),
                Reason(row["reason"]),
                row["expected_wait"],
            )
            for row in rows
        ]
