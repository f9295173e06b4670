"""The benchmark scripts, run tiny so that they keep working (no timing is asserted)."""

import pytest
from panoramisk import Manager

from tests.support.scripts import run_script

# CPU-heavy: make test runs these after the parallel phase, alone.
pytestmark = pytest.mark.serial


async def test_fastagi_benchmark_runs() -> None:
    out = await run_script("tests.bench.fastagi_bench")  # on both stores
    for variant in ("ours sqlite", "ours postgres", "stock sqlite", "ceiling postgres"):
        assert variant in out


async def test_sip_benchmark_runs(ami: Manager) -> None:  # ami: a reset PBX
    out = await run_script("tests.bench.sip_bench")  # on both stores
    assert (
        "highest rate with 0 failed calls: baseline 2/s, full sqlite 2/s, full postgres 2/s"
    ) in out


async def test_scale_benchmark_runs(restarts_asterisk: None, ami: Manager) -> None:
    # One store (about 20 s each, with an Asterisk restart): PostgreSQL, the path that waits
    # for the database to make the service the leader; the others run SQLite too.
    out = await run_script("tests.bench.scale_bench", "--stores", "postgres")
    assert (
        '"store": "postgres"' in out
        and '"n": 20' in out
        and '"held": 5' in out
        and "replace_after_restart_s" in out
    )
