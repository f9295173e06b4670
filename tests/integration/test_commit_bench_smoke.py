"""The group commit benchmark (tests/bench/commit_bench.py), run tiny so that it keeps working:
both variants on a real SQLite file; the grouped one did group (no timing is asserted)."""

from tests.support.scripts import run_script


async def test_commit_benchmark_runs() -> None:
    out = await run_script("tests.bench.commit_bench", "--writers", "1,8")
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["1"], ["8"])]
    grouped = {int(r[0]): float(r[5]) for r in rows if r[1] == "grouped"}
    one_by_one = {int(r[0]): float(r[7]) for r in rows if r[1:3] == ["one", "by"]}
    assert grouped[1] == 1.0 and one_by_one == {1: 1.0, 8: 1.0}  # writes per transaction
    assert grouped[8] > 1.0  # eight writers asking at once: their writes shared commits
