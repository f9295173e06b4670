"""The advisory locks that order the PostgreSQL store's writers (transaction-level: each is
released by the commit or rollback that ends its transaction, also when a process dies).

A transaction takes them in one order, so two never wait for each other: an idempotency key,
then the numbers a new request counts against (sorted), then the event log, last.

- The event log (``EVENTS``): every transaction that writes a row of request_events takes it
  just before, as its last step, and holds it through its commit. So seq, drawn under it, rises
  in commit order: a reader never sees seq n+1 committed while n may still commit, and the
  webhook outbox, which reads after its cursor, never passes over a row. Holding it costs only
  the event's insert and the commit (and for a repeat, one indexed look for its last
  "repeated" event): the holder waits for nothing else.
- A number (rate limits): adders counting requests from or to the same number take turns, so
  callers arriving together cannot all slip under the limit.
- An idempotency key: two processes with one key take turns; the second finds the first's.
"""

import hashlib

from agi_app.store.postgres.connection import Conn
from agi_app.store.postgres.sql_files import QUERIES

_LOCK = QUERIES["advisory_xact_lock"]


def _key(kind: str, *parts: str) -> int:
    """A 64-bit lock id, the same in every process (Python's hash() is salted per process)."""
    text = "\0".join((kind, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


EVENTS = _key("agi-callback:request_events")
MIGRATIONS = _key("agi-callback:migrations")


def number_key(number: str) -> int:
    return _key("agi-callback:number", number)


def idempotency_key(credential: str, key: str) -> int:
    return _key("agi-callback:idempotency", credential, key)


async def take(conn: Conn, *keys: int) -> None:
    """Wait for each lock (in the order given) until this transaction ends."""
    for key in keys:
        await conn.execute(_LOCK, (key,))


async def take_numbers(conn: Conn, *numbers: str) -> None:
    """The rate limits' locks of ``numbers`` (empty ones, withheld callers, are none)."""
    await take(conn, *(number_key(n) for n in sorted({n for n in numbers if n})))
