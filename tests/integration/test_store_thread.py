"""A transaction in one trip to the SQLite store's own thread, on a real SQLite file: what the
work returns comes back, a failure rolls back every statement of it, and calls run one at a
time, whole."""

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from agi_app.store.sqlite.connection import Connection, immediate


async def test_one_trip_commits_or_rolls_back_all_of_it(tmp_path: Path) -> None:
    db = await Connection.open(tmp_path / "t.db", busy_timeout=1.0)
    try:
        await db.call(sqlite3.Connection.execute, "CREATE TABLE t (v INTEGER UNIQUE)")

        def two(conn: sqlite3.Connection) -> int:
            with immediate(conn):
                conn.execute("INSERT INTO t VALUES (1)")
                return conn.execute("INSERT INTO t VALUES (2)").rowcount

        assert await db.call(two) == 1

        def second_fails(conn: sqlite3.Connection) -> None:
            with immediate(conn):
                conn.execute("INSERT INTO t VALUES (3)")
                conn.execute("INSERT INTO t VALUES (1)")  # unique: raises

        with pytest.raises(sqlite3.IntegrityError):
            await db.call(second_fails)

        def values(conn: sqlite3.Connection) -> tuple[list[int], bool]:
            rows = conn.execute("SELECT v FROM t ORDER BY v").fetchall()
            return [r[0] for r in rows], conn.in_transaction

        assert await db.call(values) == ([1, 2], False)  # 3 rolled back with the failure
    finally:
        await db.close()


async def test_a_call_waits_for_the_one_before_it_to_end(tmp_path: Path) -> None:
    """The store's reads need no lock against its writes: a call asked for while another's
    transaction is open runs after it has ended."""
    db = await Connection.open(tmp_path / "t.db", busy_timeout=1.0)
    try:
        await db.call(sqlite3.Connection.execute, "CREATE TABLE t (v INTEGER)")
        begun, asked = threading.Event(), threading.Event()

        def rolled_back(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (1)")
            begun.set()
            assert asked.wait(5)
            conn.execute("ROLLBACK")

        def count(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])

        writing = asyncio.ensure_future(db.call(rolled_back))
        assert await asyncio.to_thread(begun.wait, 5)
        reading = asyncio.ensure_future(db.call(count))
        await asyncio.sleep(0)  # the read is asked for: on the thread's queue
        asked.set()
        await writing
        assert await reading == 0
    finally:
        await db.close()
