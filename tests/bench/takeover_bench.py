"""Benchmark: how soon a standby serves once the serving process is killed (-9) or cut off.

    python -m tests.bench.takeover_bench [--kills 10] [--waiting 5] [--cutoffs 3] [--timeout 1]

On the running sandbox (agents paused), two service processes (``python -m agi_app serve``)
share one PostgreSQL database (tests/bench/stores.py's durable cluster), as
tests/acceptance/test_standby.py's Pair, on the test bed's Asterisk (tests/support/testbed.py):
the first serves, the second stands by (FastAGI on STANDBY_AGI_PORT, web off), both with
``store_timeout`` T. Each sample stops the serving one and times, from that moment (the wall
clock at the signal) to the standby's log lines (their own millisecond timestamps):
- leads: "serving: this process leads" (the database gave it the lock and the lease);
- serves: "resume done" (then AMI login and the reconciliation with Asterisk are done too).
The stopped process is then started again, as the new standby, for the next sample.

Rounds, each on a fresh database and pair:
- killed, none waiting: ``--kills`` times SIGKILL, nothing to reconcile;
- killed, N waiting: ``--waiting`` callbacks wait as placeholders in queue support (stored
  before the pair starts, placed by the first leader), which each new leader reconciles;
  after every takeover they must still be the same placeholders at attempt 1 (kept, never
  placed again) and the lease's epoch one higher;
- cut off: ``--cutoffs`` times SIGSTOP (frozen, as a paused VM: the server ends its silent
  session after 2T), then SIGCONT: the old leader must find it lost the lease and exit
  non-zero (its supervisor starts it again, as a standby).
"""

import argparse
import asyncio
import json
import math
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import psycopg
from panoramisk import Manager

from agi_app.config.settings import Settings
from agi_app.domain.request import State
from agi_app.store.postgres import PgStore
from tests.bench.stores import durable_postgres
from tests.bench.waiting import quiet_pbx, stored_waiting
from tests.support.ami import ami_client, queue_callers, sandbox_secret
from tests.support.poll import eventually, eventually_local
from tests.support.postgres import PostgresServer
from tests.support.service_process import ServiceProcess
from tests.support.testbed import STANDBY_AGI_PORT, TESTBED_NUMBERS

# tests/acceptance/test_standby.py's, and docker/compose.yaml's standby (tests/unit/test_compose.py)
STANDBY_AGI = STANDBY_AGI_PORT
LEADS = "serving: this process leads"
SERVES = "resume done"
STANDS_BY = "standing by"


