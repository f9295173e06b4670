"""Rate limits per caller number and per callback number, counted by the store."""

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from agi_app.domain.request import RateLimits, State
from agi_app.errors import RateLimited
from agi_app.store import Store
from tests.integration.test_store import NOW, REQUEST


def nth(n: int, *, caller: str, callback: str, queue: str = "support", minutes: int = 0):  # type: ignore[no-untyped-def]
    return replace(
        REQUEST,
        id=f"r{n}",
        channel=f"1795650000.{n}",
        caller_number=caller,
        callback_number=callback,
        queue=queue,
        requested_at=NOW + timedelta(minutes=minutes),
    )


async def test_one_caller_cannot_ask_for_callbacks_to_many_numbers(tmp_path: Path) -> None:
    limits = RateLimits(per_caller=3, per_destination=0)
    async with Store.open(tmp_path / "cb.sqlite3") as store:
        for n in range(3):
            await store.add(nth(n, caller="+15551230001", callback=f"+1555124000{n}"), limits)
        with pytest.raises(RateLimited, match="from this caller"):
            await store.add(nth(3, caller="+15551230001", callback="+15551240003"), limits)
        assert len(await store.requests()) == 3
        # Another caller is not affected, and an hour later the first may ask again.
        await store.add(nth(4, caller="+15551230002", callback="+15551240004"), limits)
        later = nth(5, caller="+15551230001", callback="+15551240005", minutes=61)
        assert await store.add(later, limits) == later


async def test_many_callers_cannot_pump_calls_to_one_number(tmp_path: Path) -> None:
    limits = RateLimits(per_caller=0, per_destination=2)
    target = "+15551249999"
    async with Store.open(tmp_path / "cb.sqlite3") as store:
        await store.add(nth(0, caller="+15551230001", callback=target, queue="support"), limits)
        await store.add(nth(1, caller="+15551230002", callback=target, queue="sales"), limits)
        with pytest.raises(RateLimited, match="to this number"):
            await store.add(nth(2, caller="+15551230003", callback=target, queue="billing"), limits)
        assert {r.id for r in await store.requests()} == {"r0", "r1"}


async def test_a_repeat_of_an_active_request_is_answered_even_at_the_limit(tmp_path: Path) -> None:
    limits = RateLimits(per_caller=1, per_destination=1)
    async with Store.open(tmp_path / "cb.sqlite3") as store:
        first = await store.add(nth(0, caller="+15551230001", callback="+15551230001"), limits)
        again = nth(1, caller="+15551230001", callback="+15551230001", minutes=1)
        assert await store.add(again, limits) == first
        assert [e.event for e in await store.events(first.id)] == ["requested", "repeated"]
        assert [r.state for r in await store.requests()] == [State.PENDING]


async def test_withheld_callers_are_not_counted_as_one_caller(tmp_path: Path) -> None:
    limits = RateLimits(per_caller=1, per_destination=0)
    async with Store.open(tmp_path / "cb.sqlite3") as store:
        for n in range(3):
            await store.add(nth(n, caller="", callback=f"+1555124000{n}"), limits)
        assert len(await store.requests()) == 3
