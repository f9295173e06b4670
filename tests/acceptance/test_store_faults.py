"""Serving never stops silently: a store that refuses writes for a while (a lock held longer
than store_busy_timeout) delays callbacks, then they are served; a task serving cannot do
without that dies anyway stops the service with a non-zero exit."""

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from panoramisk import Manager

from agi_app.admin import cli
from agi_app.app.service import Service
from agi_app.config.file import SettingsSource
from agi_app.config.settings import Settings
from agi_app.domain.request import CallbackRequest, State
from agi_app.serving.placer import Placer
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    invites,
    set_paused,
    store,
    stored_requests,
    the_request,
)
from tests.support.ami import action, eventually, eventually_local, queue_callers
from tests.support.uas import Behaviour, Phone


class WriteLock:
    """Another program's write transaction on the store: every write of ours waits, then
    fails after the store's timeout (as under a backup tool, or with a full disk). SQLite:
    BEGIN IMMEDIATE on the file; PostgreSQL: the tables locked against writes (reads go on)."""

    def __init__(self, settings: Settings) -> None:
        self._db: sqlite3.Connection | psycopg.Connection[tuple[object, ...]]
        if settings.store_url is not None:
            self._db = psycopg.connect(settings.store_url, autocommit=True)
            self._db.execute("BEGIN")
            self._db.execute("LOCK TABLE requests, request_events IN EXCLUSIVE MODE")
        else:
            self._db = sqlite3.connect(settings.store_path, isolation_level=None)
            self._db.execute("BEGIN IMMEDIATE")
        self._held = True

    def release(self) -> None:
        if self._held:
            self._db.execute("ROLLBACK")
            self._db.close()
            self._held = False


@contextmanager
def write_locked(settings: Settings) -> Iterator[WriteLock]:
    lock = WriteLock(settings)
    try:
        yield lock
    finally:
        lock.release()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Writes give up soon on either store: SQLite after store_busy_timeout (0.3 s here),
    PostgreSQL after store_timeout, 3 s here: it is also its serving lease's term, checked
    every half of it, and the bound on opening the connection pool, and the service runs in
    the test's own busy process (parallel workers on 2 cores): at 1 s a delayed check cost it
    the lease now and then, at 2 s a slow pool start failed it once."""
    return settings.model_copy(update={"store_timeout": 3.0})


def logged(caplog: pytest.LogCaptureFixture, text: str, *, start: str = "") -> int:
    said = [r.getMessage() for r in caplog.records]
    return sum(text in m and m.startswith(start) for m in said)


async def test_placement_survives_a_locked_store_and_serves_after(
    ami: Manager, settings: Settings, phones: Phones, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    number = "+15551230071"
    await stored_requests(settings, [number])
    with write_locked(settings) as lock:
        async with Service(settings) as service:
            # The request is due at once; placing it needs a write, which the lock refuses.
            await eventually_local(
                lambda: logged(caplog, "placement failed"),
                lambda n: n >= 2,
                within=30,
                what="placement failed, and was retried, under the lock",
            )
            assert await queue_callers(ami, "support") == []
            with_lock = await the_request(store(service), State.PENDING)
            assert with_lock.attempt == 0
            lock.release()
            served = await agent_and_customer_rung(service, ami, agent, customer, number)
            assert served.attempt == 1


async def agent_and_customer_rung(
    service: Service, ami: Manager, agent: Phone, customer: Phone, number: str
) -> CallbackRequest:
    """An agent comes free: it is offered the callback, then the customer is dialed."""
    await set_paused(ami, AGENT1, False)
    (offered,) = await invites(agent, 1, within=30)
    assert offered["from_user"] == number
    (dialed,) = await invites(customer, 1, within=30)
    assert dialed["request_uri"].startswith(f"sip:{number}@")
    return await the_request(store(service), State.CONNECTED, within=20)


async def test_events_wait_out_a_locked_store_in_order(
    service: Service,
    ami: Manager,
    settings: Settings,
    phones: Phones,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The placeholder is lost while the store is locked: the event is applied once the lock
    goes, and the request is placed again and served."""
    caplog.set_level(logging.INFO, logger="agi_app")
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    number = "+15551230072"
    await service_request(service, settings, number)
    (entry,) = await eventually(
        lambda: queue_callers(ami, "support"), lambda es: len(es) == 1, within=20, what="queued"
    )
    with write_locked(settings):
        await action(ami, Action="Hangup", Channel=entry["Channel"])
        await eventually_local(
            lambda: logged(caplog, "; retrying in", start="serving "),
            lambda n: n >= 1,
            within=30,
            what="an event retried under the lock",
        )
    request = await agent_and_customer_rung(service, ami, agent, customer, number)
    assert request.attempt == 2  # placed again after the lost placeholder, once


async def service_request(service: Service, settings: Settings, number: str) -> None:
    """A stored request handed to the running service as the FastAGI handler would."""
    await stored_requests(settings, [number])
    (request,) = await store(service).requests(State.PENDING)
    assert service.serving is not None
    await service.serving.request_stored(request)


async def test_a_dead_serving_task_stops_the_service_with_a_non_zero_exit(
    ami: Manager,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(_self: Placer) -> None:
        raise RuntimeError("a bug in placement")

    monkeypatch.setattr(Placer, "run", broken)
    code = await asyncio.wait_for(cli._serve(settings, SettingsSource(None, "test")), 30)
    assert code == 1
    assert logged(caplog, "serving died") == 1
