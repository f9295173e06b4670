"""The phone intake's write on PostgreSQL is pipelined: three round trips to the server (BEGIN
with the numbers' locks and the rate limits' count; the insert; the event, the notice and
COMMIT), counted on libpq's own trace of the protocol; and a refused or failed one leaves
nothing behind and its connection fit for the next."""

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from agi_app.domain.errors import RateLimited
from agi_app.domain.request import RateLimits
from agi_app.store.postgres import PgStore
from tests.support.store_samples import REQUEST


def _round_trips(trace: str) -> int:
    """Each time the client, having sent, hears the server: one round trip."""
    sides = [line.split("\t")[1] for line in trace.splitlines() if line.count("\t") >= 3]
    return sum(1 for pair in pairwise(sides) if pair == ("F", "B"))


@contextmanager
def traced(store: PgStore) -> Iterator[list[str]]:
    """libpq's protocol trace of every connection the store takes meanwhile."""
    pool: Any = store._pool  # the test watches the store's own connections
    taken = pool.connection
    fd, path = tempfile.mkstemp()
    traces: list[str] = []

    @asynccontextmanager
    async def connection(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with taken(*args, **kwargs) as conn:
            conn.pgconn.trace(fd)
            try:
                yield conn
            finally:
                conn.pgconn.untrace()

    pool.connection = connection
    try:
        yield traces
    finally:
        pool.connection = taken
        os.close(fd)
        with open(path) as f:
            traces.append(f.read())
        os.unlink(path)


async def test_a_new_request_is_three_round_trips(postgres_url: str) -> None:
    async with PgStore.open(postgres_url) as store:
        with traced(store) as traces:
            stored = await store.add(REQUEST, RateLimits())
        assert stored == REQUEST
        assert _round_trips(traces[0]) == 3
        assert [e.event for e in await store.events(REQUEST.id)] == ["requested"]


async def test_a_refused_request_leaves_nothing_and_the_connection_fit(postgres_url: str) -> None:
    limits = RateLimits(per_caller=1, per_destination=0, window=timedelta(hours=1))
    async with PgStore.open(postgres_url) as store:
        await store.add(REQUEST, limits)
        second = replace(REQUEST, id="r2", channel="1795650000.2", queue="sales")
        for _ in range(3):  # the pool's connections, each refused once at least
            with pytest.raises(RateLimited):
                await store.add(second, limits)
        assert await store.get("r2") is None
        other = "+15551230003"
        third = replace(
            REQUEST, id="r3", channel="1795650000.3", caller_number=other, callback_number=other
        )
        assert await store.add(third, limits) == third  # the connections work on
        assert [r.id for r in await store.requests()] == ["r1", "r3"]
