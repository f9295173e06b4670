"""Webhooks over real SIP: a caller's callback, served by an agent and the customer, arrives at
an HTTP receiver the test runs, every event of its log in order and signed; and nothing is
lost when the receiver is down and the service is killed with SIGKILL meanwhile."""

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.config.webhooks import WebhookSubscription
from agi_app.domain.request import CallOutcome, ContactOutcome, State
from agi_app.store.open import ServiceStore
from agi_app.store.sqlite.store import Store
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    hang_up_agent,
    invites,
    request_callback,
    set_paused,
    the_request,
)
from tests.support.ami import eventually, eventually_local, sandbox_secret
from tests.support.http_receiver import Delivery, HttpReceiver, carried, first_arrivals, logged
from tests.support.service_process import ServiceProcess
from tests.support.testbed import TESTBED_NUMBERS, current
from tests.support.uas import Behaviour

SECRET = "acceptance-webhook-secret"
LIFECYCLE = [
    "requested",  # the caller pressed 1; stored
    "PlacementDue",
    "Placed",  # its placeholder originated at its place
    "Joined",  # in the queue
    "Offered",  # the agent's phone rings
    "AgentAnswered",
    "CustomerDialed",
    "CustomerAnswered",
    "CallEnded",
]


def subscription(receiver: HttpReceiver) -> dict[str, object]:
    return {
        "name": "crm",
        "url": receiver.url,
        "secret": SECRET,
        "retry_initial": 0.2,
        "retry_max": 1.0,
        "start": "beginning",
    }


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    receiver = HttpReceiver(SECRET)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


async def all_delivered(store: ServiceStore, receiver: HttpReceiver) -> list[Delivery]:
    """Every row of the log arrived (at least once); each at its first arrival."""
    rows = await store.events_after(0, 1000)
    return await eventually_local(
        lambda: first_arrivals(receiver.accepted()),
        lambda ds: len(ds) >= len(rows),
        within=20,
        what=f"{len(rows)} events delivered",
    )


async def test_a_phone_callback_reaches_the_receiver_in_order_and_signed(
    ami: Manager, settings: Settings, phones: Phones, receiver: HttpReceiver, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    hooked = settings.model_copy(
        update={
            "webhooks": [WebhookSubscription.model_validate(subscription(receiver))],
            "web_metrics_public": True,
        }
    )
    async with Service(hooked) as service, AsyncExitStack() as stack:
        assert service.store is not None
        store = service.store
        await request_callback(stack, ami, tmp_path, "5000", "+15551230141")
        await the_request(store, State.WAITING)
        await set_paused(ami, AGENT1, False)
        await invites(agent, 1)
        await invites(customer, 1)
        await the_request(store, State.CONNECTED)
        await hang_up_agent(ami, AGENT1)
        done = await the_request(store, State.DONE)
        got = await all_delivered(store, receiver)
        assert carried(got) == logged(await store.events_after(0, 1000))
        # The receiver has the last event before the service has recorded its answer: the
        # figures are read once they have caught up.
        delivered = 'callback_webhook_deliveries_total{outcome="delivered",subscription="crm"} 9.0'
        pending = 'callback_webhook_pending{subscription="crm"} 0.0'
        async with httpx.AsyncClient() as client:

            async def scrape() -> str:
                url = current().url(service.web_port, "/metrics")
                return (await client.get(url)).text

            await eventually(
                scrape,
                lambda text: delivered in text and pending in text,
                within=10,
                what="metrics counting 9 delivered and none pending",
            )
    assert [d.json()["event"] for d in got] == LIFECYCLE
    assert all(d.signed for d in receiver.deliveries)
    assert {d.json()["request_id"] for d in got} == {done.id}
    assert got[0].json()["request"]["callback_number"] == "+15551230141"
    assert got[-1].json()["outcome"] == {
        "call": CallOutcome.ANSWERED.value,
        "contact": ContactOutcome.ANSWERED.value,
    }


async def test_kill_9_while_the_receiver_is_down_loses_nothing(
    ami: Manager, phones: Phones, receiver: HttpReceiver, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    await phones.start(5090, Behaviour.ANSWER, "carrier")
    await receiver.stop()  # down before the first event
    process = ServiceProcess(
        tmp_path,
        store_path=str(tmp_path / "callbacks.sqlite3"),
        customer_ring_seconds="5",
        ami_ping_interval="0.5",
        ami_secret_file=str(sandbox_secret("callback")),
        allowed_number_prefixes=json.dumps(TESTBED_NUMBERS),
        web_enabled="false",
        webhooks=json.dumps([subscription(receiver)]),
    )
    try:
        await process.start()
        async with Store.open(process.store_path) as store, AsyncExitStack() as stack:
            await request_callback(stack, ami, tmp_path, "5000", "+15551230142")
            await the_request(store, State.WAITING)
            await eventually(
                lambda: store.webhook_attempts("crm", 10),
                lambda a: len(a) >= 2,
                within=10,
                what="failed attempts while the receiver is down",
            )
            await process.kill9()
            await process.start()  # the same placeholder kept (test_faults.py)
            await receiver.start()  # back, on the same port
            await set_paused(ami, AGENT1, False)
            await invites(agent, 1)
            await the_request(store, State.CONNECTED)
            await hang_up_agent(ami, AGENT1)
            await the_request(store, State.DONE)
            got = await all_delivered(store, receiver)
            assert carried(got) == logged(await store.events_after(0, 1000))
            attempts = await store.webhook_attempts("crm", 1000)
    finally:
        await process.stop()
    assert [d.json()["event"] for d in got] == LIFECYCLE
    assert all(d.signed for d in receiver.deliveries)
    assert any(a.outcome == "failed" and a.seq == 1 for a in attempts)  # before the kill
