"""The offer checks kept for the report on PostgreSQL: each check's outcome and the wait it
expected (the request that follows a check has the same channel).

Each function runs on a connection the store took for one call (store.py).
"""

from datetime import UTC, datetime

from agi_app.domain.offer import OfferCheck, Reason
from agi_app.store.postgres.connection import Conn
from agi_app.store.postgres.sql_files import QUERIES

_INSERT = QUERIES["insert_offer_check"]
_ALL = QUERIES["offer_checks"]
_SINCE = QUERIES["offer_checks_since"]


async def record_offer_check(conn: Conn, check: OfferCheck) -> None:
    """One offer check, for the report (changes no request)."""
    await conn.execute(
        _INSERT, (check.channel, check.queue, check.at, check.reason.value, check.expected_wait)
    )


async def offer_checks(conn: Conn, since: datetime | None) -> list[OfferCheck]:
    """The offer checks (at or after ``since``), oldest first."""
    params: tuple[object, ...] = () if since is None else (since,)
    cursor = await conn.execute(_ALL if since is None else _SINCE, params)
    return [
        OfferCheck(
            row["channel"],
            row["queue"],
            row["at"].astimezone(UTC),
            Reason(row["reason"]),
            row["expected_wait"],
        )
        for row in await cursor.fetchall()
    ]
