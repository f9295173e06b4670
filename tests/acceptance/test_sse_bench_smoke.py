"""The Live view benchmark (tests/bench/sse_bench.py), run tiny so that it keeps working."""

import pytest
from panoramisk import Manager

from tests.support.scripts import run_script

# CPU-heavy: make test runs these after the parallel phase, alone.
pytestmark = pytest.mark.serial


async def test_sse_benchmark_runs(ami: Manager) -> None:  # ami: a reset PBX
    out = await run_script("tests.bench.sse_bench")
    assert "| shared | 1 |" in out and "| shared | 3 |" in out
