"""The profile benchmark (tests/bench/profile_bench.py), run tiny so that it keeps working:
the service in its own process, both flows, py-spy sampling it. No timing is asserted."""

from panoramisk import Manager

from tests.acceptance.test_bench_smoke import run_script


async def test_profile_benchmark_runs(ami: Manager) -> None:  # ami: a reset PBX
    out = await run_script("tests.bench.profile_bench", "--py-spy")
    assert "highest rate with 0 failed calls: baseline 2/s, full 2/s" in out
    assert '"agi_commands": 2.0' in out  # the full flow's AGI round trips were seen
    assert '"py_spy": {"samples": ' in out  # sampled (an idle service may give none)
