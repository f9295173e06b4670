"""The webhook sender against the in-memory store and a real HTTP receiver on 127.0.0.1:
order, signatures, filters, a receiver that is down and comes back, give-up, store faults."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agi_app.config.webhooks import WebhookSubscription
from agi_app.domain.errors import StoreUnavailable
from agi_app.serving.metrics import Metrics
from agi_app.store.memory import MemoryStore
from agi_app.store.port import ATTEMPTS_KEPT, WebhookAttempt
from agi_app.webhooks.delivery import Webhooks
from tests.support.http_receiver import Delivery, HttpReceiver
from tests.support.poll import eventually, eventually_local
from tests.support.webhook_log import NOW, lifecycle, request
from tests.support.webhook_store import OutboxStore

SECRET = "test-secret-0123456789"
WITHIN = 5.0


def hook(receiver: HttpReceiver, **values: Any) -> WebhookSubscription:
    base = {
        "name": "crm",
        "url": receiver.url,
        "secret": SECRET,
        "retry_initial": 0.01,
        "retry_max": 0.05,
        "start": "beginning",
    }
    return WebhookSubscription.model_validate(base | values)


@asynccontextmanager
async def sending(
    store: OutboxStore,
    *subscriptions: WebhookSubscription,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    metrics: Metrics | None = None,
) -> AsyncIterator[Webhooks]:
    webhooks = Webhooks(list(subscriptions), store, clock=clock, metrics=metrics, poll=0.01)
    tasks = webhooks.start()
    try:
        yield webhooks
        for name, task in tasks:
            assert not task.done(), f"sender {name} ended: {task}"
    finally:
        await webhooks.stop()


def as_stored(deliveries: list[Delivery]) -> list[tuple[int, str, str, str, Any]]:
    bodies = [d.json() for d in deliveries]
    return [(b["id"], b["request_id"], b["event"], b["state"], b["detail"]) for b in bodies]


async def stored_log(store: OutboxStore) -> list[tuple[int, str, str, str, Any]]:
    rows = await store.events_after(0, 1000)
    return [(r.seq, r.event.request_id, r.event.event, r.event.state, r.event.detail) for r in rows]


async def accepted(receiver: HttpReceiver, count: int) -> list[Delivery]:
    return await eventually_local(
        receiver.accepted, lambda ds: len(ds) >= count, within=WITHIN, what=f"{count} accepted"
    )


async def test_every_event_arrives_signed_in_the_order_of_the_log() -> None:
    store = MemoryStore()
    async with HttpReceiver(SECRET) as receiver, sending(store, hook(receiver)):
        await lifecycle(store, 1)
        await lifecycle(store, 2)
        got = await accepted(receiver, 6)
        assert as_stored(got) == await stored_log(store)
        assert all(d.signed for d in got)
        assert [d.event_id for d in got] == [d.json()["id"] for d in got]
        assert [d.headers["x-callback-event"] for d in got] == [d.json()["event"] for d in got]
        assert {(d.method, d.path, d.headers["content-type"]) for d in got} == {
            ("POST", "/hooks/callback", "application/json")
        }
        assert got[0].json()["request"]["callback_number"] == "+15551230001"
        await eventually(lambda: store.webhook_cursor("crm"), lambda c: c == 6, within=WITHIN,
                         what="cursor at the last event")  # fmt: skip
    assert len(receiver.deliveries) == 6  # each once: nothing failed


async def test_a_receiver_with_another_secret_sees_bad_signatures() -> None:
    store = MemoryStore()
    async with HttpReceiver("not-the-secret-at-all") as receiver, sending(store, hook(receiver)):
        await store.add(request(1))
        (got,) = await accepted(receiver, 1)
        assert not got.signed


async def test_a_subscription_gets_only_the_events_it_names() -> None:
    store = MemoryStore()
    async with (
        HttpReceiver(SECRET) as receiver,
        sending(store, hook(receiver, events=["Offered"])),
    ):
        await lifecycle(store, 1)
        await lifecycle(store, 2)
        got = await accepted(receiver, 2)
        assert [(b["request_id"], b["event"]) for b in (d.json() for d in got)] == [
            ("r1", "Offered"),
            ("r2", "Offered"),
        ]
        await store.add(request(3))  # a tail it does not want: the cursor passes it
        await eventually(lambda: store.webhook_cursor("crm"), lambda c: c == 7, within=WITHIN,
                         what="cursor past the unwanted tail")  # fmt: skip
    assert len(receiver.deliveries) == 2


async def test_a_new_subscription_starts_at_the_end_of_the_log_unless_told() -> None:
    store = MemoryStore()
    await lifecycle(store, 1)  # before the subscriptions existed
    async with HttpReceiver(SECRET) as now, HttpReceiver(SECRET) as everything:
        subs = [hook(now, name="now", start="now"), hook(everything, name="all")]
        async with sending(store, *subs):
            await eventually(lambda: store.webhook_cursor("now"), lambda c: c == 3,
                             within=WITHIN, what="started at the end")  # fmt: skip
            await store.add(request(2))
            await accepted(everything, 4)
            (got,) = await accepted(now, 1)
            assert (got.json()["request_id"], got.json()["event"]) == ("r2", "requested")
        # Restarted, each goes on from its cursor: nothing again, the new event to both.
        async with sending(store, *subs):
            await store.add(request(3))
            await accepted(now, 2)
            await accepted(everything, 5)
        assert [d.event_id for d in now.deliveries] == [4, 5]
        assert [d.event_id for d in everything.deliveries] == [1, 2, 3, 4, 5]


async def test_a_receiver_down_then_back_gets_every_event_in_order() -> None:
    store = MemoryStore()
    metrics = Metrics()
    receiver = HttpReceiver(SECRET)
    await receiver.start()
    await receiver.stop()  # down: the port refuses connections (stopped again on leaving)
    async with (
        contextlib.AsyncExitStack() as stack,
        sending(store, hook(receiver), metrics=metrics),
    ):
        stack.push_async_callback(receiver.stop)
        await lifecycle(store, 1)
        await lifecycle(store, 2)

        async def failures() -> list[WebhookAttempt]:
            return await store.webhook_attempts("crm", 100)

        tried = await eventually(failures, lambda a: len(a) >= 3, within=WITHIN, what="retries")
        assert {(a.seq, a.outcome, a.status) for a in tried} == {(1, "failed", None)}
        assert all("ConnectError" in (a.error or "") for a in tried)
        assert receiver.deliveries == []
        pending = metrics.registry.get_sample_value(
            "callback_webhook_pending", {"subscription": "crm"}
        )
        assert pending == 6
        receiver.status = 503  # up again on the same port, but failing: the same body again
        await receiver.start()
        await eventually_local(lambda: receiver.deliveries, lambda ds: len(ds) >= 2,
                               within=WITHIN, what="503s")  # fmt: skip
        receiver.status = 204
        got = await accepted(receiver, 6)
        assert as_stored(got) == await stored_log(store)
        assert all(d.signed for d in got)
        assert len({d.body for d in receiver.deliveries if d.event_id == 1}) == 1
        await eventually(failures, lambda a: a[0].outcome == "delivered" and a[0].seq == 6,
                         within=WITHIN, what="the last recorded")  # fmt: skip

    def sample(outcome: str) -> float | None:
        labels = {"subscription": "crm", "outcome": outcome}
        return metrics.registry.get_sample_value("callback_webhook_deliveries_total", labels)

    assert sample("delivered") == 6
    assert (sample("failed") or 0) >= 3
    assert (
        metrics.registry.get_sample_value("callback_webhook_pending", {"subscription": "crm"}) == 0
    )


async def test_an_event_still_failing_past_max_age_is_given_up_and_the_next_goes() -> None:
    store = MemoryStore()
    now = [NOW]
    async with HttpReceiver(SECRET, status=500) as receiver:
        async with sending(store, hook(receiver, max_age=60), clock=lambda: now[0]):
            await store.add(request(1))
            await eventually_local(lambda: receiver.deliveries, lambda ds: len(ds) >= 2,
                                   within=WITHIN, what="failing")  # fmt: skip
            assert await store.webhook_cursor("crm") == 0
            await store.add(replace(request(2), requested_at=NOW + timedelta(seconds=90)))
            now[0] = NOW + timedelta(seconds=61)  # event 1 is older than max_age now
            await eventually(lambda: store.webhook_cursor("crm"), lambda c: c == 1,
                             within=WITHIN, what="given up")  # fmt: skip
            receiver.status = 200
            got = await accepted(receiver, 1)
            assert [d.event_id for d in got] == [2]
        attempts = await store.webhook_attempts("crm", 100)
        outcomes = [(a.seq, a.outcome) for a in reversed(attempts)]
        gave_up = outcomes.index((1, "gave_up"))
        assert {o for _, o in outcomes[:gave_up]} == {"failed"}  # tried until then
        assert {s for s, _ in outcomes[gave_up + 1 :]} == {2}  # then the next event
        assert outcomes[-1] == (2, "delivered")
        assert attempts[1].status == 500 and attempts[1].error == "HTTP 500"


class FlakyStore(MemoryStore):
    """Refuses to record the first ``refusals`` attempts, as a locked SQLite file does."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def record_webhook_attempt(
        self, attempt: WebhookAttempt, keep: int = ATTEMPTS_KEPT
    ) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise StoreUnavailable("database is locked")
        await super().record_webhook_attempt(attempt, keep)


async def test_a_store_that_refuses_writes_delays_delivery_and_ends_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FlakyStore(refusals=2)
    async with HttpReceiver(SECRET) as receiver, sending(store, hook(receiver)):
        await store.add(request(1))
        await eventually(lambda: store.webhook_cursor("crm"), lambda c: c == 1, within=WITHIN,
                         what="recorded once the store took it")  # fmt: skip
        await store.add(request(2))
        await accepted(receiver, 2)
    assert "store unavailable (store-unavailable: database is locked)" in caplog.text
    assert [d.event_id for d in receiver.accepted()] == [1, 2]  # at least once, in order


class BrokenStore(MemoryStore):
    async def events_after(self, seq: int, limit: int) -> Any:
        raise RuntimeError("a bug")


async def test_a_sender_that_hits_a_bug_ends_with_it_for_the_service_to_see(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with HttpReceiver(SECRET) as receiver:
        webhooks = Webhooks([hook(receiver)], BrokenStore(), clock=lambda: NOW, poll=0.01)
        ((name, task),) = webhooks.start()
        with caplog.at_level(logging.INFO), pytest.raises(RuntimeError, match="a bug"):
            await asyncio.wait_for(task, WITHIN)
        await webhooks.stop()
    assert name == "crm"
