"""Requests and their event log on PostgreSQL: read in serving order, saved with their event
(only if unchanged since read), noted; and the event log's writer, the last write of every
transaction that changes a request.

Each function runs on a connection the store took for one call (store.py): a write in the
call's transaction, which commits when the call returns.
"""

from datetime import datetime
from typing import Any

from psycopg.types.json import Json

from agi_app.domain.event_log import Event
from agi_app.domain.request import CallbackRequest, State
from agi_app.store.port import StaleUpdate
from agi_app.store.postgres import locks
from agi_app.store.postgres.connection import Conn
from agi_app.store.postgres.rows import ASSIGNMENTS, event_from, request_from, values_but_id
from agi_app.store.postgres.sql_files import QUERIES

_UPDATE = QUERIES["update_request"].format(assignments=ASSIGNMENTS)
_REQUEST = QUERIES["request"]
_REQUESTS = QUERIES["requests"]
_REQUESTS_IN = QUERIES["requests_in_states"]
_WITH_CUSTOMER_HOURS = QUERIES["requests_with_customer_hours"]
_AWAITING_TURN = QUERIES["requests_awaiting_turn"]
_ACTIVE_FOR = QUERIES["active_for"]
_LAST_AGENT = QUERIES["last_agent"]
_INSERT_EVENT = QUERIES["insert_event"]
_EVENT_LOG = QUERIES["request_event_log"]


async def get(conn: Conn, request_id: str) -> CallbackRequest | None:
    cursor = await conn.execute(_REQUEST, (request_id,))
    row = await cursor.fetchone()
    return request_from(row) if row else None


async def requests(conn: Conn, states: tuple[State, ...]) -> list[CallbackRequest]:
    """Requests in ``states`` (all without any) in serving order (priority level, then
    original queue entry)."""
    if not states:
        cursor = await conn.execute(_REQUESTS)
        return [request_from(row) for row in await cursor.fetchall()]
    return await _in_states(conn, _REQUESTS_IN, states)


async def with_customer_hours(conn: Conn, states: tuple[State, ...]) -> list[CallbackRequest]:
    return await _in_states(conn, _WITH_CUSTOMER_HOURS, states)


async def awaiting_turn(conn: Conn, states: tuple[State, ...]) -> list[CallbackRequest]:
    return await _in_states(conn, _AWAITING_TURN, states)


async def _in_states(conn: Conn, query: str, states: tuple[State, ...]) -> list[CallbackRequest]:
    """``query``'s requests, its one parameter the states (an array)."""
    cursor = await conn.execute(query, ([s.value for s in states],))
    return [request_from(row) for row in await cursor.fetchall()]


async def active_for(conn: Conn, number: str, queue: str) -> list[CallbackRequest]:
    """Requests of ``queue`` not done, asked from or calling back ``number``."""
    cursor = await conn.execute(_ACTIVE_FOR, (number, number, queue))
    return [request_from(row) for row in await cursor.fetchall()]


async def last_agent(conn: Conn, number: str) -> str | None:
    cursor = await conn.execute(_LAST_AGENT, (number,))
    row = await cursor.fetchone()
    return str(row["agent"]) if row else None


async def events(conn: Conn, request_id: str) -> list[Event]:
    cursor = await conn.execute(_EVENT_LOG, (request_id,))
    return [event_from(row) for row in await cursor.fetchall()]


async def save(
    conn: Conn,
    before: CallbackRequest,
    after: CallbackRequest,
    event: str,
    at: datetime,
    detail: dict[str, Any],
) -> None:
    """In a transaction: write ``after`` and its event row, only if the row still is
    ``before`` (its state and attempt); a second active request for (number, queue) is
    refused."""
    # Read committed: a row changed by a transaction that committed while this one waited
    # for it is checked again as it is now, so a stale save matches nothing.
    cursor = await conn.execute(
        _UPDATE, (*values_but_id(after), at, after.id, before.state.value, before.attempt)
    )
    if cursor.rowcount != 1:
        raise StaleUpdate(f"request {after.id} changed under us")
    await append_event(conn, after, event, at, detail)


async def append_event(
    conn: Conn, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
) -> None:
    """A row of the request's event log (alone: an event that changes nothing in the
    request, a placement's reasons). The last write of its transaction: under the event
    log's lock, held through the commit, so seq rises in commit order (locks.py)."""
    await locks.take(conn, locks.EVENTS)
    await conn.execute(_INSERT_EVENT, (request.id, at, event, request.state.value, Json(detail)))
