"""Schema versions of the store, applied in order; PRAGMA user_version says where a file is.

The scripts are sql/migrations/NNNN_<name>.sql (sql_files.py): version N is the N-th, each
applied once, in its own transaction with the version it brings.
"""

import sqlite3

from agi_app.domain.errors import StoreUnavailable
from agi_app.store.sqlite.sql_files import migrations

MIGRATIONS: tuple[str, ...] = migrations()


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the scripts the file has not run yet; a file newer than this service is refused."""
    version = schema_version(conn)
    if version > len(MIGRATIONS):
        raise StoreUnavailable(f"store schema {version} is newer than this service")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        # executescript commits first; the version bump rides in the same script (a PRAGMA
        # takes no parameter). The line break ends a comment the script may end with.
        conn.executescript(f"BEGIN IMMEDIATE; {script}\n; PRAGMA user_version = {number}; COMMIT;")
