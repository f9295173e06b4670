"""The takeover benchmark, run tiny so that it keeps working (no timing is asserted): one kill
and one cut-off of the serving process, with a callback waiting that the standby keeps."""

import pytest
from panoramisk import Manager

from tests.support.scripts import run_script

# CPU-heavy: make test runs these after the parallel phase, alone.
pytestmark = pytest.mark.serial


async def test_takeover_benchmark_runs(ami: Manager) -> None:  # ami: a reset PBX
    out = await run_script("tests.bench.takeover_bench")
    assert "killed (-9), 1 waiting" in out and "cut off (SIGSTOP), 1 waiting" in out
    assert "the old leader, thawed, exited with 1 after" in out
