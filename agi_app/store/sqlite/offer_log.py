"""The offer checks kept for the report (schema 11): each check's outcome and the wait it
expected; the request that follows a check has the same channel.

Each function runs on the store's thread (connection.py), one call of the store.
"""

import sqlite3
from datetime import datetime

from agi_app.domain.offer import OfferCheck, Reason
from agi_app.store.sqlite.sql_files import QUERIES

_INSERT = QUERIES["insert_offer_check"]
_ALL = QUERIES["offer_checks"]
_SINCE = QUERIES["offer_checks_since"]


def record_offer_check(conn: sqlite3.Connection, check: OfferCheck) -> None:
    params = (check.channel, check.queue, check.at.isoformat(), check.reason.value,
              check.expected_wait)  # fmt: skip
    conn.execute(_INSERT, params)


def offer_checks(conn: sqlite3.Connection, since: datetime | None) -> list[OfferCheck]:
    """The offer checks (at or after ``since``), oldest first."""
    rows = conn.execute(_ALL) if since is None else conn.execute(_SINCE, (since.isoformat(),))
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
