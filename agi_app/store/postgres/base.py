"""What the PostgreSQL store's parts share: its pool, a transaction or a read on one of its
connections (each bounded, each failure a StoreUnavailable), and the event log's writer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from psycopg.types.json import Json

from agi_app.domain.request import CallbackRequest
from agi_app.store.postgres import locks
from agi_app.store.postgres.connection import Conn, Pool, unavailable
from agi_app.store.postgres.sql_files import QUERIES

_INSERT_EVENT = QUERIES["insert_event"]


class PgBase:
    def __init__(self, pool: Pool, timeout: float) -> None:
        self._pool = pool
        # The server gives up on a statement or a lock wait after ``timeout``; a transaction
        # has a few of them, and a server that stopped answering gets this long in all.
        self._timeout = timeout
        self._deadline = 3 * timeout + 1

    @asynccontextmanager
    async def _transaction(self, what: str) -> AsyncIterator[Conn]:
        """One transaction, committed when the block ends (durable: the commit waits for the
        server's WAL flush, synchronous_commit being the server's to choose), rolled back if
        it raises."""
        async with (
            unavailable(what, self._deadline),
            self._pool.connection() as conn,
            conn.transaction(),
        ):
            yield conn

    @asynccontextmanager
    async def _connection(self, what: str) -> AsyncIterator[Conn]:
        """A connection for reads, each statement its own (autocommit)."""
        async with unavailable(what, self._deadline), self._pool.connection() as conn:
            yield conn

    async def _rows(self, what: str, query: str, params: tuple[object, ...]) -> list[Any]:
        async with self._connection(what) as conn:
            cursor = await conn.execute(query, params)
            return await cursor.fetchall()

    async def _one(self, what: str, query: str, params: tuple[object, ...]) -> Any:
        rows = await self._rows(what, query, params)
        return rows[0] if rows else None


async def append_event(
    conn: Conn, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
) -> None:
    """The last write of its transaction: under the event log's lock, held through the
    commit, so seq rises in commit order (locks.py)."""
    await locks.take(conn, locks.EVENTS)
    await conn.execute(_INSERT_EVENT, (request.id, at, event, request.state.value, Json(detail)))
