"""Crashes, restarts and a half-open AMI link: no acknowledged request lost, none served twice.

The service runs as its own process here so that it can be killed with SIGKILL at any point
of a request's life; the store is read from its SQLite file, Asterisk's state over AMI, and
what the customer got from the carrier phone (never more than one INVITE per attempt).
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State
from agi_app.store.open import ServiceStore, StoreConfig, open_store
from tests.acceptance.calls import (
    AGENT1,
    ERROR,
    SOUNDS,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invites,
    placeholders,
    request_callback,
    served_once,
    set_paused,
    the_request,
)
from tests.support.ami import (
    action,
    ami_client,
    eventually,
    eventually_local,
    queue_callers,
    sandbox_secret,
)
from tests.support.rtp import wait_heard
from tests.support.service_process import ServiceProcess
from tests.support.tcp_proxy import TcpProxy
from tests.support.testbed import AMI_PORT, TESTBED_NUMBERS, current
from tests.support.uas import Behaviour


@pytest.fixture
async def process(
    ami: Manager, tmp_path: Path, settings: Settings
) -> AsyncIterator[ServiceProcess]:
    store = {"store_url": settings.store_url} if settings.store_url else {}
    service = ServiceProcess(
        tmp_path,
        store_path=str(settings.store_path),
        **store,
        customer_ring_seconds="5",
        ami_ping_interval="0.5",
        ami_secret_file=str(sandbox_secret("callback")),
        allowed_number_prefixes=json.dumps(TESTBED_NUMBERS),
    )
    try:
        yield service
    finally:
        await service.stop()


@pytest.fixture
async def store(process: ServiceProcess, settings: Settings) -> AsyncIterator[ServiceStore]:
    """The test's own connection to the service's store."""
    async with open_store(StoreConfig.of(settings)) as opened:
        yield opened


async def test_crash_before_commit_acknowledges_nothing(
    process: ServiceProcess, store: ServiceStore, ami: Manager, tmp_path: Path
) -> None:
    await process.start(crash_at="before-commit")
    async with calling(tmp_path, "5000", "+15551230101", ["1"]) as (caller, sink):
        await in_queue(ami, "+15551230101")
        await caller.nudge()
        assert await process.died() == -9
        await wait_heard(sink, ERROR, timeout=20)  # the dialplan's fallback: never "successful"
        await caller.finished()
    await process.start()
    assert await store.requests() == []
    assert await placeholders(ami) == []


async def test_crash_after_commit_still_calls_back(
    process: ServiceProcess, store: ServiceStore, ami: Manager, tmp_path: Path
) -> None:
    await process.start(crash_at="after-commit")
    async with calling(tmp_path, "5000", "+15551230102", ["1"]) as (caller, sink):
        await in_queue(ami, "+15551230102")
        await caller.nudge()
        assert await process.died() == -9
        await wait_heard(sink, ERROR, timeout=20)
        await caller.finished()
    (request,) = await store.requests(State.PENDING)
    await process.start()
    await the_request(store, State.WAITING)
    assert await placeholders(ami) == [f"cb-{request.id}-1-q"]


async def test_kill_while_waiting_then_served_exactly_once(
    process: ServiceProcess, store: ServiceStore, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    await process.start()
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230103")
        request = await the_request(store, State.WAITING)
        await process.kill9()
        await process.start()  # returns after it made the store agree with Asterisk
        assert await placeholders(ami) == [f"cb-{request.id}-1-q"]  # kept, not doubled
        await served_once(ami, store, agent, customer)


async def test_kill_while_the_agent_rings(
    process: ServiceProcess, store: ServiceStore, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.NO_ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    await process.start()
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230104")
        await set_paused(ami, AGENT1, False)
        request = await the_request(store, State.OFFERED)
        await process.kill9()
        await process.start()
        assert await placeholders(ami) == [f"cb-{request.id}-1-q"]
        await set_paused(ami, AGENT1, True)
    still = await the_request(store, State.WAITING, State.OFFERED)
    assert still.call_outcome is None
    assert customer.invites() == []  # nothing dialed out without an agent
    assert agent.invites()


async def leg_outcome(
    process: ServiceProcess, store: ServiceStore, ami: Manager, phones: Phones, tmp_path: Path,
    customer_behaviour: Behaviour, connected: State,
) -> tuple[CallbackRequest, int]:  # fmt: skip
    """Kill the service while the customer leg is in ``connected``; finish the call unseen."""
    agent, agent_heard = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, customer_behaviour, "carrier")
    await process.start()
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230105")
        await set_paused(ami, AGENT1, False)
        await the_request(store, connected)
        await process.kill9()
        if connected is State.CONNECTED:
            await hang_up_agent(ami, AGENT1)
        else:  # the customer does not answer: the agent hears it, with nobody watching
            await wait_heard(agent_heard, SOUNDS / "customer-no-answer.wav", timeout=30)
        await eventually_local(
            lambda: agent.received("BYE"), lambda n: n >= 1, within=20, what="call over"
        )
        await process.start()
    return await the_request(store, State.DONE), len(customer.invites())


async def test_kill_while_bridged_outcome_recovered(
    process: ServiceProcess, store: ServiceStore, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    request, dialed = await leg_outcome(
        process, store, ami, phones, tmp_path, Behaviour.ANSWER, State.CONNECTED
    )
    assert (request.call_outcome, request.contact_outcome) == (
        CallOutcome.ANSWERED,
        ContactOutcome.ANSWERED,
    )
    assert request.customer_answered_at and request.customer_ended_at
    assert request.customer_answered_at <= request.customer_ended_at
    assert dialed == 1


async def test_kill_while_the_customer_rings_outcome_recovered(
    process: ServiceProcess, store: ServiceStore, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    request, dialed = await leg_outcome(
        process, store, ami, phones, tmp_path, Behaviour.NO_ANSWER, State.DIALING
    )
    assert (request.call_outcome, request.contact_outcome) == (
        CallOutcome.MISSED,
        ContactOutcome.ANSWERED,
    )
    assert dialed == 1


async def test_asterisk_restart_puts_every_request_back_in_order(
    restarts_asterisk: None, ami: Manager, settings: Settings, tmp_path: Path
) -> None:
    fast = settings.model_copy(update={"ami_ping_interval": 0.5})
    async with Service(fast) as service, AsyncExitStack() as stack:
        assert service.store is not None
        for did, number in (("5000", "+15551230111"), ("5003", "+15551230112")):
            await request_callback(stack, ami, tmp_path, did, number)
        await request_callback(stack, ami, tmp_path, "5000", "+15551230113")
        before = await eventually(
            lambda: queue_callers(ami, "support"), lambda es: len(es) == 3, within=10, what="3"
        )
        order = [e["CallerIDNum"] for e in before]
        assert order == ["+15551230112", "+15551230111", "+15551230113"]

        await asyncio.to_thread(current().asterisk.down)
        await asyncio.to_thread(current().asterisk.sandbox, "up")
        async with ami_client() as fresh:
            for agent in ("PJSIP/agent1", "PJSIP/agent2", "PJSIP/agent3"):
                await set_paused(fresh, agent, True)  # they come back unpaused, phones absent
            after = await eventually(
                lambda: queue_callers(fresh, "support"),
                lambda es: len(es) == 3,
                within=30,
                what="all three back after the restart",
            )
        assert [e["CallerIDNum"] for e in after] == order
        requests = {r.id: r for r in await service.store.requests()}
        # One new placeholder each (agents come back unpaused and may be rung meanwhile).
        assert sorted(e["Uniqueid"] for e in after) == sorted(
            f"cb-{r.id}-{r.attempt}-q" for r in requests.values()
        )
        assert all(r.attempt >= 2 and r.call_outcome is None for r in requests.values())


async def customer_bridged(ami: Manager) -> None:
    async def channels() -> list[dict[str, str]]:
        messages = await action(ami, Action="CoreShowChannels")
        return [dict(m) for m in messages if m.get("Event") == "CoreShowChannel"]

    await eventually(
        channels,
        lambda cs: any(c["Channel"].startswith("PJSIP/pstn-") and c.get("BridgeId") for c in cs),
        within=20,
        what="customer bridged",
    )


async def test_half_open_ami_is_noticed_and_the_call_reconciled(
    ami: Manager, settings: Settings, phones: Phones, tmp_path: Path
) -> None:
    await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    async with TcpProxy(AMI_PORT) as proxy:
        via_proxy = settings.model_copy(update={"ami_port": proxy.port, "ami_ping_interval": 0.5})
        async with Service(via_proxy) as service, AsyncExitStack() as stack:
            assert service.store is not None and service.ami is not None
            link = service.ami
            await request_callback(stack, ami, tmp_path, "5000", "+15551230121")
            await the_request(service.store, State.WAITING)
            proxy.freeze()
            await eventually_local(
                lambda: link.ready.is_set(), lambda up: not up, within=3, what="link noticed dead"
            )
            # Served while the service is blind: the call still happens, end to end.
            await set_paused(ami, AGENT1, False)
            await invites(customer, 1)
            await customer_bridged(ami)
            await hang_up_agent(ami, AGENT1)
            # The whole call over while the service is blind (its legs gone, their outcome
            # written by the dialplan), then the link comes back.
            await eventually(
                lambda: action(ami, Action="CoreShowChannels"),
                lambda ms: not any(m.get("Event") == "CoreShowChannel" for m in ms),
                within=20,
                what="the call over",
            )
            proxy.thaw()
            request = await the_request(service.store, State.DONE, within=30)
    assert (request.call_outcome, request.contact_outcome) == (
        CallOutcome.ANSWERED,
        ContactOutcome.ANSWERED,
    )
    assert proxy.connections >= 2  # it reconnected
    assert len(customer.invites()) == 1


async def test_a_wrong_ami_secret_is_logged_as_a_refused_login(
    sandbox: None, tmp_path: Path
) -> None:
    """Asterisk's own refusal (manager.c: "Authentication failed", then the connection
    closed), told apart from an Asterisk that cannot be reached."""
    service = ServiceProcess(
        tmp_path, store_path=str(tmp_path / "cb.sqlite3"), ami_secret="not-the-secret"
    )
    try:
        await service.start(until="AMI login refused by")
    finally:
        await service.kill9()  # a SIGTERM would wait for the start's 10 s for a login
    assert (
        f"AMI login refused by {current().host}:{AMI_PORT} as user callback: authentication"
        " failed (check the AMI secret and manager.conf)"
    ) in service.log()
    assert "AMI unreachable" not in service.log() and "ami logged in" not in service.log()
