"""Schema versions of the PostgreSQL store, applied in order; the one-row table
schema_version says where a database is. Version 1 is the SQLite store's schema 11 in
PostgreSQL's types; a later change to the schema is a new entry on both lists.

The scripts are sql/migrations/NNNN_<name>.sql, version N the N-th (sql_files.py): a change
is a new file, never an edit of one a database may have run.

Migrating is one transaction under an advisory lock: two services starting together on one
database take turns, and the second finds the schema current.
"""

from agi_app.domain.errors import StoreUnavailable
from agi_app.store.postgres import locks
from agi_app.store.postgres.connection import Conn
from agi_app.store.postgres.sql_files import QUERIES, migrations

MIGRATIONS: tuple[str, ...] = migrations()

_PRESENT = QUERIES["schema_version_present"]
_VERSION = QUERIES["schema_version"]
_CREATE_VERSION = QUERIES["create_schema_version"]
_SET_VERSION = QUERIES["set_schema_version"]


async def schema_version(conn: Conn) -> int:
    cursor = await conn.execute(_PRESENT)
    row = await cursor.fetchone()
    if row is None or not row["present"]:
        return 0
    cursor = await conn.execute(_VERSION)
    row = await cursor.fetchone()
    return int(row["version"]) if row else 0


async def migrate(conn: Conn) -> int:
    """Bring the database to the newest version; refuse one newer than this service."""
    async with conn.transaction():
        await locks.take(conn, locks.MIGRATIONS)
        await conn.execute(_CREATE_VERSION)
        version = await schema_version(conn)
        if version > len(MIGRATIONS):
            raise StoreUnavailable(f"store schema {version} is newer than this service")
        for script in MIGRATIONS[version:]:
            await conn.execute(script)
        await conn.execute(_SET_VERSION, (len(MIGRATIONS),))
    return len(MIGRATIONS)
