"""What the PostgreSQL tests use to line transactions up: a session of the test's own that
holds advisory locks, and a look at who waits for which kind of lock (pg_locks)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import AsyncConnection

from tests.support.poll import eventually


@asynccontextmanager
async def session(url: str) -> AsyncIterator[AsyncConnection[tuple[object, ...]]]:
    conn = await AsyncConnection.connect(url, autocommit=True)
    try:
        yield conn
    finally:
        await conn.close()


async def hold(conn: AsyncConnection[tuple[object, ...]], key: int) -> None:
    """Hold an advisory lock until ``release``: the store's transactions that want it wait."""
    await conn.execute("SELECT pg_advisory_lock(%s)", (key,))


async def release(conn: AsyncConnection[tuple[object, ...]], key: int) -> None:
    await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


async def waiting(
    conn: AsyncConnection[tuple[object, ...]], locktype: str, count: int, what: str
) -> list[int]:
    """Poll until ``count`` backends wait for a lock of ``locktype`` (advisory, or
    transactionid: a row another transaction has not committed yet); their pids."""

    async def pids() -> list[int]:
        cursor = await conn.execute(
            "SELECT pid FROM pg_locks WHERE NOT granted AND locktype = %s ORDER BY pid",
            (locktype,),
        )
        return [int(str(row[0])) for row in await cursor.fetchall()]

    return await eventually(pids, lambda p: len(p) >= count, within=10, what=what)
