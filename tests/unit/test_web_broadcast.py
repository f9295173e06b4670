"""One Live view snapshot for all SSE clients: counted, not timed; and the limits on open
streams, per credential and per pool (agents apart from viewers and supervisors)."""

import asyncio
from collections.abc import Callable

import pytest

from agi_app.config.credentials import Principal, Role
from agi_app.web.broadcast import Broadcaster, Full, Snapshot, StreamLimits
from tests.support.poll import eventually_local


class Changes:
    """Stands in for Serving.changed: an event replaced after each change."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def fire(self) -> None:
        self.event.set()
        self.event = asyncio.Event()


async def until(check: Callable[[], bool], what: str) -> None:
    # Yield to the event loop (interval 0) until the broadcaster's task has done it.
    await eventually_local(check, bool, within=5, what=what, interval=0)


async def snapshots_computed(clients: int, changes: int) -> int:
    """Snapshots computed while ``clients`` watch ``changes`` changes (no timer ticks)."""
    computed = 0

    async def compute() -> Snapshot:
        nonlocal computed
        computed += 1
        return {"version": computed}

    source = Changes()
    broadcaster = Broadcaster(compute, lambda: source.event, refresh_s=3600, min_gap_s=0)
    seen = [0] * clients

    async def client(i: int) -> None:
        broadcaster.join()
        try:
            async for snapshot, _encoded in broadcaster.updates():
                seen[i] = snapshot["version"]
        finally:
            broadcaster.leave()

    tasks = [asyncio.ensure_future(client(i)) for i in range(clients)]
    for version in range(1, changes + 1):
        await until(lambda: min(seen) == version, f"every client saw snapshot {version}")  # noqa: B023
        source.fire()
    await until(lambda: min(seen) == changes + 1, "every client saw the last snapshot")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert broadcaster.clients == 0
    assert broadcaster.computed == computed
    return computed


async def test_two_hundred_clients_cost_the_same_snapshots_as_one() -> None:
    one = await snapshots_computed(clients=1, changes=5)
    many = await snapshots_computed(clients=200, changes=5)
    assert one == many == 6  # the first, then one per change


async def test_nothing_is_computed_while_nobody_watches() -> None:
    computed = 0

    async def compute() -> Snapshot:
        nonlocal computed
        computed += 1
        return {}

    source = Changes()
    broadcaster = Broadcaster(compute, lambda: source.event, refresh_s=3600)
    source.fire()
    await asyncio.sleep(0.01)
    assert computed == 0
    broadcaster.join()
    await until(lambda: computed == 1, "a snapshot once someone watches")
    broadcaster.leave()
    await asyncio.sleep(0.01)
    source.fire()
    await asyncio.sleep(0.01)
    assert computed == 1  # the task stopped with the last client


AGENT1 = Principal("agent1", Role.AGENT, "PJSIP/agent1")
AGENT2 = Principal("agent2", Role.AGENT, "PJSIP/agent2")
BOSS = Principal("ann", Role.SUPERVISOR)
WALL = Principal("wallboard", Role.VIEWER)


def test_one_credential_holds_its_most_and_no_more() -> None:
    limits = StreamLimits(pool=100, per_credential=3)
    taken = [limits.take(AGENT1) for _ in range(3)]
    with pytest.raises(Full) as refused:
        limits.take(AGENT1)
    assert refused.value.status == 429
    assert "'agent1' has 3 live streams open" in refused.value.message
    limits.take(AGENT2)  # another agent's credential is not held back by agent1's
    taken[0]()
    taken[0]()  # given back once, however often called
    limits.take(AGENT1)
    assert limits.by_name["agent1"] == 3 and limits.by_pool["agents"] == 4


def test_a_credential_may_name_its_own_most() -> None:
    limits = StreamLimits(pool=100, per_credential=2)
    wall = Principal("wallboard", Role.VIEWER, max_streams=5)
    for _ in range(5):
        limits.take(wall)
    with pytest.raises(Full):
        limits.take(wall)
    small = StreamLimits(pool=3, per_credential=10)  # never past the pool, whatever it names
    for _ in range(3):
        small.take(wall)
    with pytest.raises(Full):
        small.take(wall)


def test_agents_cannot_take_the_places_of_supervisors() -> None:
    limits = StreamLimits(pool=4, per_credential=2)
    agents = [Principal(f"agent{n}", Role.AGENT, f"PJSIP/agent{n}") for n in range(1, 4)]
    for agent in agents[:2]:
        limits.take(agent)
        limits.take(agent)
    with pytest.raises(Full) as refused:
        limits.take(agents[2])  # the agents' pool is full ...
    assert refused.value.status == 503 and "agents" in refused.value.message
    limits.take(BOSS)  # ... the viewers' and supervisors' is not
    limits.take(WALL)
    assert limits.by_pool == {"agents": 4, "viewers and supervisors": 2}


def test_clients_past_the_pool_are_refused_until_one_leaves() -> None:
    limits = StreamLimits(pool=2)
    give_back = limits.take(BOSS)
    limits.take(WALL)
    with pytest.raises(Full) as refused:
        limits.take(Principal("web_token", Role.SUPERVISOR))
    assert refused.value.status == 503
    give_back()
    limits.take(Principal("web_token", Role.SUPERVISOR))
    assert limits.by_pool["viewers and supervisors"] == 2


async def test_a_failed_snapshot_is_retried_not_fatal() -> None:
    calls = 0

    async def compute() -> Snapshot:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("store busy")
        return {"ok": True}

    broadcaster = Broadcaster(compute, asyncio.Event, refresh_s=0.01)
    broadcaster.join()
    try:
        updates = broadcaster.updates()
        snapshot, encoded = await asyncio.wait_for(anext(updates), 5)
        assert snapshot == {"ok": True} and encoded == b'{"ok": true}'
    finally:
        broadcaster.leave()
