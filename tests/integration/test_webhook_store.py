"""What only the SQLite store must take care of for webhooks: its one connection is shared by
serving and the senders, so the log must never be read in the middle of a transaction."""

import asyncio
from pathlib import Path

from agi_app.store.sqlite.store import Store
from tests.support.store_samples import NOW, REQUEST


async def test_the_outbox_never_shows_a_row_that_is_rolled_back(tmp_path: Path) -> None:
    """Read between another coroutine's BEGIN and ROLLBACK, a row would be sent, then its seq
    reused by the next event, which the cursor would then skip."""
    async with Store.open(tmp_path / "cb.sqlite3") as store:
        await store.add(REQUEST)
        async with store._writing:  # as save() does: BEGIN, the row, then (here) no COMMIT
            await store._db.execute("BEGIN IMMEDIATE")
            await store._append_event(REQUEST, "Phantom", NOW, {})
            reading = asyncio.ensure_future(store.events_after(0, 10))
            for _ in range(3):  # the read's query, if it did not wait, runs before these
                await store._db.execute("SELECT 1")
            await store._db.execute("ROLLBACK")
        rows = await reading
        assert [r.event.event for r in rows] == ["requested"]
        await store.note(REQUEST, "Real", NOW, {})
        after = await store.events_after(rows[-1].seq, 10)
        assert [r.event.event for r in after] == ["Real"]
