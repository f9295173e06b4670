"""The profile and busy-PBX benchmarks (tests/bench/), run tiny so that they keep working:
the service in its own process, both flows, py-spy sampling it. No timing is asserted."""

import pytest
from panoramisk import Manager

from tests.support.scripts import run_script

# CPU-heavy: make test runs these after the parallel phase, alone.
pytestmark = pytest.mark.serial


async def test_profile_benchmark_runs(ami: Manager) -> None:  # ami: a reset PBX
    out = await run_script("tests.bench.profile_bench", "--py-spy")
    assert (
        "highest rate with 0 failed calls: baseline sqlite 2/s, full sqlite 2/s,"
        " baseline postgres 2/s, full postgres 2/s" in out
    )
    assert '"agi_commands": 1.0' in out  # one AGI round trip per request: the answer
    assert '"py_spy": {"samples": ' in out  # sampled (an idle service may give none)


async def test_busy_pbx_benchmark_runs(ami: Manager) -> None:  # ami: a reset PBX
    """Callers waiting and coming and going, the service stopped then running, and one ring
    delay of each kind: a live caller and a callback at the head."""
    out = await run_script("tests.bench.busy_bench")
    for window in ("service stopped", "service running"):
        assert f'"window": "{window}"' in out and f"{window}, mean of 1:" in out
    assert "ring delay, live at the head" in out and "ring delay, callback at the head" in out
    assert '"in_queue_at_end": 0' not in out  # the waiting callers were there throughout
