"""Active and standby as separate processes (tests/support/leader_process.py): the leader
killed (-9) or frozen, the standby takes over within the bound
agi_app/store/postgres/leadership.py states, and a frozen leader that wakes finds it lost the
role.

The times are measured from the signal to the moment the standby says it leads.
"""

import signal
import time
from collections.abc import AsyncIterator

import pytest
from psycopg import AsyncConnection

from agi_app.store.postgres import PgStore
from tests.integration.pg_locks import session, waiting
from tests.support.leader_process import LeaderProcess
from tests.support.poll import eventually_local

T = 1.0  # the processes' timeout: a silent leader's session ends after 2 s
KILLS = 3


@pytest.fixture
async def test_session(postgres_url: str) -> AsyncIterator[AsyncConnection[tuple[object, ...]]]:
    async with PgStore.open(postgres_url), session(postgres_url) as conn:  # migrated
        yield conn


@pytest.fixture
async def processes(postgres_url: str) -> AsyncIterator[list[LeaderProcess]]:
    started: list[LeaderProcess] = []
    try:
        yield started
    finally:
        for process in started:
            await process.stop()


async def start(postgres_url: str, processes: list[LeaderProcess], name: str) -> LeaderProcess:
    process = LeaderProcess(postgres_url, T, name)
    processes.append(process)
    await process.start()
    return process


async def leads(process: LeaderProcess, epoch: int, within: float) -> float:
    """When ``process`` said it leads at ``epoch`` (monotonic)."""
    line = f"leading {epoch}"
    await eventually_local(
        lambda: process.lines, lambda lines: line in lines, within=within, what=process.name + line
    )
    return process.seen[line]


async def test_a_standby_takes_over_at_once_each_time_the_leader_is_killed(
    postgres_url: str,
    test_session: AsyncConnection[tuple[object, ...]],
    processes: list[LeaderProcess],
) -> None:
    leader = await start(postgres_url, processes, "p0")
    await leads(leader, 1, within=20)
    took = []
    for epoch in range(2, KILLS + 2):
        standby = await start(postgres_url, processes, f"p{epoch - 1}")
        await waiting(test_session, "advisory", 1, "the standby at the serving lock")
        killed = time.monotonic()
        leader.signal(signal.SIGKILL)
        took.append(await leads(standby, epoch, within=10) - killed)
        leader = standby
    # How fast is the benchmark's to measure (tests/bench/takeover_bench.py), not a test's:
    # each standby led, with the next epoch, well within its deadline.
    print("takeover after kill -9:", ", ".join(f"{t:.3f} s" for t in took))


async def test_a_frozen_leader_is_replaced_within_twice_the_timeout_and_finds_it_lost(
    postgres_url: str,
    test_session: AsyncConnection[tuple[object, ...]],
    processes: list[LeaderProcess],
) -> None:
    """SIGSTOP: the process's kernel still answers TCP; the server ends its silent session
    (idle_session_timeout), as for a leader cut off from the database."""
    leader = await start(postgres_url, processes, "frozen")
    await leads(leader, 1, within=20)
    standby = await start(postgres_url, processes, "standby")
    await waiting(test_session, "advisory", 1, "the standby at the serving lock")
    frozen = time.monotonic()
    leader.signal(signal.SIGSTOP)
    took = await leads(standby, 2, within=10) - frozen
    print(f"takeover after the leader froze: {took:.3f} s")
    assert took < 2 * T + 1.5
    leader.signal(signal.SIGCONT)
    await eventually_local(
        lambda: leader.lines, lambda lines: "lost" in lines, within=5, what="the old one lost"
    )
    assert "lost" not in standby.lines
