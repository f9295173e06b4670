"""The offer checks kept for the report on PostgreSQL: each check's outcome and the wait it
expected (the request that follows a check has the same channel)."""

from datetime import UTC, datetime

from agi_app.domain.offer import OfferCheck, Reason
from agi_app.store.postgres.base import PgBase
from agi_app.store.postgres.sql_files import QUERIES

_INSERT = QUERIES["insert_offer_check"]
_ALL = QUERIES["offer_checks"]
_SINCE = QUERIES["offer_checks_since"]


class PgOfferLog(PgBase):
    async def record_offer_check(self, check: OfferCheck) -> None:
        """One offer check, for the report (changes no request)."""
        async with self._connection("cannot record an offer check") as conn:
            await conn.execute(
                _INSERT,
                (check.channel, check.queue, check.at, check.reason.value, check.expected_wait),
            )

    async def offer_checks(self, since: datetime | None = None) -> list[OfferCheck]:
        """The offer checks (at or after ``since``), oldest first."""
        params: tuple[object, ...] = () if since is None else (since,)
        rows = await self._rows(
            "cannot read offer checks", _ALL if since is None else _SINCE, params
        )
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
