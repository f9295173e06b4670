"""Which process serves (places, reconciles, dials): exactly one at a time, chosen by the
database. Every process takes FastAGI requests; only the leader serves.

On PostgreSQL (``PgLeadership``) the leader holds a session-level advisory lock on a
connection of its own (not the pool's), and took the serving lease (the one row of
serving_lease) when it got the lock: its epoch rose by one, and every write serving makes
checks it (agi_app/store/postgres/fenced.py), so a process that lost the role changes nothing.

How fast another process takes over (T is the ``timeout`` given, the store's timeout):
- the leader is killed or exits: its socket closes, the server frees the lock at once and a
  standby, waiting in pg_advisory_lock, leads within a fraction of a second;
- the leader is cut off from the database or frozen: the server ends its silent session after
  ``idle_session_timeout`` (2T; the leader checks every T/2, so a live one is never idle that
  long), or sooner when TCP gives up on it (``tcp_user_timeout``, 2T): takeover within 2T
  (4T if it froze inside a fenced write: the takeover waits for that transaction, which the
  pool's idle_in_transaction_session_timeout ends).
The leader itself sees a failed check within T and sets ``lost``: before a standby can lead.

The leader also hears what other processes tell serving (a request stored by a standby's
FastAGI): it LISTENs on its own connection to the ``listen`` channels from the moment it
leads, so it hears every NOTIFY committed while it leads; one sent while nobody leads is
found by the reconciliation that follows each takeover.

PgLeadership is the Leadership of agi_app/store/open.py (SQLite's one process has
SoloLeadership there, which always leads): the service gets it from open_backend().
"""

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg.sql import SQL, Identifier

from agi_app.store.postgres.locks import _key
from agi_app.store.postgres.notices import PROCESS
from agi_app.store.postgres.sql_files import QUERIES

log = logging.getLogger(__name__)

# Session-level, held as long as the leader's connection lives: outside the order of the
# store's transaction-level locks (agi_app/store/postgres/locks.py), which it never waits for.
SERVING = _key("agi-callback:serving")

_LOCK = QUERIES["serving_lock"]
_TAKE = QUERIES["take_lease"]
_RENEW = QUERIES["renew_lease"]
_EPOCH = QUERIES["lease_epoch"]
_HOLDER = QUERIES["lease_holder"]


class Superseded(Exception):
    """The lease's epoch moved on: another process leads."""


