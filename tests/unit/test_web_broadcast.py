"""One Live view snapshot for all SSE clients: counted, not timed."""

import asyncio
from collections.abc import Callable

import pytest

from agi_app.web_broadcast import Broadcaster, Full, Snapshot
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
    broadcaster = Broadcaster(
        compute, lambda: source.event, max_clients=1000, refresh_s=3600, min_gap_s=0
    )
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
    broadcaster = Broadcaster(compute, lambda: source.event, max_clients=2, refresh_s=3600)
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


async def test_clients_past_the_cap_are_refused_until_one_leaves() -> None:
    async def compute() -> Snapshot:
        return {}

    broadcaster = Broadcaster(compute, asyncio.Event, max_clients=2)
    broadcaster.join()
    broadcaster.join()
    with pytest.raises(Full):
        broadcaster.join()
    broadcaster.leave()
    broadcaster.join()
    assert broadcaster.clients == 2
    broadcaster.leave()
    broadcaster.leave()


async def test_a_failed_snapshot_is_retried_not_fatal() -> None:
    calls = 0

    async def compute() -> Snapshot:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("store busy")
        return {"ok": True}

    broadcaster = Broadcaster(compute, asyncio.Event, max_clients=1, refresh_s=0.01)
    broadcaster.join()
    try:
        updates = broadcaster.updates()
        snapshot, encoded = await asyncio.wait_for(anext(updates), 5)
        assert snapshot == {"ok": True} and encoded == b'{"ok": true}'
    finally:
        broadcaster.leave()
