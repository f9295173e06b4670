"""The PostgreSQL store: opened on a URL, checked and migrated, its requests read and saved.

It is the RequestStore and WebhookOutbox of the SQLite store (agi_app/store/sqlite/store.py),
in the same shape. Every change is one transaction with its event log row, committed before
the call returns. Each method takes one transaction, or one connection for reads, from the
store's pool (each bounded, each failure a StoreUnavailable: connection.py) and runs one
function of the part that does it: request_log.py (requests read, saved, noted; the event
log's writer), intake.py (requests added, rate limits, idempotency keys), outbox.py (the
webhooks' outbox), offer_log.py (offer checks), personal.py (personal data removed). Each part
is plain functions taking that connection, as SQLite's are; FencedStore (fenced.py) changes
only how a transaction begins.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from psycopg.pq import TransactionStatus

from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.domain.errors import StoreMissing
from agi_app.domain.event_log import Event, LoggedEvent
from agi_app.domain.offer import OfferCheck
from agi_app.domain.request import CallbackRequest, RateLimits, State
from agi_app.store.port import ATTEMPTS_KEPT, IdempotencyKey, KeptAnswer, WebhookAttempt
from agi_app.store.postgres import (
    do_not_call,
    intake,
    migrations,
    offer_log,
    outbox,
    personal,
    request_log,
)
from agi_app.store.postgres.connection import (
    Conn,
    Pool,
    connect,
    make_pool,
    open_pool,
    unavailable,
)

_READ_LOG = "cannot read the event log"


class PgStore:
    def __init__(self, pool: Pool, timeout: float) -> None:
        self._pool = pool
        # The server gives up on a statement or a lock wait after ``timeout``; a transaction
        # has a few of them, and a server that stopped answering gets this long in all.
        self._timeout = timeout
        self._deadline = 3 * timeout + 1

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

    @asynccontextmanager
    async def _transaction(self, what: str) -> AsyncIterator[Conn]:
        """One transaction, committed when the block ends (durable: the commit waits for the
        server's WAL flush, synchronous_commit being the server's to choose), rolled back if
        it raises."""
        async with (
            unavailable(what, self._deadline),
            self._pool.connection() as conn,
            conn.transaction(),
        ):
            yield conn

    @asynccontextmanager
    async def _pipelined_transaction(self, what: str) -> AsyncIterator[Conn]:
        """As ``_transaction``, pipelined (the request path's write): statements go without
        waiting for each answer, but where the work needs one (a fetch), and BEGIN and COMMIT
        go with them, so an intake is three round trips (BEGIN with the locks and the rate
        limits' count; the insert; the event, the notice and COMMIT), where it was eight.
        The block returns once COMMIT's answer came (durable, as ``_transaction``'s)."""
        async with unavailable(what, self._deadline), self._pool.connection() as conn:
            try:
                async with conn.pipeline():
                    await conn.execute(b"BEGIN ISOLATION LEVEL READ COMMITTED")
                    yield conn
                    await conn.execute(b"COMMIT")
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    await conn.execute(b"ROLLBACK")
                raise

    @asynccontextmanager
    async def _connection(self, what: str) -> AsyncIterator[Conn]:
        """A connection for reads, each statement its own (autocommit)."""
        async with unavailable(what, self._deadline), self._pool.connection() as conn:
            yield conn

    async def schema_version(self) -> int:
        async with self._connection("cannot read the schema version") as conn:
            return await migrations.schema_version(conn)

    # ---- requests (RequestStore) ---------------------------------------------------------
    async def add(
        self, request: CallbackRequest, limits: RateLimits | None = None
    ) -> CallbackRequest:
        async with self._pipelined_transaction("cannot store request") as conn:
            return await intake.add(conn, request, limits)

    async def add_once(
        self,
        request: CallbackRequest,
        limits: RateLimits | None,
        key: IdempotencyKey,
        since: datetime | None = None,
    ) -> tuple[CallbackRequest, KeptAnswer]:
        async with self._transaction("cannot store request") as conn:
            return await intake.add_once(conn, request, limits, key, since)

    async def kept_answer(
        self, credential: str, key: str, since: datetime | None = None
    ) -> KeptAnswer | None:
        async with self._connection("cannot read an idempotency key") as conn:
            return await intake.kept_answer(conn, credential, key, since)

    async def save(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        event: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        async with self._transaction("cannot update request") as conn:
            await request_log.save(conn, before, after, event, at, detail or {})

    async def note(
        self, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        async with self._transaction(f"cannot record {event}") as conn:
            await request_log.append_event(conn, request, event, at, detail)

    async def get(self, request_id: str) -> CallbackRequest | None:
        async with self._connection("cannot read request") as conn:
            return await request_log.get(conn, request_id)

    async def requests(self, *states: State) -> list[CallbackRequest]:
        async with self._connection("cannot read requests") as conn:
            return await request_log.requests(conn, states)

    async def requests_with_customer_hours(self, *states: State) -> list[CallbackRequest]:
        async with self._connection("cannot read requests") as conn:
            return await request_log.with_customer_hours(conn, states)

    async def requests_awaiting_turn(self, *states: State) -> list[CallbackRequest]:
        async with self._connection("cannot read requests") as conn:
            return await request_log.awaiting_turn(conn, states)

    async def active_for(self, number: str, queue: str) -> list[CallbackRequest]:
        if not number:  # a withheld caller is nobody in particular
            return []
        async with self._connection(f"cannot read requests for {number}") as conn:
            return await request_log.active_for(conn, number, queue)

    async def last_agent(self, number: str) -> str | None:
        async with self._connection(f"cannot read the last agent of {number}") as conn:
            return await request_log.last_agent(conn, number)

    async def events(self, request_id: str) -> list[Event]:
        async with self._connection(_READ_LOG) as conn:
            return await request_log.events(conn, request_id)

    async def request_events(self, request_id: str, after: int, limit: int) -> list[LoggedEvent]:
        async with self._connection(_READ_LOG) as conn:
            return await outbox.request_events(conn, request_id, after, limit)

    # ---- personal data (PersonalData) ----------------------------------------------------
    async def done_before(self, before: datetime, limit: int) -> list[CallbackRequest]:
        async with self._connection("cannot read requests") as conn:
            return await personal.done_before(conn, before, limit)

    async def of_numbers(self, numbers: frozenset[str]) -> list[CallbackRequest]:
        async with self._connection("cannot read requests") as conn:
            return await personal.of_numbers(conn, numbers)

    async def rewrite_personal(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        details: dict[int, dict[str, Any]],
        event: tuple[str, datetime, dict[str, Any]] | None = None,
    ) -> None:
        async with self._transaction("cannot remove personal data") as conn:
            await personal.rewrite_personal(conn, before, after, details, event)

    # ---- offer checks --------------------------------------------------------------------
    async def record_offer_check(self, check: OfferCheck) -> None:
        async with self._connection("cannot record an offer check") as conn:
            await offer_log.record_offer_check(conn, check)

    async def offer_checks(self, since: datetime | None = None) -> list[OfferCheck]:
        async with self._connection("cannot read offer checks") as conn:
            return await offer_log.offer_checks(conn, since)

    # ---- do-not-call entries ---------------------------------------------------------------
    async def do_not_call(self) -> list[DoNotCallEntry]:
        async with self._connection("cannot read the do-not-call list") as conn:
            return await do_not_call.do_not_call(conn)

    async def add_do_not_call(self, entry: DoNotCallEntry) -> bool:
        async with self._transaction("cannot add to the do-not-call list") as conn:
            return await do_not_call.add_do_not_call(conn, entry)

    async def remove_do_not_call(self, entry: str) -> bool:
        async with self._transaction("cannot remove from the do-not-call list") as conn:
            return await do_not_call.remove_do_not_call(conn, entry)

    # ---- the webhooks' outbox (WebhookOutbox) --------------------------------------------
    async def events_after(self, seq: int, limit: int) -> list[LoggedEvent]:
        async with self._connection(_READ_LOG) as conn:
            return await outbox.events_after(conn, seq, limit)

    async def last_event_seq(self) -> int:
        async with self._connection(_READ_LOG) as conn:
            return await outbox.last_event_seq(conn)

    async def count_events_after(self, seq: int, names: frozenset[str] | None = None) -> int:
        async with self._connection(_READ_LOG) as conn:
            return await outbox.count_events_after(conn, seq, names)

    async def start_webhook(self, subscription: str, seq: int) -> int:
        async with self._transaction(f"cannot start webhook {subscription}") as conn:
            return await outbox.start_webhook(conn, subscription, seq)

    async def webhook_cursor(self, subscription: str) -> int | None:
        async with self._connection("cannot read a webhook cursor") as conn:
            return await outbox.webhook_cursor(conn, subscription)

    async def advance_webhook(self, subscription: str, seq: int) -> None:
        async with self._connection(f"cannot move webhook {subscription}") as conn:
            await outbox.advance_webhook(conn, subscription, seq)

    async def record_webhook_attempt(
        self, attempt: WebhookAttempt, keep: int = ATTEMPTS_KEPT
    ) -> None:
        async with self._transaction("cannot record a webhook attempt") as conn:
            await outbox.record_webhook_attempt(conn, attempt, keep)

    async def webhook_attempts(self, subscription: str, limit: int) -> list[WebhookAttempt]:
        async with self._connection("cannot read webhook attempts") as conn:
            return await outbox.webhook_attempts(conn, subscription, limit)
