"""A transaction in one trip to the SQLite store's own thread, on a real SQLite file: what the
work returns comes back, a failure rolls back every statement of it, and calls run one at a
time, whole."""

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from agi_app.domain.errors import StoreUnavailable
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


async def test_writes_asked_for_meanwhile_commit_as_one_group(tmp_path: Path) -> None:
    """Group commit: writes asked for while another job is on the thread join one group waiting
    in its queue, run in one transaction; one that fails (a unique index here, StaleUpdate in
    the store) is undone alone, its caller hears of it, and every other write of the group is
    kept."""
    db = await Connection.open(tmp_path / "t.db", busy_timeout=1.0)
    try:
        await db.call(sqlite3.Connection.execute, "CREATE TABLE t (v INTEGER UNIQUE)")
        commits: list[str] = []
        await db.call(sqlite3.Connection.set_trace_callback, commits.append)
        started, release = threading.Event(), threading.Event()

        def slow_first(conn: sqlite3.Connection) -> None:
            started.set()
            assert release.wait(5)
            conn.execute("INSERT INTO t VALUES (0)")

        def insert(conn: sqlite3.Connection, v: int) -> int:
            with immediate(conn):  # a savepoint inside the group's transaction
                conn.execute("INSERT INTO t VALUES (?)", (v,))
                return v

        first = asyncio.ensure_future(db.write("first", slow_first))
        assert await asyncio.to_thread(started.wait, 5)  # on the thread: the rest wait for it
        rest = [asyncio.ensure_future(db.write(f"write {v}", insert, v)) for v in (1, 2, 1, 3)]
        await asyncio.sleep(0)
        release.set()
        await first
        outcomes = await asyncio.gather(*rest, return_exceptions=True)
        assert outcomes[:2] == [1, 2] and outcomes[3] == 3
        assert isinstance(outcomes[2], StoreUnavailable)  # the repeated 1
        assert "write 1" in str(outcomes[2]) and "UNIQUE" in str(outcomes[2])

        def values(conn: sqlite3.Connection) -> list[int]:
            return [r[0] for r in conn.execute("SELECT v FROM t ORDER BY v")]

        assert await db.call(values) == [0, 1, 2, 3]
        # Two groups: the first write alone, then the four in one transaction, one COMMIT.
        assert [c for c in commits if c.startswith(("BEGIN", "COMMIT"))] == [
            "BEGIN IMMEDIATE",
            "COMMIT",
        ]
    finally:
        await db.close()


async def test_a_failed_commit_fails_every_write_of_its_group(tmp_path: Path) -> None:
    """The group's COMMIT refused (a deferred foreign key here): no write of it is kept, and
    each caller hears of it, none told it is stored."""
    db = await Connection.open(tmp_path / "t.db", busy_timeout=1.0)
    try:
        schema = (
            "PRAGMA foreign_keys=ON;"
            "CREATE TABLE p (id INTEGER PRIMARY KEY);"
            "CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED);"
        )
        await db.call(sqlite3.Connection.executescript, schema)
        started, release = threading.Event(), threading.Event()

        def slow_first(conn: sqlite3.Connection) -> None:
            started.set()
            assert release.wait(5)

        def child_of(conn: sqlite3.Connection, p: int) -> None:
            conn.execute("INSERT INTO c VALUES (?)", (p,))

        def parent(conn: sqlite3.Connection, p: int) -> None:
            conn.execute("INSERT INTO p VALUES (?)", (p,))

        first = asyncio.ensure_future(db.write("first", slow_first))
        assert await asyncio.to_thread(started.wait, 5)
        group = [
            asyncio.ensure_future(db.write("parent", parent, 1)),
            asyncio.ensure_future(db.write("orphan", child_of, 99)),  # refused at COMMIT
        ]
        await asyncio.sleep(0)
        release.set()
        await first
        outcomes = await asyncio.gather(*group, return_exceptions=True)
        assert all(isinstance(o, StoreUnavailable) for o in outcomes), outcomes

        def count(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT count(*) FROM p").fetchone()[0])

        assert await db.call(count) == 0
    finally:
        await db.close()


async def test_a_write_is_heard_of_before_a_read_asked_after_it(tmp_path: Path) -> None:
    """A group's callers hear of their writes as a lone call's caller would: before the
    caller of a read asked for after them (serving's in-memory effects of a change, carried
    out once its save returns, are never behind what a later read of the store shows)."""
    db = await Connection.open(tmp_path / "t.db", busy_timeout=1.0)
    try:
        await db.call(sqlite3.Connection.execute, "CREATE TABLE t (v INTEGER)")
        started, release = threading.Event(), threading.Event()

        def slow(conn: sqlite3.Connection) -> None:
            started.set()
            assert release.wait(5)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO t VALUES (1)")

        def count(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])

        heard: list[str] = []

        async def written() -> None:
            await db.write("insert", insert)
            heard.append("write")

        async def read() -> None:
            assert await db.call(count) == 1
            heard.append("read")

        blocker = asyncio.ensure_future(db.call(slow))
        assert await asyncio.to_thread(started.wait, 5)
        tasks = [asyncio.ensure_future(written())]
        await asyncio.sleep(0)  # the write asked for first
        tasks.append(asyncio.ensure_future(read()))
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(blocker, *tasks)
        assert heard == ["write", "read"]
    finally:
        await db.close()
