"""A SQLite transaction in one trip to aiosqlite's database thread.

Each awaited statement is a trip to that thread and back through the event loop; on a busy
machine every trip waits for both to be scheduled, and a transaction holds the store's
write lock across all of its trips (BENCHMARKS.md section 6). Statements that need nothing
from the event loop in between run there as one function on the raw connection.
"""

import sqlite3
from collections.abc import Callable
from typing import TypeVar

import aiosqlite

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


async def in_thread(db: aiosqlite.Connection, work: Work[T]) -> T:
    """``work(connection)`` on the database thread; what it returns or raises comes back."""
    # aiosqlite's own way to run a function there (its public methods use it); it has no
    # public name for it.
    result: T = await db._execute(work, db._conn)  # type: ignore[no-untyped-call]
    return result


def in_transaction(work: Work[T]) -> Work[T]:
    """``work`` inside BEGIN IMMEDIATE .. COMMIT, rolled back if it raises."""

    def transaction(conn: sqlite3.Connection) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    return transaction