class PgLeadership:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        holder: str | None = None,
        listen: Mapping[str, Callable[[str], None]] | None = None,
    ) -> None:
        """``listen``: a channel's name, and what the leader does with each payload sent on
        it (pg_notify in the sender's transaction: heard once that commits)."""
        self.lost = asyncio.Event()
        self.epoch: int | None = None
        self.holder = holder or PROCESS
        self._url = url
        self._timeout = timeout
        self._interval = timeout / 2  # between checks, and each check's bound
        self._listen = dict(listen or {})
        self._conn: AsyncConnection[tuple[Any, ...]] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._valid_until = 0.0

    def leads(self) -> bool:
        """Leading, and checked within T: the server frees the lock no sooner than 2T after
        the last check (idle_session_timeout; TCP's own give-up takes longer), so a process
        that was frozen past T (a paused VM, a stalled loop) does not act before the next
        check has confirmed it still leads."""
        return (
            self._conn is not None
            and not self.lost.is_set()
            and asyncio.get_running_loop().time() < self._valid_until
        )

    def _confirmed(self, since: float) -> None:
        self._valid_until = since + self._timeout

    async def acquire(self) -> int:
        if self._conn is not None and self.epoch is not None and not self.lost.is_set():
            return self.epoch
        while True:
            try:
                return await self._lead()
            except (psycopg.Error, TimeoutError) as exc:
                log.warning("cannot take the serving lease (%s); trying again", _first_line(exc))
                await asyncio.sleep(self._interval)

    async def release(self) -> None:
        """Closing the session frees the lock; the epoch stays for the next leader to raise."""
        watcher, conn = self._watcher, self._conn
        self._watcher = self._conn = None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if conn is not None:
            await _close(conn)
            log.info("serving lease released (epoch %s)", self.epoch)

    async def _lead(self) -> int:
        conn = await AsyncConnection.connect(self._url, **_kwargs(self._url, self._timeout))
        try:
            await self._wait_for_lock(conn)
            since = asyncio.get_running_loop().time()
            # Before it leads: a request committed earlier is found by the reconciliation
            # after the takeover, one committed later is heard. (A channel is an identifier,
            # not a parameter: composed here, not in queries.sql.)
            for channel in self._listen:
                await conn.execute(SQL("LISTEN {}").format(Identifier(channel)))
            epoch = await self._take_lease(conn)
        except BaseException:
            await _close(conn)
            raise
        self._conn, self.epoch = conn, epoch
        self._confirmed(since)
        self.lost.clear()
        self._watcher = asyncio.get_running_loop().create_task(self._watch(conn, epoch))
        log.info("serving: this process leads (epoch %d, %s)", epoch, self.holder)
        return epoch

    async def _wait_for_lock(self, conn: AsyncConnection[tuple[Any, ...]]) -> None:
        """Wait in the server's lock queue, in slices (lock_timeout: T): the lock is ours the
        moment it is free, and a dead connection is found within a slice."""
        told = False
        while True:
            try:
                async with asyncio.timeout(2 * self._timeout + 1):
                    await conn.execute(_LOCK, (SERVING,))
                return
            except psycopg.errors.LockNotAvailable:
                if not told:
                    told = True
                    log.info("standing by: %s serves", await _holder(conn))

    async def _take_lease(self, conn: AsyncConnection[tuple[Any, ...]]) -> int:
        """Raise the epoch: this waits for the fenced writes of the leader before (they hold
        the row FOR SHARE), so each of them commits before this takeover, or fails."""
        while True:
            try:
                async with asyncio.timeout(2 * self._timeout + 1):
                    cursor = await conn.execute(_TAKE, (self.holder,))
                    row = await cursor.fetchone()
                assert row is not None  # RETURNING of an upsert
                return int(row[0])
            except psycopg.errors.LockNotAvailable:
                log.info("taking the serving lease: waiting for the last leader's writes")

    async def _watch(self, conn: AsyncConnection[tuple[Any, ...]], epoch: int) -> None:
        """Between checks, read the socket: a session the server ended is seen at once, a
        notification is handed on as it comes."""
        try:
            while True:
                async for notice in conn.notifies(timeout=self._interval):
                    self._heard(notice.channel, notice.payload)
                since = asyncio.get_running_loop().time()
                async with asyncio.timeout(self._interval):
                    cursor = await conn.execute(_EPOCH)
                    row = await cursor.fetchone()
                    if row is None or int(row[0]) != epoch:
                        raise Superseded(f"the lease is at epoch {row[0] if row else None}")
                    await conn.execute(_RENEW, (epoch,))
                self._confirmed(since)
        except (psycopg.Error, TimeoutError, Superseded) as exc:
            log.error("serving lease lost (epoch %d): %s", epoch, _first_line(exc))
        if self._conn is conn:
            self._conn = None
        await _close(conn)  # if the server still hears us, it frees the lock now
        self.lost.set()

    def _heard(self, channel: str, payload: str) -> None:
        try:
            self._listen[channel](payload)
        except Exception:  # one bad handler must not cost the role
            log.exception("handling a notification on %s failed", channel)


def _kwargs(url: str, timeout: float) -> dict[str, Any]:
    """The leader's connection: the server ends it when it goes silent for 2T (cut off, or
    frozen: TCP keepalives alone would be answered by a frozen process's kernel)."""
    ms = int(timeout * 1000)
    ours = (
        "-c TimeZone=UTC"
        f" -c lock_timeout={ms} -c statement_timeout={2 * ms}"
        f" -c idle_session_timeout={2 * ms} -c tcp_user_timeout={2 * ms}"
        f" -c tcp_keepalives_idle={max(1, math.ceil(timeout))} -c tcp_keepalives_interval=1"
        " -c tcp_keepalives_count=3"
    )
    theirs = conninfo_to_dict(url).get("options")
    return {
        "autocommit": True,
        "connect_timeout": max(2, math.ceil(timeout)),
        "tcp_user_timeout": ms,  # the client's side: a server that stopped acknowledging
        "keepalives": 1,
        "keepalives_idle": max(1, math.ceil(timeout)),
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "options": f"{ours} {theirs}" if theirs else ours,
    }


async def _holder(conn: AsyncConnection[tuple[Any, ...]]) -> str:
    cursor = await conn.execute(_HOLDER)
    row = await cursor.fetchone()
    return f"{row[0]} (epoch {row[1]})" if row else "another process"


async def _close(conn: AsyncConnection[tuple[Any, ...]]) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1):
            await conn.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
