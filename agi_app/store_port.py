"""What serving asks of a store of callback requests, whatever keeps them.

agi_app.store.Store (SQLite) is the one the service runs on; tests/integration/
test_store_contract.py states the behaviour every implementation must have.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agi_app.domain.request import CallbackRequest, RateLimits, State


@dataclass(frozen=True)
class Event:
    """One row of a request's event log."""

    request_id: str
    at: datetime
    event: str
    state: str
    detail: dict[str, Any]


class StaleUpdate(Exception):
    """The request changed since it was read: reload and decide again."""


class RequestStore(Protocol):
    async def add(
        self, request: CallbackRequest, limits: RateLimits | None = None
    ) -> CallbackRequest:
        """Keep a new request durably, with its "requested" event, or return the one it repeats.

        It repeats a stored request from the same channel (a retried AGI session), or an active
        one (not done) for the same callback number and queue: one active callback per
        (number, queue), and it keeps its place; a repeat from another channel gets a
        "repeated" event. A new request beyond ``limits`` (requests within the window from
        its caller number, withheld ones not counted, or to its callback number) raises
        RateLimited; a repeat is answered even then. Counting and adding are one step.
        """
        ...

    async def save(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        event: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write ``after`` and its event together, only if the stored request still has the
        state and attempt of ``before``; otherwise raise StaleUpdate and change nothing."""
        ...

    async def note(
        self, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        """An event that changes nothing in the request (a placement's reasons)."""
        ...

    async def get(self, request_id: str) -> CallbackRequest | None: ...

    async def requests(self, *states: State) -> list[CallbackRequest]:
        """Those in ``states`` (all without any) in serving order: priority level, then
        queue entry, then request time."""
        ...

    async def events(self, request_id: str) -> list[Event]:
        """The request's event log, oldest first."""
        ...
