"""A request as a row of the PostgreSQL ``requests`` table and back: times as timestamptz,
states and outcomes as their names, ``declined_by`` as a text array; event details as json
(kept as given, key order too)."""

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from agi_app.domain.event_log import Event
from agi_app.domain.request import CallbackRequest
from agi_app.store.rows import COLUMNS, request_from_row

# The parts of queries.sql's request queries built from CallbackRequest's fields, so that a
# field added to it needs a migration and no edit of the queries.
COLUMN_LIST = ", ".join(COLUMNS)
PLACEHOLDERS = ", ".join("%s" for _ in COLUMNS)
ASSIGNMENTS = ", ".join(f"{name} = %s" for name in COLUMNS if name != "id")


def values(request: CallbackRequest) -> tuple[object, ...]:
    out: list[object] = []
    for name in COLUMNS:
        value = getattr(request, name)
        if isinstance(value, StrEnum):
            value = value.value
        elif isinstance(value, frozenset):
            value = sorted(value)
        out.append(value)
    return tuple(out)


def values_but_id(request: CallbackRequest) -> tuple[object, ...]:
    return tuple(v for name, v in zip(COLUMNS, values(request), strict=True) if name != "id")


def request_from(row: dict[str, Any]) -> CallbackRequest:
    """Read through the SQLite store's text form, so that one mapping knows the fields' types
    (a field added to CallbackRequest needs no second one here)."""
    text: dict[str, Any] = {}
    for name in COLUMNS:
        value = row[name]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, list):
            value = json.dumps(value)
        text[name] = value
    return request_from_row(text)


def event_from(row: dict[str, Any]) -> Event:
    at: datetime = row["at"]
    return Event(
        request_id=row["request_id"],
        at=at.astimezone(UTC),
        event=row["event"],
        state=row["state"],
        detail=row["detail"],
    )
