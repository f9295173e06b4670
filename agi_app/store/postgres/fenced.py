"""The store serving writes through, on PostgreSQL: the same store, fenced by the serving
lease's epoch (agi_app/store/postgres/leadership.py), so that a process that lost the role
changes nothing.

Every transaction of a FencedStore (save, note, and the other writes) first reads the lease
``FOR SHARE`` and goes on only if its epoch is this leader's; it holds that row lock through
its commit. A takeover raises the epoch with an UPDATE of the row, which waits for those
locks: each fenced write of the old leader commits before the takeover (and the new leader,
which reconciles after it, sees it), or it reads the new epoch and fails with NotLeader,
rolled back. The lease row is the first lock a fenced transaction takes (locks.py order:
then the request rows, the event log last); the takeover holds no other lock.

The service gets a FencedStore from open_backend() (agi_app/store/open.py), and NotLeader
from there too.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agi_app.domain.errors import NotLeader
from agi_app.store.postgres import outbox
from agi_app.store.postgres.connection import Conn
from agi_app.store.postgres.sql_files import QUERIES
from agi_app.store.postgres.store import PgStore

_FENCE = QUERIES["fence"]


class FencedStore(PgStore):
    """A PgStore on another store's pool whose transactions are fenced by ``epoch``."""

    def __init__(self, store: PgStore, epoch: int) -> None:
        super().__init__(store._pool, store._timeout)
        self.epoch = epoch

    @asynccontextmanager
    async def _transaction(self, what: str) -> AsyncIterator[Conn]:
        async with super()._transaction(what) as conn:
            await fence(conn, self.epoch)
            yield conn

    async def advance_webhook(self, subscription: str, seq: int) -> None:
        """A write the store makes outside a transaction: fenced as the others."""
        async with self._transaction(f"cannot move webhook {subscription}") as conn:
            await outbox.advance_webhook(conn, subscription, seq)


async def fence(conn: Conn, epoch: int) -> None:
    """In a transaction: go on only while the lease is at ``epoch``; the row stays locked
    (shared) until the transaction ends, so no takeover comes in between."""
    cursor = await conn.execute(_FENCE)
    row = await cursor.fetchone()
    now = int(row["epoch"]) if row else None
    if now != epoch:
        raise NotLeader(f"serving lease at epoch {now}, this process had {epoch}")
