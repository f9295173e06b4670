"""A transaction in one trip to aiosqlite's thread, on a real SQLite file: what the work
returns comes back, and a failure rolls back every statement of it."""

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from agi_app.store.sqlite.thread import in_thread, in_transaction


async def test_one_trip_commits_or_rolls_back_all_of_it(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "t.db", isolation_level=None) as db:
        await db.execute("CREATE TABLE t (v INTEGER UNIQUE)")

        def two(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO t VALUES (1)")
            return conn.execute("INSERT INTO t VALUES (2)").rowcount

        assert await in_thread(db, in_transaction(two)) == 1

        def second_fails(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO t VALUES (3)")
            conn.execute("INSERT INTO t VALUES (1)")  # unique: raises

        with pytest.raises(sqlite3.IntegrityError):
            await in_thread(db, in_transaction(second_fails))
        rows = await db.execute_fetchall("SELECT v FROM t ORDER BY v")
        assert [r[0] for r in rows] == [1, 2]  # 3 rolled back with the failure
        assert not db.in_transaction
