"""Personal data removed from the PostgreSQL store: done requests found by age, any found by
number, and a request rewritten with its event log's details and without its idempotency
keys, in one transaction (agi_app.store.port.PersonalData), as the SQLite store's.

Each function runs on a connection the store took for one call (store.py).
"""

from datetime import datetime
from typing import Any

from psycopg.types.json import Json

from agi_app.domain.request import CallbackRequest
from agi_app.store.port import StaleUpdate
from agi_app.store.postgres.connection import Conn
from agi_app.store.postgres.request_log import append_event
from agi_app.store.postgres.rows import ASSIGNMENTS, request_from, values_but_id
from agi_app.store.postgres.sql_files import QUERIES

_DONE_BEFORE = QUERIES["done_before"]
_OF_NUMBERS = QUERIES["of_numbers"]
_REWRITE = QUERIES["rewrite_request"].format(assignments=ASSIGNMENTS)
_REWRITE_DETAIL = QUERIES["rewrite_event_detail"]
_FORGET_KEYS = QUERIES["forget_keys_of_request"]


async def done_before(conn: Conn, before: datetime, limit: int) -> list[CallbackRequest]:
    cursor = await conn.execute(_DONE_BEFORE, (before, limit))
    return [request_from(row) for row in await cursor.fetchall()]


async def of_numbers(conn: Conn, numbers: frozenset[str]) -> list[CallbackRequest]:
    listed = sorted(numbers)
    cursor = await conn.execute(_OF_NUMBERS, (listed, listed))
    return [request_from(row) for row in await cursor.fetchall()]


async def rewrite_personal(
    conn: Conn,
    before: CallbackRequest,
    after: CallbackRequest,
    details: dict[int, dict[str, Any]],
    event: tuple[str, datetime, dict[str, Any]] | None,
) -> None:
    """In a transaction; the event, if any, last (it takes the event log's lock)."""
    cursor = await conn.execute(
        _REWRITE, (*values_but_id(after), after.id, before.state.value, before.attempt)
    )
    if cursor.rowcount != 1:
        raise StaleUpdate(f"request {after.id} changed under us")
    for seq, detail in details.items():
        await conn.execute(_REWRITE_DETAIL, (Json(detail), seq, after.id))
    await conn.execute(_FORGET_KEYS, (after.id,))
    if event is not None:
        await append_event(conn, after, *event)
