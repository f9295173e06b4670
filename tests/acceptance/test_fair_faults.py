"""Fair through faults: a restart of Asterisk keeps every waiting callback's turn, costs no
placement attempts, and a placement that fails keeps its place at the head of the line."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.lifecycle import MAX_ATTEMPTS
from agi_app.domain.request import CallOutcome, State
from agi_app.store.open import ServiceStore, StoreConfig, open_store
from tests.acceptance.calls import Phones, hang_up_agent, stored_requests, the_request
from tests.support.ami import ami_client, eventually, queue_callers
from tests.support.testbed import AGENTS, current
from tests.support.uas import Behaviour


async def sandbox(command: str) -> None:
    """``docker/sandbox COMMAND`` on the worker's Asterisk, off the event loop."""
    await asyncio.to_thread(current().asterisk.sandbox, command)


async def first_offers(store: ServiceStore, since: datetime) -> list[str]:
    """Request ids in the order agents were first offered them after ``since``."""
    offered: list[tuple[datetime, str]] = []
    for request in await store.requests():
        times = [e.at for e in await store.events(request.id) if e.event == "Offered"]
        times = [t for t in times if t >= since]
        if times:
            offered.append((min(times), request.id))
    return [request_id for _, request_id in sorted(offered)]


async def test_a_restart_of_asterisk_keeps_the_order_and_costs_no_attempts(
    restarts_asterisk: None, ami: Manager, settings: Settings, phones: Phones
) -> None:
    """Four callbacks wait with the agents paused; Asterisk restarts, and the agents come
    back available (answering): the callbacks are offered in their order, each placed
    again once, and the restart counts against none of them."""
    for port, name in ((5071, "agent1"), (5072, "agent2"), (5073, "agent3")):
        await phones.start(port, Behaviour.ANSWER, name)
    await phones.start(5090, Behaviour.ANSWER, "carrier")
    numbers = [f"+155512310{n:02d}" for n in range(1, 5)]  # oldest first
    await stored_requests(settings, numbers)
    fast = settings.model_copy(update={"ami_ping_interval": 0.5})
    async with Service(fast) as service:
        assert service.store is not None
        store = service.store
        await eventually(
            lambda: queue_callers(ami, "support"), lambda es: len(es) == 4, within=20, what="4"
        )
        restart = datetime.now(UTC)
        await sandbox("down")
        await sandbox("up")  # the agents come back unpaused, and answer
        async with ami_client() as fresh:
            three = await eventually(
                lambda: store.requests(State.CONNECTED),
                lambda rs: len(rs) == 3,
                within=40,
                what="three agents took three",
            )
            assert three[0].agent is not None
            await hang_up_agent(fresh, three[0].agent)  # the fourth is next for that agent
            await eventually(
                lambda: store.requests(State.CONNECTED, State.DONE),
                lambda rs: len(rs) == 4,
                within=40,
                what="all four served",
            )
            for agent in AGENTS:
                await hang_up_agent(fresh, agent)
        by_id = {r.id: r for r in await store.requests()}
        offers = await first_offers(store, restart)
    assert [by_id[i].callback_number for i in offers] == numbers
    for request in by_id.values():
        assert request.placement_failures == 0, request
        assert request.call_outcome is None or request.call_outcome.value == "Answered Call"
        # Placed once before the restart, and once (rarely twice) after it.
        assert 2 <= request.attempt <= 3, request


async def test_a_failing_placement_keeps_the_head_of_the_line(
    ami: Manager, settings: Settings
) -> None:
    """The first request's placement is refused every time (its stored extension is not
    something the service will pass to Asterisk): nobody behind it is placed until it has
    used up its attempts, which only such refusals count."""
    numbers = ["+15551231101", "+15551231102"]
    await stored_requests(settings, numbers)
    async with open_store(StoreConfig.of(settings)) as kept:
        first = next(r for r in await kept.requests() if r.callback_number == numbers[0])
        # No timeout prompt: its informative call would outlive the test.
        tampered = replace(first, extension="1,2", timeout_prompt=None)
        await kept.save(first, tampered, "Tampered", first.requested_at)
    async with Service(settings) as service:
        assert service.store is not None
        store = service.store
        (failed,) = await eventually(
            lambda: store.requests(State.DONE),
            lambda rs: len(rs) == 1,
            within=60,
            what="the first one given up",
        )
        await eventually(
            lambda: queue_callers(ami, "support"), lambda es: len(es) == 1, within=20, what="1"
        )
        # In the queue, then recorded as waiting: on a busy machine the store may lag a little.
        second = await the_request(store, State.WAITING, within=10)
        failed_events = await store.events(failed.id)
        second_placed = [e.at for e in await store.events(second.id) if e.event == "Placed"]
    assert failed.callback_number == numbers[0]
    assert (failed.call_outcome, failed.placement_failures) == (CallOutcome.ERROR, MAX_ATTEMPTS)
    given_up = max(e.at for e in failed_events)
    assert second_placed and min(second_placed) >= given_up  # never placed ahead of it
