"""A request as a row of the ``requests`` table and back: times as ISO 8601 text, outcomes
and states as their names, ``declined_by`` as a JSON list, flags as 0/1 (SQLite). Any
backend's rows read by column name."""

import json
from dataclasses import fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from agi_app.domain.hours import AtClosing
from agi_app.domain.options import Mode
from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State


class Row(Protocol):
    """A row read by column name (sqlite3.Row, a mapping)."""

    def __getitem__(self, column: str, /) -> Any: ...


COLUMNS = tuple(f.name for f in fields(CallbackRequest))
_TIMES = frozenset(
    f.name for f in fields(CallbackRequest) if "datetime" in str(f.type)
)  # fmt: skip
_BOOLS = frozenset(f.name for f in fields(CallbackRequest) if f.type is bool)  # SQLite: 0/1
_ENUMS: dict[str, type[StrEnum]] = {
    "state": State,
    "call_outcome": CallOutcome,
    "contact_outcome": ContactOutcome,
    "at_closing": AtClosing,
    "mode": Mode,
}


def row_values(request: CallbackRequest) -> tuple[object, ...]:
    values: list[object] = []
    for name in COLUMNS:
        value = getattr(request, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, frozenset):
            value = json.dumps(sorted(value))
        values.append(value)
    return tuple(values)


def request_from_row(row: Row) -> CallbackRequest:
    values: dict[str, Any] = {name: row[name] for name in COLUMNS}
    for name in _TIMES:
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    for name, enum in _ENUMS.items():
        if values[name] is not None:
            values[name] = enum(values[name])
    for name in _BOOLS:
        values[name] = bool(values[name])
    values["declined_by"] = frozenset(json.loads(values["declined_by"]))
    return CallbackRequest(**values)
