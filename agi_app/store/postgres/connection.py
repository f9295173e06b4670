"""Connections to PostgreSQL: one pool per store, every wait bounded, every failure a
StoreUnavailable (as the SQLite store's).

Each connection talks UTC (times come back in UTC whatever the server's zone), reads
committed data (the store's locks, not the isolation level, order its writers) and has the
server give up on a statement or a lock wait after the store's timeout. A connection the
server dropped (restart, failover) is found when it is taken from the pool and replaced, so
one restart costs no request.
"""

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import psycopg
from psycopg import AsyncConnection, IsolationLevel
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from agi_app.domain.errors import StoreUnavailable

Conn: TypeAlias = AsyncConnection[DictRow]
Pool: TypeAlias = AsyncConnectionPool[Conn]


async def _configure(conn: Conn) -> None:
    await conn.set_isolation_level(IsolationLevel.READ_COMMITTED)


def _kwargs(url: str, timeout: float) -> dict[str, Any]:
    wait_ms = int(timeout * 1000)
    ours = (
        "-c TimeZone=UTC"
        f" -c statement_timeout={wait_ms} -c lock_timeout={wait_ms}"
        f" -c idle_in_transaction_session_timeout={wait_ms * 4}"
    )
    theirs = conninfo_to_dict(url).get("options")  # the URL's own come after: they win
    return {
        "autocommit": True,  # transactions are explicit: conn.transaction()
        "row_factory": dict_row,
        "connect_timeout": max(2, math.ceil(timeout)),  # libpq: whole seconds, >= 2
        "tcp_user_timeout": wait_ms,  # a server cut off: unacknowledged data gives up
        "options": f"{ours} {theirs}" if theirs else ours,
    }


async def connect(url: str, timeout: float) -> Conn:
    """One connection outside the pool (the migration's): a server that cannot be reached
    is told at once, in libpq's words."""
    async with unavailable("cannot reach the PostgreSQL store", timeout + 1):
        conn = await AsyncConnection.connect(url, **_kwargs(url, timeout))
        await _configure(conn)
        return conn


def make_pool(url: str, *, size: int, timeout: float) -> Pool:
    """A closed pool (open it with ``open_pool``) of at most ``size`` connections to ``url``
    (libpq's URL or key=value string; its password belongs in PGPASSWORD or ~/.pgpass)."""
    pool: Pool = AsyncConnectionPool(
        url,
        connection_class=AsyncConnection[DictRow],
        kwargs=_kwargs(url, timeout),
        min_size=1,
        max_size=size,
        timeout=timeout,  # waiting for a free connection
        configure=_configure,
        check=lambda conn: _check(pool, conn),
        # Past it a failing reconnection is given up and the next request tries at once:
        # after the server comes back, the store serves again within a few seconds.
        reconnect_timeout=max(timeout, 5.0),
        open=False,
        name="agi-callback",
    )
    return pool


_checking: set[asyncio.Task[None]] = set()


async def _check(pool: Pool, conn: Conn) -> None:
    """A connection is checked as it leaves the pool. One found dead means the server
    restarted or failed over and the others are dead too: they are all checked at once
    (the pool would otherwise try them one by one, each after a longer pause)."""
    try:
        await AsyncConnectionPool.check_connection(conn)
    except psycopg.Error:
        task = asyncio.get_running_loop().create_task(pool.check())
        _checking.add(task)
        task.add_done_callback(_checking.discard)
        raise


async def open_pool(pool: Pool, timeout: float) -> None:
    try:
        await pool.open(wait=True, timeout=timeout)
    except psycopg.Error as exc:
        await pool.close()
        raise StoreUnavailable(f"cannot reach the PostgreSQL store: {exc}") from exc


@asynccontextmanager
async def unavailable(what: str, timeout: float) -> AsyncIterator[None]:
    """Turn the driver's failures, and a wait past ``timeout`` (the server's own timeouts
    cover it; this covers a server that no longer answers at all), into StoreUnavailable."""
    try:
        async with asyncio.timeout(timeout):
            yield
    except psycopg.Error as exc:
        raise StoreUnavailable(f"{what}: {_first_line(exc)}") from exc
    except TimeoutError as exc:
        raise StoreUnavailable(f"{what}: no answer within {timeout:g} s") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
