"""The do-not-call entries added by the command line and the API (schema 20), on SQLite.

Each function runs on the store's thread (connection.py), one call of the store.
"""

import sqlite3
from datetime import datetime

from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.store.sqlite.sql_files import QUERIES

_ALL = QUERIES["do_not_call"]
_ADD = QUERIES["add_do_not_call"]
_REMOVE = QUERIES["remove_do_not_call"]


def do_not_call(conn: sqlite3.Connection) -> list[DoNotCallEntry]:
    return [
        DoNotCallEntry(row["entry"], datetime.fromisoformat(row["added_at"]), row["added_by"])
        for row in conn.execute(_ALL)
    ]


def add_do_not_call(conn: sqlite3.Connection, entry: DoNotCallEntry) -> bool:
    """False when the entry is there already (kept as it was)."""
    cursor = conn.execute(_ADD, (entry.entry, entry.added_at.isoformat(), entry.added_by))
    return cursor.rowcount == 1


def remove_do_not_call(conn: sqlite3.Connection, entry: str) -> bool:
    return conn.execute(_REMOVE, (entry,)).rowcount == 1
