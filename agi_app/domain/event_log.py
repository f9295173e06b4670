"""The event log of requests: one row per change, and a row with its place in the whole log
(the webhooks' outbox is that log, read in order)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    """One row of a request's event log."""

    request_id: str
    at: datetime
    event: str
    state: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class LoggedEvent:
    """An event log row with its place in the whole log."""

    seq: int
    event: Event
