"""The PostgreSQL store: opened on a URL, checked and migrated, its requests read and saved.

Every change is one transaction with its event log row, committed before the call returns,
as the SQLite store's; adding requests: intake.py, webhooks: outbox.py, offer checks:
offer_log.py. Those parts are subclasses of one concrete base (base.py's PgBase: the pool
and its bounded transactions), not mixins that declare each other's attributes: each part
stands alone, and FencedStore (fenced.py) changes only how a transaction begins.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from agi_app.domain.errors import StoreMissing
from agi_app.domain.event_log import Event
from agi_app.domain.request import CallbackRequest, State
from agi_app.store.port import StaleUpdate
from agi_app.store.postgres import migrations
from agi_app.store.postgres.base import append_event
from agi_app.store.postgres.connection import connect, make_pool, open_pool, unavailable
from agi_app.store.postgres.intake import PgIntake
from agi_app.store.postgres.offer_log import PgOfferLog
from agi_app.store.postgres.outbox import PgOutbox
from agi_app.store.postgres.rows import ASSIGNMENTS, event_from, request_from, values_but_id
from agi_app.store.postgres.sql_files import QUERIES

_UPDATE = QUERIES["update_request"].format(assignments=ASSIGNMENTS)
_REQUEST = QUERIES["request"]
_REQUESTS = QUERIES["requests"]
_REQUESTS_IN = QUERIES["requests_in_states"]
_ACTIVE_FOR = QUERIES["active_for"]
_EVENT_LOG = QUERIES["request_event_log"]


class PgStore(PgIntake, PgOutbox, PgOfferLog):
    @classmethod
    @asynccontextmanager
    async def open(
        cls, url: str, *, pool_size: int = 10, timeout: float = 5.0, existing: bool = False
    ) -> AsyncIterator["PgStore"]:
        """Connect (at most ``pool_size`` connections, each wait bounded by ``timeout``
        seconds) and migrate; a server that cannot be reached raises StoreUnavailable.
        ``existing``: a database with no store's schema yet raises StoreMissing instead."""
        async with (
            await connect(url, timeout) as conn,
            unavailable("cannot migrate the store", 3 * timeout + 1),
        ):
            if existing and await migrations.schema_version(conn) == 0:
                raise StoreMissing("no callback store in the PostgreSQL database store_url names")
            await migrations.migrate(conn)
        pool = make_pool(url, size=pool_size, timeout=timeout)
        await open_pool(pool, timeout)
        try:
            yield cls(pool, timeout)
        finally:
            await pool.close()

    async def schema_version(self) -> int:
        async with self._connection("cannot read the schema version") as conn:
            return await migrations.schema_version(conn)

    async def save(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        event: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write ``after`` and its event row, only if the row still is ``before`` (its
        state and attempt); a second active request for (number, queue) is refused."""
        async with self._transaction("cannot update request") as conn:
            # Read committed: a row changed by a transaction that committed while this one
            # waited for it is checked again as it is now, so a stale save matches nothing.
            cursor = await conn.execute(
                _UPDATE,
                (*values_but_id(after), at, after.id, before.state.value, before.attempt),
            )
            if cursor.rowcount != 1:
                raise StaleUpdate(f"request {after.id} changed under us")
            await append_event(conn, after, event, at, detail or {})

    async def note(
        self, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        """An event log row that changes nothing in the request (a placement's reasons)."""
        async with self._transaction(f"cannot record {event}") as conn:
            await append_event(conn, request, event, at, detail)

    async def get(self, request_id: str) -> CallbackRequest | None:
        row = await self._one("cannot read request", _REQUEST, (request_id,))
        return request_from(row) if row else None

    async def requests(self, *states: State) -> list[CallbackRequest]:
        """Requests in serving order (priority level, then original queue entry)."""
        params: tuple[object, ...] = ([s.value for s in states],) if states else ()
        rows = await self._rows(
            "cannot read requests", _REQUESTS_IN if states else _REQUESTS, params
        )
        return [request_from(row) for row in rows]

    async def active_for(self, number: str, queue: str) -> list[CallbackRequest]:
        """Requests of ``queue`` not done, asked from or calling back ``number``."""
        if not number:
            return []
        rows = await self._rows(
            f"cannot read requests for {number}", _ACTIVE_FOR, (number, number, queue)
        )
        return [request_from(row) for row in rows]

    async def events(self, request_id: str) -> list[Event]:
        rows = await self._rows("cannot read the event log", _EVENT_LOG, (request_id,))
        return [event_from(row) for row in rows]
