"""What the SQLite store's parts share: one write transaction taken at once (BEGIN
IMMEDIATE: a writer that must wait waits here, not halfway through), and event log rows
read back."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import aiosqlite

from agi_app.domain.event_log import Event
from agi_app.store.rows import Row


@asynccontextmanager
async def immediate(db: aiosqlite.Connection) -> AsyncIterator[None]:
    """Commit what the block wrote, or roll all of it back if the block raises."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        yield
        await db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            await db.execute("ROLLBACK")
        raise


def event_from_row(row: Row) -> Event:
    return Event(
        request_id=row["request_id"],
        at=datetime.fromisoformat(row["at"]),
        event=row["event"],
        state=row["state"],
        detail=json.loads(row["detail"]),
    )
