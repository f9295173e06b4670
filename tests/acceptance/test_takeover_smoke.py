"""The takeover benchmark, run tiny so that it keeps working (no timing is asserted): one kill
and one cut-off of the serving process, with a callback waiting that the standby keeps."""

from panoramisk import Manager

from tests.acceptance.test_bench_smoke import run_script


async def test_takeover_benchmark_runs(ami: Manager) -> None:  # ami: a reset PBX
    out = await run_script("tests.bench.takeover_bench")
    assert "killed (-9), 1 waiting" in out and "cut off (SIGSTOP), 1 waiting" in out
    assert "the old leader, thawed, exited with 1 after" in out
