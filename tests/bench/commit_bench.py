"""Benchmark: the SQLite store's group commit against one commit per write, in the same run.

    python -m tests.bench.commit_bench [--writers 1,8,50] [--requests 2000] [--runs 3]

Each of ``writers`` concurrent tasks stores new requests and then holds each (``add``, then
a ``save`` as serving's hold: two durable writes a request, as the request path and serving
make), on a new file each run. Variants, interleaved run by run, the median of ``runs``:
- grouped: the store as shipped (agi_app/store/sqlite/connection.py ``write``: the writes
  asked for while the thread is busy join one transaction, one fsync);
- one by one: the same store with each write its own trip and transaction (``run``), as
  before the group commit.
Per variant: durable writes a second, each write's latency p50/p99 (asked to committed), and
the mean group (writes per transaction: the groups the thread ran are counted).
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from agi_app.domain import lifecycle as lc
from agi_app.domain.request import State
from agi_app.store.sqlite import connection
from agi_app.store.sqlite.connection import Connection
from agi_app.store.sqlite.store import Store
from tests.support.store_samples import NOW, REQUEST

VARIANTS = ("grouped", "one by one")


@contextmanager
def one_by_one(enabled: bool) -> Iterator[None]:
    """Every write its own trip and transaction (Connection.write as Connection.run)."""
    if not enabled:
        yield
        return
    grouped = Connection.write

    async def lone(self: Connection, what: str, work: Callable[..., Any], *a: Any) -> Any:
        return await self.run(what, work, *a)

    Connection.write = lone  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Connection.write = grouped  # type: ignore[method-assign]


async def one_run(path: Path, writers: int, requests: int) -> tuple[float, list[float], float]:
    """Writes a second, each write's seconds, writes per COMMIT."""
    latencies: list[float] = []
    groups = 0
    run_group = connection._run_group

    def counted(conn: Any, group: Any, loop: Any) -> None:
        nonlocal groups
        groups += 1
        run_group(conn, group, loop)

    connection._run_group = counted
    try:
        async with Store.open(path) as store:

            async def timed(write: Any) -> Any:
                asked = time.perf_counter()
                result = await write
                latencies.append(time.perf_counter() - asked)
                return result

            async def writer(first: int) -> None:
                for n in range(first, requests, writers):
                    number = f"+1555{n:07d}"
                    request = replace(
                        REQUEST, id=f"r{n}", channel=f"1795650000.{n}",
                        callback_number=number, caller_number=number,
                    )  # fmt: skip
                    stored = await timed(store.add(request))
                    event = lc.HoursClosed(NOW + timedelta(hours=1), expire=False, at=NOW)
                    after, _ = lc.transition(stored, event)
                    assert after.state is State.PENDING and after != stored
                    await timed(store.save(stored, after, "HoursClosed", NOW, {}))

            start = time.perf_counter()
            await asyncio.gather(*(writer(w) for w in range(writers)))
            seconds = time.perf_counter() - start
    finally:
        connection._run_group = run_group
    writes = 2 * requests
    # One by one, each write is its own transaction (the thread runs no group).
    return writes / seconds, latencies, writes / groups if groups else 1.0


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def run(writers_list: list[int], requests: int, runs: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for writers in writers_list:
            results: dict[str, list[tuple[float, list[float], float]]] = {v: [] for v in VARIANTS}
            for i in range(runs):
                for variant in VARIANTS:
                    path = Path(tmp) / f"{writers}-{i}-{variant.replace(' ', '-')}.sqlite3"
                    with one_by_one(variant == "one by one"):
                        results[variant].append(await one_run(path, writers, requests))
            for variant, got in results.items():
                rate = statistics.median(r[0] for r in got)
                median_run = sorted(got, key=lambda r: r[0])[len(got) // 2]
                rows.append({
                    "writers": writers, "variant": variant, "writes_per_s": rate,
                    "p50_ms": _pct(median_run[1], 0.5), "p99_ms": _pct(median_run[1], 0.99),
                    "writes_per_commit": median_run[2],
                })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", default="1,8,50")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny, to keep it working")
    args = parser.parse_args()
    writers = [int(w) for w in args.writers.split(",")]
    requests, runs = (40, 1) if args.smoke else (args.requests, args.runs)
    rows = asyncio.run(run(writers, requests, runs))
    print(
        f"{'writers':>8} {'variant':<11}{'writes/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'per COMMIT':>11}{'grouped / one by one':>22}"
    )
    lone = {r["writers"]: r["writes_per_s"] for r in rows if r["variant"] == "one by one"}
    for r in rows:
        print(
            f"{r['writers']:>8} {r['variant']:<11}{r['writes_per_s']:>10.0f}{r['p50_ms']:>9.2f}"
            f"{r['p99_ms']:>9.2f}{r['writes_per_commit']:>11.1f}"
            f"{r['writes_per_s'] / lone[r['writers']]:>22.2f}"
        )


if __name__ == "__main__":
    main()