class Member(ServiceProcess):
    """A service process that can also be frozen and thawed."""

    def signal(self, number: signal.Signals) -> None:
        assert self._process is not None and self._process.returncode is None
        self._process.send_signal(number)

    def count(self, line: str) -> int:
        return self.log().count(line)

    def stamp(self, line: str, nth: int) -> float:
        """The wall-clock time of the ``nth`` (from 0) log line holding ``line``."""
        found = [text for text in self.log().splitlines() if line in text]
        # logging's default asctime: local time, milliseconds after a comma
        return datetime.strptime(found[nth][:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


class Pair:
    def __init__(self, workdir: Path, url: str, timeout: float) -> None:
        common = {
            "store_url": url,
            "store_timeout": str(timeout),
            "ami_ping_interval": "0.5",
            "ami_secret_file": str(sandbox_secret("callback")),
            "allowed_number_prefixes": json.dumps(TESTBED_NUMBERS),
            "web_enabled": "false",
        }
        (workdir / "a").mkdir(parents=True)
        (workdir / "b").mkdir()
        self.url = url
        self.serving = Member(workdir / "a", **common)
        self.standby = Member(workdir / "b", **common, agi_port=str(STANDBY_AGI))

    async def start(self) -> None:
        await self.serving.start(within=30)
        await self.stand_by(self.standby)

    @staticmethod
    async def stand_by(member: Member) -> None:
        before = member.count(STANDS_BY)
        await member.start(within=30, until="service up")
        await eventually_local(
            lambda: member.count(STANDS_BY) > before, bool, within=15, what="standing by"
        )

    async def stop(self) -> None:
        await self.serving.stop()
        await self.standby.stop()


def epoch(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT epoch FROM serving_lease").fetchone()
    assert row is not None
    return int(row[0])


async def placeholders(ami: Manager) -> set[str]:
    return {
        e["Uniqueid"]
        for e in await queue_callers(ami, "support")
        if not e["Channel"].startswith("PJSIP/")
    }


async def waiting_at_first_attempt(url: str, n: int, ami: Manager) -> set[str]:
    """All ``n`` wait, each placed once: its placeholder at attempt 1 in queue support."""
    async with PgStore.open(url, pool_size=1) as store:
        waiting = await eventually(
            lambda: store.requests(State.WAITING),
            lambda rs: len(rs) == n,
            within=30,
            what=f"{n} waiting",
        )
    assert all(r.attempt == 1 for r in waiting), [(r.id, r.attempt) for r in waiting]
    expected = {f"cb-{r.id}-1-q" for r in waiting}
    found = await placeholders(ami)
    assert found == expected, (found, expected)
    return found


async def takeover(pair: Pair, how: signal.Signals, timeout: float) -> dict[str, float]:
    """Stop the serving one by ``how``; times to the standby leading and serving."""
    old, new = pair.serving, pair.standby
    leads, serves, was = new.count(LEADS), new.count(SERVES), epoch(pair.url)
    at = time.time()
    old.signal(how)
    await eventually_local(
        lambda: new.count(SERVES) > serves, bool, within=4 * timeout + 20, what="takeover"
    )
    sample = {"leads_s": new.stamp(LEADS, leads) - at, "serves_s": new.stamp(SERVES, serves) - at}
    assert epoch(pair.url) == was + 1
    pair.serving, pair.standby = new, old
    return sample


async def killed(pair: Pair, timeout: float) -> dict[str, float]:
    """kill -9 of the serving process; the old one is reaped."""
    sample = await takeover(pair, signal.SIGKILL, timeout)
    await pair.standby.kill9()
    return sample


async def cut_off(pair: Pair, timeout: float) -> dict[str, float]:
    """SIGSTOP of the serving process; thawed, it must see it lost the lease and exit non-zero."""
    sample = await takeover(pair, signal.SIGSTOP, timeout)
    frozen = pair.standby
    thawed = time.monotonic()
    frozen.signal(signal.SIGCONT)
    code = await frozen.died(within=4 * timeout + 20)
    assert code != 0, f"the old leader exited with {code}"
    sample["exit_s"], sample["exit_code"] = time.monotonic() - thawed, code
    return sample


async def series(
    pair: Pair,
    case: str,
    fault: Callable[[Pair, float], Awaitable[dict[str, float]]],
    n: int,
    waiting: int,
    timeout: float,
) -> list[dict[str, float]]:
    """``n`` takeovers by ``fault``; the waiting callbacks keep their placeholders each time."""
    samples = []
    async with ami_client() as ami:
        kept = await waiting_at_first_attempt(pair.url, waiting, ami) if waiting else set()
        for i in range(n):
            sample = await fault(pair, timeout)
            if waiting:
                assert await waiting_at_first_attempt(pair.url, waiting, ami) == kept
            print(json.dumps({"case": case, "waiting": waiting, **sample}), flush=True)
            samples.append(sample)
            if i < n - 1:
                await pair.stand_by(pair.standby)
    return samples


async def round_(
    server: PostgresServer, workdir: Path, timeout: float, waiting: int, n_kills: int, n_cuts: int
) -> dict[str, list[dict[str, float]]]:
    await quiet_pbx()
    url = server.new_database()
    if waiting:  # migrated by the opening, stored before the pair starts
        await stored_waiting(Settings(store_url=url), waiting, f"takeover-{workdir.name}")
    pair = Pair(workdir, url, timeout)
    try:
        await pair.start()
        done = {"killed": await series(pair, "killed", killed, n_kills, waiting, timeout)}
        if n_cuts:
            if n_kills:  # the last kill left no standby
                await pair.stand_by(pair.standby)
            done["cut off"] = await series(pair, "cut off", cut_off, n_cuts, waiting, timeout)
        return done
    finally:
        await pair.stop()
        await quiet_pbx()


def summary(values: list[float]) -> str:
    """min / median / p90 / max in milliseconds (p90: nearest rank)."""
    ordered = sorted(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    picks = (ordered[0], statistics.median(ordered), p90, ordered[-1])
    return " / ".join(f"{v * 1000:.0f}" for v in picks)


async def run(args: argparse.Namespace) -> None:
    rows: list[tuple[str, list[dict[str, float]]]] = []
    with durable_postgres() as server, tempfile.TemporaryDirectory() as tmp:
        if not args.smoke:
            idle = await round_(server, Path(tmp) / "idle", args.timeout, 0, args.kills, 0)
            rows.append(("killed (-9), none waiting", idle["killed"]))
        busy = await round_(
            server, Path(tmp) / "busy", args.timeout, args.waiting, args.kills, args.cutoffs
        )
        rows.append((f"killed (-9), {args.waiting} waiting", busy["killed"]))
        if args.cutoffs:
            rows.append((f"cut off (SIGSTOP), {args.waiting} waiting", busy["cut off"]))
    t = args.timeout
    print(f"takeover, T = store_timeout = {t:g} s (cut-off bound 2T = {2 * t:g} s); ms")
    head = ("case", "samples", "leads min/med/p90/max", "serves min/med/p90/max")
    print(f"{head[0]:<34} {head[1]:>7}  {head[2]:>24}  {head[3]:>24}")
    for name, samples in rows:
        leads = summary([s["leads_s"] for s in samples])
        serves = summary([s["serves_s"] for s in samples])
        print(f"{name:<34} {len(samples):>7}  {leads:>24}  {serves:>24}")
    for name, samples in rows:
        if samples and "exit_s" in samples[0]:
            exits = ", ".join(f"{s['exit_code']:.0f} after {s['exit_s']:.2f} s" for s in samples)
            print(f"{name}: the old leader, thawed, exited with {exits}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--waiting", type=int, default=5, help="callbacks waiting meanwhile")
    parser.add_argument("--cutoffs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1.0, help="store_timeout, T (s)")
    parser.add_argument("--smoke", action="store_true", help="one kill, one cut-off")
    args = parser.parse_args()
    if args.smoke:
        args.kills, args.waiting, args.cutoffs = 1, 1, 1
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
