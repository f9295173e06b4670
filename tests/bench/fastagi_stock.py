"""The FastAGI benchmark's stock handlers: panoramisk's own FastAGI ``Application`` with a
plain handler (options, queue facts, number rules, a durable commit, naming the prompt), on
one of two SQLite stores:

- ``same-work``: ours' store work for a new request (intake.add: the rate-limit counts, an
  insert that a repeat of the channel or of (number, queue) cannot duplicate, the
  "requested" event row) in one transaction, one trip to one thread of stdlib sqlite3;
- ``bare``: one plain insert (aiosqlite, a trip per statement), what the benchmark's tables
  before December 2026 called stock: less than ours does.
"""

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
from panoramisk.fast_agi import Application

from agi_app.domain.numbers import NumberRules, normalize_number
from agi_app.domain.options import parse_options
from tests.support.testbed import LOOPBACK, TESTBED_NUMBERS

# store(AGI environment, callback number, queue): the request stored, durably.
Store = Callable[[dict[str, str], str, str], Awaitable[None]]

_SCHEMA = """
CREATE TABLE r (id TEXT PRIMARY KEY, channel TEXT NOT NULL UNIQUE, caller TEXT,
    number TEXT NOT NULL, queue TEXT NOT NULL, requested_at TEXT NOT NULL,
    UNIQUE (number, queue));
CREATE INDEX r_by_caller ON r (caller, requested_at);
CREATE INDEX r_by_number ON r (number, requested_at);
CREATE TABLE e (seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL, at TEXT NOT NULL,
    kind TEXT NOT NULL);
"""
_COUNTS = (  # ours' count_recent
    "SELECT coalesce(sum(caller = ?), 0), coalesce(sum(number = ?), 0) FROM r"
    " WHERE requested_at > ? AND (caller = ? OR number = ?)"
)
_PER_CALLER, _PER_NUMBER = 10, 5  # the settings' default rate limits, per hour


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(_SCHEMA)
    return conn


def _add(conn: sqlite3.Connection, row: tuple[str, str, str, str, str, datetime]) -> bool:
    """One transaction: the counts, the insert (a repeat inserts nothing), its event row."""
    request_id, _channel, caller, number, _queue, at = row
    with conn:  # committed when the block ends, rolled back if it raises
        conn.execute("BEGIN IMMEDIATE")
        since = (at - timedelta(hours=1)).isoformat()
        counts = conn.execute(_COUNTS, (caller, number, since, caller, number)).fetchone()
        if counts[0] >= _PER_CALLER or counts[1] >= _PER_NUMBER:
            return False
        values = (*row[:5], at.isoformat())
        insert = conn.execute(
            "INSERT INTO r VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", values
        )
        if insert.rowcount == 1:
            conn.execute("INSERT INTO e (request_id, at, kind) VALUES (?, ?, 'requested')",
                         (request_id, at.isoformat()))  # fmt: skip
        return insert.rowcount == 1


@asynccontextmanager
async def _same_work(path: Path) -> AsyncIterator[Store]:
    thread = ThreadPoolExecutor(max_workers=1)  # one connection: one transaction at a time
    loop = asyncio.get_running_loop()
    conn = await loop.run_in_executor(thread, _open, path)

    async def store(env: dict[str, str], number: str, queue: str) -> None:
        at = datetime.now(UTC)
        row = (str(uuid.uuid4()), env["agi_uniqueid"], env["agi_callerid"], number, queue, at)
        await loop.run_in_executor(thread, _add, conn, row)

    try:
        yield store
    finally:
        await loop.run_in_executor(thread, conn.close)
        thread.shutdown()


@asynccontextmanager
async def _bare(path: Path) -> AsyncIterator[Store]:
    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")
    await db.execute("CREATE TABLE r (id TEXT PRIMARY KEY, channel TEXT, number TEXT, queue TEXT)")
    writing = asyncio.Lock()  # one connection: transactions must not interleave

    async def store(env: dict[str, str], number: str, queue: str) -> None:
        async with writing:
            await db.execute("BEGIN IMMEDIATE")
            row = (str(uuid.uuid4()), env["agi_uniqueid"], number, queue)
            await db.execute("INSERT INTO r VALUES (?, ?, ?, ?)", row)
            await db.execute("COMMIT")

    try:
        yield store
    finally:
        await db.close()


STORES: dict[str, Callable[[Path], AbstractAsyncContextManager[Store]]] = {
    "same-work": _same_work,
    "bare": _bare,
}


@asynccontextmanager
async def stock_server(store_kind: str, workdir: Path) -> AsyncIterator[int]:
    """panoramisk's FastAGI server with the plain handler on a new store; its port."""
    rules = NumberRules(allowed_prefixes=tuple(TESTBED_NUMBERS))
    async with STORES[store_kind](workdir / "stock.sqlite3") as store:

        async def handler(request: Any) -> None:
            args = [v for k, v in request.headers.items() if k.startswith("agi_arg_")]
            options = parse_options(args)
            await request.send_command('GET FULL VARIABLE "${QUEUEPOSITION}"')
            number = normalize_number(request.headers["agi_callerid"], rules)
            await store(request.headers, number, options.queue)
            await request.send_command('SET VARIABLE CALLBACK_PROMPT "callback/request-successful"')

        app = Application()
        app.add_route("callback", handler)
        server = await asyncio.start_server(app.handler, LOOPBACK, 0)
        try:
            yield int(server.sockets[0].getsockname()[1])
        finally:
            server.close()
            await server.wait_closed()
