"""What only the SQLite store must take care of for webhooks: its one connection is shared by
serving and the senders, so the log must never be read in the middle of a transaction."""

import asyncio
import sqlite3
import threading
from pathlib import Path

from agi_app.store.sqlite.request_log import append_event
from agi_app.store.sqlite.store import Store
from tests.support.store_samples import NOW, REQUEST


async def test_the_outbox_never_shows_a_row_that_is_rolled_back(tmp_path: Path) -> None:
    """Read between another call's BEGIN and ROLLBACK, a row would be sent, then its seq
    reused by the next event, which the cursor would then skip."""
    async with Store.open(tmp_path / "cb.sqlite3") as store:
        await store.add(REQUEST)
        begun, asked = threading.Event(), threading.Event()

        def phantom(conn: sqlite3.Connection) -> None:  # as save() does: BEGIN, the row, ...
            conn.execute("BEGIN IMMEDIATE")
            append_event(conn, REQUEST, "Phantom", NOW, {})
            begun.set()
            assert asked.wait(5)  # ... then (here) no COMMIT
            conn.execute("ROLLBACK")

        writing = asyncio.ensure_future(store._db.call(phantom))
        assert await asyncio.to_thread(begun.wait, 5)
        reading = asyncio.ensure_future(store.events_after(0, 10))
        await asyncio.sleep(0)  # the read is asked for while the transaction is open
        asked.set()
        await writing
        rows = await reading
        assert [r.event.event for r in rows] == ["requested"]
        await store.note(REQUEST, "Real", NOW, {})
        after = await store.events_after(rows[-1].seq, 10)
        assert [r.event.event for r in after] == ["Real"]
