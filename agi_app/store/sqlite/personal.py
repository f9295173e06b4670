"""Personal data removed from the SQLite store: done requests found by age, any found by
number, and a request rewritten with its event log's details and without its idempotency
keys, in one transaction (agi_app.store.port.PersonalData).

Each function runs on the store's thread (connection.py), one call of the store.
"""

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from agi_app.domain.request import CallbackRequest
from agi_app.store.port import StaleUpdate
from agi_app.store.rows import COLUMNS, request_from_row, row_values
from agi_app.store.sqlite.connection import immediate
from agi_app.store.sqlite.request_log import append_event
from agi_app.store.sqlite.sql_files import QUERIES

_DONE_BEFORE = QUERIES["done_before"]
_OF_NUMBERS = QUERIES["of_numbers"]
_REWRITE = QUERIES["rewrite_request"].format(
    assignments=", ".join(f"{name} = ?" for name in COLUMNS if name != "id")
)
_REWRITE_DETAIL = QUERIES["rewrite_event_detail"]
_FORGET_KEYS = QUERIES["forget_keys_of_request"]


def done_before(conn: sqlite3.Connection, before: datetime, limit: int) -> list[CallbackRequest]:
    # Times are kept as ISO text in UTC (the service's clock), so text order is time order.
    rows = conn.execute(_DONE_BEFORE, (before.astimezone(UTC).isoformat(), limit))
    return [request_from_row(row) for row in rows]


def of_numbers(conn: sqlite3.Connection, numbers: frozenset[str]) -> list[CallbackRequest]:
    listed = json.dumps(sorted(numbers))
    return [request_from_row(row) for row in conn.execute(_OF_NUMBERS, (listed, listed))]


def rewrite_personal(
    conn: sqlite3.Connection,
    before: CallbackRequest,
    after: CallbackRequest,
    details: dict[int, dict[str, Any]],
    event: tuple[str, datetime, dict[str, Any]] | None,
) -> None:
    values = [v for name, v in zip(COLUMNS, row_values(after), strict=True) if name != "id"]
    with immediate(conn):
        params = (*values, after.id, before.state.value, before.attempt)
        if conn.execute(_REWRITE, params).rowcount != 1:
            raise StaleUpdate(f"request {after.id} changed under us")
        conn.executemany(
            _REWRITE_DETAIL,
            [(json.dumps(detail), seq, after.id) for seq, detail in details.items()],
        )
        conn.execute(_FORGET_KEYS, (after.id,))
        if event is not None:
            append_event(conn, after, *event)
