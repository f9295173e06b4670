"""Webhooks: every event of the log, POSTed to each subscription in order, at least once.

The event log (request_events) is the outbox: each state change and outcome is a row written
in the transaction of the change, so nothing the store holds can miss its webhook. Each
subscription has one sender task that reads the rows after its cursor, one at a time, and
POSTs the ones it wants (agi_app.domain.webhook: the body and its signature). The cursor moves
only once the receiver answered 2xx (or the event was given up past ``max_age``), in the same
transaction as the attempt's record: a kill -9 between the POST and the record sends that
event again after the restart, never loses it. A failure is retried after an exponential
backoff with full jitter; the event behind it waits (order before throughput).
"""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

import httpx

from agi_app.config.webhooks import WebhookSubscription
from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.event_log import LoggedEvent
from agi_app.domain.webhook import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    encode,
    payload,
    signature,
    wanted,
)
from agi_app.serving.backoff import Backoff, Retry
from agi_app.store.port import WebhookAttempt, WebhookOutbox

log = logging.getLogger(__name__)

POLL = 0.25  # seconds between looks at the log while there is nothing to send
BATCH = 100  # rows read at a time
USER_AGENT = "agi-callback-webhooks/1"

T = TypeVar("T")


class WebhookMetrics(Protocol):
    def webhook_attempted(self, subscription: str, outcome: str) -> None: ...

    def webhook_backlog(self, subscription: str, pending: int) -> None: ...


class Sender:
    """One subscription's delivery loop; ``run`` returns only by a bug (cancel it to stop)."""

    def __init__(
        self,
        subscription: WebhookSubscription,
        store: WebhookOutbox,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime],
        metrics: WebhookMetrics | None = None,
        poll: float = POLL,
        draw: Callable[[], float] = random.random,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.subscription = subscription
        self._key = subscription.key()  # a secret file that cannot be read stops the start
        self._names = subscription.event_names()
        self._store = store
        self._client = client
        self._clock = clock  # the service's clock: an event's age
        self._metrics = metrics
        self._poll = poll
        self._draw = draw
        self._wall = wall  # the signature's timestamp: the receiver compares it to its clock
        self._max_age = timedelta(seconds=subscription.max_age)

    @property
    def name(self) -> str:
        return self.subscription.name

    async def run(self) -> None:
        start = 0
        if self.subscription.start == "now":
            start = await self._stored(self._store.last_event_seq)
        cursor = await self._stored(self._store.start_webhook, self.name, start)
        log.info("webhook %s: delivering to %s after event %s", self.name, self.url, cursor)
        await self._backlog(cursor)
        while True:
            batch = await self._stored(self._store.events_after, cursor, BATCH)
            if not batch:
                await asyncio.sleep(self._poll)
                continue
            skipped = False
            for logged in batch:
                if wanted(self._names, logged.event.event):
                    await self._deliver(logged)  # moves the stored cursor
                    skipped = False
                else:
                    skipped = True
                cursor = logged.seq
            if skipped:  # a tail of rows it does not want: not read again after a restart
                await self._stored(self._store.advance_webhook, self.name, cursor)
            await self._backlog(cursor)

    @property
    def url(self) -> str:
        return self.subscription.url

    async def _deliver(self, logged: LoggedEvent) -> None:
        request = await self._stored(self._store.get, logged.event.request_id)
        body = encode(payload(logged, request))  # the same bytes for every attempt
        retry = Backoff(self.subscription.retry_initial, self.subscription.retry_max)
        while True:
            status, error = await self._post(logged, body)
            at = self._clock()
            if status is not None and 200 <= status < 300:
                outcome = "delivered"
            elif at - logged.event.at > self._max_age:
                outcome = "gave_up"  # only after an attempt: a receiver that is back gets it
            else:
                outcome = "failed"
            attempt = WebhookAttempt(self.name, logged.seq, at, outcome, status, error)
            await self._stored(self._store.record_webhook_attempt, attempt)
            if self._metrics is not None:
                self._metrics.webhook_attempted(self.name, outcome)
            if outcome == "delivered":
                return
            if outcome == "gave_up":
                log.error(
                    "webhook %s: gave up on event %s (%s of request %s, at %s): %s",
                    self.name, logged.seq, logged.event.event, logged.event.request_id,
                    logged.event.at.isoformat(), error,
                )  # fmt: skip
                return
            delay = retry.jittered(self._draw)
            log.warning(
                "webhook %s: event %s not delivered (%s); next try in %.1f s",
                self.name, logged.seq, error, delay,
            )  # fmt: skip
            await self._backlog(logged.seq - 1)
            await asyncio.sleep(delay)

    async def _post(self, logged: LoggedEvent, body: bytes) -> tuple[int | None, str | None]:
        """The receiver's status (None: no answer) and what went wrong (None: 2xx)."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_ID_HEADER: str(logged.seq),
            EVENT_HEADER: logged.event.event,
            SIGNATURE_HEADER: signature(self._key, int(self._wall()), body),
        }
        try:
            # Streamed and closed unread: the status is all we need, and a receiver's body
            # of any size costs nothing. Redirects are not followed (a failure).
            async with self._client.stream(
                "POST", self.url, content=body, headers=headers, timeout=self.subscription.timeout
            ) as response:
                status = response.status_code
        except (httpx.HTTPError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]
        return status, None if 200 <= status < 300 else f"HTTP {status}"

    async def _backlog(self, cursor: int) -> None:
        if self._metrics is not None:
            pending = await self._stored(self._store.count_events_after, cursor, self._names)
            self._metrics.webhook_backlog(self.name, pending)

    async def _stored(self, call: Callable[..., Awaitable[T]], *args: object) -> T:
        """``call`` retried while the store refuses (locked, full): delivery waits, it does
        not end. Anything else is a bug and ends the task (the service's supervision)."""
        retry = Retry(f"webhook {self.name}: store unavailable", log, expected=(StoreUnavailable,))
        return await retry.until_passed(partial(call, *args))


class Webhooks:
    """The senders of every subscription, sharing one HTTP client."""

    def __init__(
        self,
        subscriptions: list[WebhookSubscription],
        store: WebhookOutbox,
        *,
        clock: Callable[[], datetime],
        metrics: WebhookMetrics | None = None,
        poll: float = POLL,
    ) -> None:
        # No proxy from the environment: the body goes to the URL configured, nowhere else.
        self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self.senders = [
            Sender(s, store, self._client, clock=clock, metrics=metrics, poll=poll)
            for s in subscriptions
        ]
        self._tasks: list[asyncio.Future[None]] = []

    def start(self) -> list[tuple[str, "asyncio.Future[None]"]]:
        self._tasks = [asyncio.ensure_future(s.run()) for s in self.senders]
        return [(s.name, t) for s, t in zip(self.senders, self._tasks, strict=True)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
