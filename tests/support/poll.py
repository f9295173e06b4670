"""The one way tests wait: poll a condition until it holds, or fail at a deadline.

Never a guessed sleep: the probe is read every few milliseconds and the test goes on as soon
as the condition holds; on time-out the failure names what was awaited and the last value.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL = 0.05


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    within: float,
    what: str,
    interval: float = INTERVAL,
) -> T:
    """Poll ``probe`` until ``accept`` holds; fail after ``within`` seconds with the last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if accept(value):
            return value
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"{what}: not within {within}s (last: {value!r})")
        await asyncio.sleep(min(interval, remaining))


async def eventually_local(
    probe: Callable[[], T],
    accept: Callable[[T], bool],
    *,
    within: float,
    what: str,
    interval: float = INTERVAL,
) -> T:
    """``eventually`` for state the test holds itself (a phone's trace, collected events)."""

    async def read() -> T:
        return probe()

    return await eventually(read, accept, within=within, what=what, interval=interval)
