"""The do-not-call entries added by the command line and the API, on PostgreSQL.

Each function runs on a connection the store took for one call (store.py).
"""

from datetime import UTC

from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.store.postgres.connection import Conn
from agi_app.store.postgres.sql_files import QUERIES

_ALL = QUERIES["do_not_call"]
_ADD = QUERIES["add_do_not_call"]
_REMOVE = QUERIES["remove_do_not_call"]


async def do_not_call(conn: Conn) -> list[DoNotCallEntry]:
    cursor = await conn.execute(_ALL)
    return [
        DoNotCallEntry(row["entry"], row["added_at"].astimezone(UTC), row["added_by"])
        for row in await cursor.fetchall()
    ]


async def add_do_not_call(conn: Conn, entry: DoNotCallEntry) -> bool:
    """False when the entry is there already (kept as it was)."""
    cursor = await conn.execute(_ADD, (entry.entry, entry.added_at, entry.added_by))
    return cursor.rowcount == 1


async def remove_do_not_call(conn: Conn, entry: str) -> bool:
    cursor = await conn.execute(_REMOVE, (entry,))
    return cursor.rowcount == 1
