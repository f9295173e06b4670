"""Requests and their event log: read in serving order, saved with their event (only if
unchanged since read), noted.

Each function runs on the store's thread (connection.py), one call of the store.
"""

import json
import sqlite3
from datetime import datetime
from typing import Any

from agi_app.domain.event_log import Event
from agi_app.domain.request import CallbackRequest, State
from agi_app.store.port import StaleUpdate
from agi_app.store.rows import COLUMNS, Row, request_from_row, row_values
from agi_app.store.sqlite.connection import immediate
from agi_app.store.sqlite.sql_files import QUERIES

_REQUEST = QUERIES["request"]
_REQUESTS = QUERIES["requests"]
_REQUESTS_IN = QUERIES["requests_in_states"]
_WITH_CUSTOMER_HOURS = QUERIES["requests_with_customer_hours"]
_AWAITING_TURN = QUERIES["requests_awaiting_turn"]
_ACTIVE_FOR = QUERIES["active_for"]
_LAST_AGENT = QUERIES["last_agent"]
_UPDATE = QUERIES["update_request"].format(
    assignments=", ".join(f"{name} = ?" for name in COLUMNS if name != "id")
)
_INSERT_EVENT = QUERIES["insert_event"]
_EVENT_LOG = QUERIES["request_event_log"]


def get(conn: sqlite3.Connection, request_id: str) -> CallbackRequest | None:
    row = conn.execute(_REQUEST, (request_id,)).fetchone()
    return request_from_row(row) if row is not None else None


def requests(conn: sqlite3.Connection, states: tuple[State, ...]) -> list[CallbackRequest]:
    """Those in ``states`` (all without any) in serving order."""
    if not states:
        return [request_from_row(row) for row in conn.execute(_REQUESTS)]
    return _in_states(conn, _REQUESTS_IN, states)


def with_customer_hours(
    conn: sqlite3.Connection, states: tuple[State, ...]
) -> list[CallbackRequest]:
    return _in_states(conn, _WITH_CUSTOMER_HOURS, states)


def awaiting_turn(conn: sqlite3.Connection, states: tuple[State, ...]) -> list[CallbackRequest]:
    return _in_states(conn, _AWAITING_TURN, states)


def _in_states(
    conn: sqlite3.Connection, query: str, states: tuple[State, ...]
) -> list[CallbackRequest]:
    """``query``'s requests, its one parameter the states (a JSON array)."""
    rows = conn.execute(query, (json.dumps([s.value for s in states]),))
    return [request_from_row(row) for row in rows]


def active_for(conn: sqlite3.Connection, number: str, queue: str) -> list[CallbackRequest]:
    rows = conn.execute(_ACTIVE_FOR, (number, number, queue))
    return [request_from_row(row) for row in rows]


def last_agent(conn: sqlite3.Connection, number: str) -> str | None:
    row = conn.execute(_LAST_AGENT, (number,)).fetchone()
    return str(row["agent"]) if row else None


def events(conn: sqlite3.Connection, request_id: str) -> list[Event]:
    return [event_from_row(row) for row in conn.execute(_EVENT_LOG, (request_id,))]


def save(
    conn: sqlite3.Connection,
    before: CallbackRequest,
    after: CallbackRequest,
    event: str,
    at: datetime,
    detail: dict[str, Any],
) -> None:
    """``after`` and its event row in one transaction, only if the row still has the state
    and attempt of ``before`` (else StaleUpdate, and nothing changes)."""
    values = [v for name, v in zip(COLUMNS, row_values(after), strict=True) if name != "id"]
    with immediate(conn):
        params = (*values, at.isoformat(), after.id, before.state.value, before.attempt)
        if conn.execute(_UPDATE, params).rowcount != 1:
            raise StaleUpdate(f"request {after.id} changed under us")
        append_event(conn, after, event, at, detail)


def append_event(
    conn: sqlite3.Connection,
    request: CallbackRequest,
    event: str,
    at: datetime,
    detail: dict[str, Any],
) -> None:
    """A row of the request's event log (alone: an event that changes nothing, a note)."""
    params = (request.id, at.isoformat(), event, request.state.value, json.dumps(detail))
    conn.execute(_INSERT_EVENT, params)


def event_from_row(row: Row) -> Event:
    return Event(
        request_id=row["request_id"],
        at=datetime.fromisoformat(row["at"]),
        event=row["event"],
        state=row["state"],
        detail=json.loads(row["detail"]),
    )
