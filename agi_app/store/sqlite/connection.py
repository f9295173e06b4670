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

Group commit (``write``): a write joins the group of writes that waits in the thread's queue,
if one does (else it starts one), and the thread runs the group as one job when its turn
comes: one transaction (each write in a savepoint of its own, so one that fails leaves the
others whole) and so one durable commit (fsync) for all. A write never waits longer than it
would alone: it goes where a lone write would, or earlier (BENCHMARKS.md section 6 measured
the other ways: grouping in the thread as it drains its queue, and sending the next group
only once the last had committed, both of which made some writes wait longer). A write's
caller hears of it once the group's COMMIT returned: durable, as a lone write's.
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
# A job: the future its result settles, or None for one that tells its callers itself (a group
# of writes), and the work.
_Job = tuple["asyncio.Future[Any] | None", Callable[[], Any]]
# One write of a group: what to report if it fails, its caller's future, the work.
_Write = tuple[str, "asyncio.Future[Any]", Callable[[sqlite3.Connection], Any]]


class _Group:
    """Writes waiting in the thread's queue as one job: open to more until the thread takes
    it (``claim``)."""

    def __init__(self) -> None:
        self.writes: list[_Write] = []
        self._lock = threading.Lock()
        self._claimed = False

    def join(self, write: _Write) -> bool:
        """Add ``write`` unless the thread has taken the group (then False)."""
        with self._lock:
            if self._claimed:
                return False
            self.writes.append(write)
            return True

    def claim(self) -> list[Callable[[sqlite3.Connection], Any]]:
        with self._lock:
            self._claimed = True
            return [work for _, _, work in self.writes]


class Connection:
    def __init__(self, conn: sqlite3.Connection, jobs: "SimpleQueue[_Job | None]") -> None:
        self._conn = conn
        self._jobs = jobs
        self._open: _Group | None = None  # the group waiting in the thread's queue, if any

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
            raise _unavailable(what, exc) from exc

    async def write(
        self,
        what: str,
        work: Callable[Concatenate[sqlite3.Connection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """As ``run``, for a write: committed in a group with the writes asked for while the
        previous group was on the thread (one transaction, one fsync). ``work`` may take its
        own transaction with ``immediate``: in a group it becomes a savepoint."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        write: _Write = (what, future, lambda conn: work(conn, *args, **kwargs))
        if self._open is None or not self._open.join(write):
            group = self._open = _Group()
            group.join(write)
            loop = asyncio.get_running_loop()
            self._jobs.put((None, partial(_run_group, self._conn, group, loop)))
        return await future

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
        if future is None:  # it tells its callers itself
            work()
            continue
        try:
            settle = partial(_set_result, future, work())
        except BaseException as exc:  # handed back to the caller, as if raised there
            settle = partial(_set_exception, future, exc)
        with suppress(RuntimeError):  # its event loop is closed: nobody waits for it
            future.get_loop().call_soon_threadsafe(settle)


def _run_group(conn: sqlite3.Connection, group: _Group, loop: asyncio.AbstractEventLoop) -> None:
    """On the thread: the group's writes, then each caller told how its write went, in one
    call back to the event loop (as a lone call's result is: a read asked for after the
    group is heard of after it)."""
    try:
        outcomes = _outcomes(conn, group.claim())
    except BaseException as exc:  # the COMMIT failed: every write of the group with it
        outcomes = [(False, exc)] * len(group.writes)
    with suppress(RuntimeError):  # its event loop is closed: nobody waits for it
        loop.call_soon_threadsafe(_settle_group, group, outcomes)


def _outcomes(
    conn: sqlite3.Connection, writes: list[Callable[[sqlite3.Connection], Any]]
) -> list[tuple[bool, Any]]:
    """Each write, in one transaction when there are several (each in a savepoint: one that
    raises is undone alone); (True, result) or (False, error) for each. A COMMIT that fails
    fails them all (raised)."""
    if len(writes) == 1:  # as a lone call: its own transaction, or none (one statement)
        try:
            return [(True, writes[0](conn))]
        except Exception as exc:
            return [(False, exc)]
    outcomes: list[tuple[bool, Any]] = []
    with immediate(conn):
        for work in writes:
            conn.execute("SAVEPOINT one_write")
            try:
                outcomes.append((True, work(conn)))
            except Exception as exc:
                conn.execute("ROLLBACK TO one_write")
                outcomes.append((False, exc))
            conn.execute("RELEASE one_write")
    return outcomes


def _settle_group(group: _Group, outcomes: list[tuple[bool, Any]]) -> None:
    """In the event loop: each write's caller hears how it went."""
    for (what, future, _work), (ok, value) in zip(group.writes, outcomes, strict=True):
        if future.done():  # its caller was cancelled: the write stands, unheard
            continue
        if ok:
            future.set_result(value)
        elif isinstance(value, sqlite3.Error):
            error = _unavailable(what, value)
            error.__cause__ = value
            future.set_exception(error)
        else:
            future.set_exception(value)


def _unavailable(what: str, exc: sqlite3.Error) -> StoreUnavailable:
    """A database error (locked beyond the busy timeout, disk full, ...) as the store says it,
    ``what`` saying what could not be done."""
    return StoreUnavailable(f"{what}: {exc}")


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
    block raises. Inside a transaction already (a group's), a savepoint: undone alone."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT immediate")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO immediate")
            conn.execute("RELEASE immediate")
            raise
        conn.execute("RELEASE immediate")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
