"""The SQLite store's one connection (stdlib sqlite3), used only from a thread of its own: each
call of the store is one plain function run there, in one trip from the event loop.

Why a thread of our own: each trip to a database thread and back costs a hand-over between
threads, and on a busy machine a wait to be scheduled on each side (BENCHMARKS.md section 6).
aiosqlite's public API takes a trip per statement (BEGIN, each statement, COMMIT); a whole
transaction in one trip needs its private ``Connection._execute``. The thread here is what
aiosqlite's is (a queue of functions, each result handed back with call_soon_threadsafe),
without its per-statement API; asyncio's run_in_executor would do too, but its trip measured
a third more (concurrent.futures' future chained to asyncio's). One thread runs one function
at a time, so transactions never interleave on the connection and a read never sees another
call's uncommitted rows: the event loop's side needs no lock.
"""

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Concatenate, ParamSpec, TypeVar

from agi_app.domain.errors import StoreUnavailable

P = ParamSpec("P")
T = TypeVar("T")
_Job = tuple["asyncio.Future[Any]", Callable[[], Any]]


class Connection:
    def __init__(self, conn: sqlite3.Connection, jobs: "SimpleQueue[_Job | None]") -> None:
        self._conn = conn
        self._jobs = jobs

    @classmethod
    async def open(cls, path: Path, busy_timeout: float) -> "Connection":
        """Connect (on the thread that will use the connection: sqlite3 checks it). A writer
        that finds the file locked waits up to ``busy_timeout`` seconds, then fails."""
        jobs: SimpleQueue[_Job | None] = SimpleQueue()
        threading.Thread(target=_serve, args=(jobs,), name="sqlite-store").start()
        try:
            conn = await _submit(jobs, partial(_connect, path, busy_timeout))
        except BaseException:
            jobs.put(None)
            raise
        return cls(conn, jobs)

    async def call(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``work(connection, *args, **kwargs)`` on the thread; what it returns or raises comes
        back. Once asked for it runs to its end, even if the caller is cancelled meanwhile."""
        return await _submit(self._jobs, partial(work, self._conn, *args, **kwargs))

    async def run(
        self,
        what: str,
        work: Callable[Concatenate[sqlite3.Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """As ``call``; a database error (locked beyond the busy timeout, disk full, ...) is
        raised as StoreUnavailable, ``what`` saying what could not be done."""
        try:
            return await self.call(work, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{what}: {exc}") from exc

    async def close(self) -> None:
        try:
            await self.call(sqlite3.Connection.close)
        finally:
            self._jobs.put(None)  # the thread ends after what was asked before


async def _submit(jobs: "SimpleQueue[_Job | None]", work: Callable[[], T]) -> T:
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    jobs.put((future, work))
    return await future


def _serve(jobs: "SimpleQueue[_Job | None]") -> None:
    """The thread: each job in turn, until None."""
    while (job := jobs.get()) is not None:
        future, work = job
        try:
            settle = partial(_set_result, future, work())
        except BaseException as exc:  # handed back to the caller, as if raised there
            settle = partial(_set_exception, future, exc)
        with suppress(RuntimeError):  # its event loop is closed: nobody waits for it
            future.get_loop().call_soon_threadsafe(settle)


def _set_result(future: "asyncio.Future[Any]", result: object) -> None:
    if not future.done():  # not cancelled meanwhile
        future.set_result(result)


def _set_exception(future: "asyncio.Future[Any]", exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def _connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    # isolation_level=None: each statement commits on its own, unless in BEGIN ... COMMIT.
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def prepare(conn: sqlite3.Connection) -> None:
    """Check the file, then make every commit durable (WAL, synchronous=FULL: on the disk
    before the call returns) and the foreign keys enforced. A file that is not a sound SQLite
    database raises sqlite3.DatabaseError."""
    # quick_check reads every page once (no index cross-check): a truncated or overwritten
    # file is found here, not by the first request that touches it.
    row = conn.execute("PRAGMA quick_check(1)").fetchone()
    if row is None or row[0] != "ok":
        raise sqlite3.DatabaseError(row[0] if row else "quick_check gave no answer")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once (BEGIN IMMEDIATE: a writer that must wait waits
    here, not halfway through): committed when the block ends, all of it rolled back if the
    block raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
