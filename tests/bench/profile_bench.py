"""Benchmark: where the time goes on the request path over real SIP, the service in its own
process, against Asterisk alone in the same run.

    python -m tests.bench.profile_bench [--rates 80,150] [--seconds 10] [--flows baseline,full]
        [--stores sqlite,postgres] [--py-spy] [--out DIR] [--loop uvloop|asyncio] [--placement]
        [--no-ami] [--service-nice -10] [--service-cpus 1 [--others-cpus 0]]

The flows are sip_bench's, on the running sandbox: baseline (5982, Asterisk alone: Read,
Playback) and full (5981: Read, then the Callback component over FastAGI). Unlike sip_bench,
the service runs as production runs it: ``python -m agi_app serve`` in its own process, AMI
on with the ``callback`` account (so it receives every event that account is sent, from
every call), log level INFO, web off; on each store of --stores (SQLite, and PostgreSQL
with durable commits: tests/bench/stores.py); queue support closed, so that requests are
stored and held rather than placed (--placement places them: own_process.py). Each step
is one SIPp run at a fixed rate: a pass over the rates on each store in turn (its service
started once), the baseline and the full flow taking turns at each rate. Per step, per call:
- CPU ms of the service, Asterisk, SIPp and this driver, and how busy the machine was;
- the AMI events the callback account is sent (a second connection of that account counts
  them by name: the same account, the same eventfilters, the same events as the service);
- the AGI commands (round trips) and the phases of keypress to prompt (call_phases.py);
- failed calls (SIPp, or a request not stored), of which refused by agi_max_sessions;
- with --py-spy, where the service's samples fall (spy_profile.py).
"""

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import psycopg
from panoramisk import Manager
from panoramisk.message import Message

from tests.bench import call_phases, proc_cpu, spy_profile
from tests.bench.own_process import OwnProcess
from tests.bench.sip_bench import FLOWS, add_flows, press_one_callers
from tests.bench.stores import postgres_if, stores_option
from tests.support.ami import action, ami_client, cli

EXTENSIONS = {"baseline": FLOWS["baseline"][0], "full": FLOWS["full sqlite"][0]}
Row = dict[str, Any]


def stored(service: OwnProcess) -> int:
    """How many requests the service's store holds."""
    url = service.settings.get("store_url")
    if url:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM requests").fetchone()
            return int(row[0]) if row else 0
    if not service.store_path.exists():
        return 0
    with sqlite3.connect(f"file:{service.store_path}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM requests").fetchone()[0])


async def sipp(extension: str, rate: int, calls: int, workdir: Path, offset: int, cpus: str) -> int:
    """sip_bench's callers at ``rate``: the calls that failed (all, if SIPp wrote nothing)."""
    code, failed = await press_one_callers(extension, rate, calls, workdir, offset, cpus)
    failed = calls if failed is None else failed
    return failed if code == 0 else max(failed, 1)


class Bench:
    def __init__(self, args: argparse.Namespace, services: dict[str, OwnProcess]) -> None:
        self.args, self.services = args, services
        self.service = next(iter(services.values()))
        self.asterisk = proc_cpu.asterisk_pid()
        self.timeline = call_phases.Timeline()
        self.events: Counter[str] = Counter()
        self.offset = 0

    def count_event(self, _manager: Manager, event: Message) -> None:
        self.events[str(event.get("Event", ""))] += 1

    async def use(self, store: str) -> None:
        """The service on ``store`` running (the others stopped: they share FastAGI's port)."""
        wanted = self.services[store]
        if wanted is self.service and wanted.running:
            return
        await self.service.stop()
        self.service = wanted
        await wanted.start()
        if self.args.service_nice:
            proc_cpu.renice(wanted.pid, self.args.service_nice)
        if self.args.service_cpus:
            proc_cpu.pin_threads(wanted.pid, self.args.service_cpus)

    async def step(self, flow: str, rate: int, store: str) -> Row:
        calls = rate * self.args.seconds
        before_log, before_stored = len(self.service.log()), stored(self.service)
        self.timeline.take()
        self.events.clear()
        spy = None
        label = f"{flow}-{store}"
        if self.args.py_spy:
            output = (self.args.out or self.service.workdir) / f"py-spy-{label}-{rate}.raw"
            spy = spy_profile.Recording(self.service.pid, output)
            await spy.start()
        cpu = proc_cpu.snapshot(self.service.pid, self.asterisk)
        start = time.monotonic()
        failed = await sipp(
            EXTENSIONS[flow], rate, calls, self.service.workdir, self.offset, self.args.others_cpus
        )
        # The last calls' events, still on their way.
        await settled(lambda: sum(self.events.values()))
        used = proc_cpu.snapshot(self.service.pid, self.asterisk) - cpu
        seconds = time.monotonic() - start
        profile = await spy.stop() if spy else {}
        self.offset += calls
        done = self.timeline.take()
        log = self.service.log()[before_log:]
        row: Row = {"flow": flow, "store": store, "rate": rate}
        row.update(calls=calls, sipp_failed=failed, not_stored=0)
        if flow == "full":
            row["not_stored"] = calls - (stored(self.service) - before_stored)
        row["refused"] = log.count("fastagi busy")
        # A call SIPp failed is mostly one whose request is not stored too: counted once.
        row["failed"] = max(failed, row["not_stored"])
        totals = call_phases.summary(done)
        row["p50_ms"], row["p99_ms"] = totals["key to prompt p50"], totals["key to prompt p99"]
        for name in ("service", "asterisk", "sipp", "driver"):
            row[f"{name}_ms_per_call"] = getattr(used, name) / calls * 1000
        row["machine_busy"] = used.busy / used.capacity
        row["seconds"] = seconds
        row["ami_events_per_call"] = sum(self.events.values()) / calls
        row["ami_events"] = {k: v / calls for k, v in self.events.most_common()}
        row["phases"] = totals
        row["py_spy"] = profile
        return row


async def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, postgres_if(args.stores) as server:
        settings = {"log_level": args.log_level}
        if args.no_ami:
            settings["ami_enabled"] = "false"
        if args.loop:
            settings["event_loop"] = args.loop
        services = {}
        for store in args.stores:
            workdir = Path(tmp) / store
            workdir.mkdir()
            on = {"store_url": server.new_database()} if store == "postgres" and server else {}
            services[store] = OwnProcess(workdir, placement=args.placement, **settings, **on)
        asterisk = proc_cpu.asterisk_pid()
        async with AsyncExitStack() as stack:
            ami = await stack.enter_async_context(ami_client())
            await cli(ami, "channel request hangup all")
            bench = Bench(args, services)
            stack.push_async_callback(lambda: bench.service.stop())
            await bench.use(args.stores[0])
            if args.others_cpus:  # Asterisk, SIPp (sipp()) and this driver
                os.sched_setaffinity(0, proc_cpu.cpu_set(args.others_cpus))
                proc_cpu.pin_threads(asterisk, args.others_cpus)
                stack.callback(proc_cpu.pin_threads, asterisk, proc_cpu.all_cpus())
            await add_flows(ami)
            for exten in EXTENSIONS.values():
                stack.push_async_callback(
                    action, ami, Action="DialplanExtensionRemove", Context="from-pstn",
                    Extension=exten,
                )  # fmt: skip
            await call_phases.watch_only_phases(ami)
            ami.register_event("*", bench.timeline.on_event)
            counter = await stack.enter_async_context(ami_client(username="callback"))
            counter.register_event("*", bench.count_event)
            # A pass over the rates on each store, its service started once (a start between
            # steps would put its resume of the requests held so far into the next step);
            # the baseline measured again in each pass, the flows taking turns at each rate.
            for store in args.stores:
                await bench.use(store)
                for rate in args.rates:
                    for flow in args.flows:
                        row = await bench.step(flow, rate, store)
                        rows.append(row)
                        print(json.dumps(row), flush=True)
            if args.out is not None:  # why requests were refused or failed, line by line
                for store, service in services.items():
                    (args.out / f"service-{store}.log").write_text(service.log())
    return rows


def _label(row: Row) -> str:
    return f"{row['flow']} {row['store']}"


def report(rows: list[Row]) -> None:
    print(
        f"{'flow':<14}{'rate/s':>7}{'calls':>7}{'failed':>7}{'refused':>8}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'svc ms':>8}{'ast ms':>8}{'sipp ms':>8}{'drv ms':>8}{'busy':>6}"
        f"{'events':>8}{'AGI cmds':>9}"
    )
    for r in rows:
        print(
            f"{_label(r):<14}{r['rate']:>7}{r['calls']:>7}{r['failed']:>7}{r['refused']:>8}"
            f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['service_ms_per_call']:>8.2f}"
            f"{r['asterisk_ms_per_call']:>8.2f}{r['sipp_ms_per_call']:>8.2f}"
            f"{r['driver_ms_per_call']:>8.2f}{r['machine_busy']:>6.0%}"
            f"{r['ami_events_per_call']:>8.1f}{r['phases']['agi_commands']:>9.1f}"
        )
    labels = list(dict.fromkeys(_label(r) for r in rows))
    best = {
        label: max((r["rate"] for r in rows if _label(r) == label and r["failed"] == 0), default=0)
        for label in labels
    }
    print("highest rate with 0 failed calls: " + ", ".join(f"{f} {n}/s" for f, n in best.items()))
    for store in dict.fromkeys(r["store"] for r in rows):  # each full flow against its pass's
        baseline, full = f"baseline {store}", f"full {store}"
        if not best.get(baseline) or full not in best:
            continue
        print(f"{full} / {baseline}: {best[full] / best[baseline]:.2f}")
        base = {r["rate"]: r["p99_ms"] for r in rows if _label(r) == baseline}
        for r in rows:
            if _label(r) == full and r["rate"] in base:
                gap = r["p99_ms"] - base[r["rate"]]
                print(f"p99 {full} - {baseline} at {r['rate']}/s: {gap:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="80,150")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--flows", default="baseline,full")
    parser.add_argument("--py-spy", action="store_true", help="sample the service with py-spy")
    parser.add_argument("--out", type=Path, help="keep the rows and py-spy profiles here")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], help="the service's event loop")
    parser.add_argument("--log-level", default="INFO", help="the service's (default INFO)")
    parser.add_argument("--no-ami", action="store_true", help="the service without AMI")
    parser.add_argument("--service-nice", type=int, default=0, help="the service's niceness")
    parser.add_argument("--service-cpus", default="", help="pin the service (taskset list)")
    parser.add_argument(
        "--others-cpus", default="", help="pin Asterisk, SIPp and the driver (taskset list)"
    )
    parser.add_argument(
        "--placement", action="store_true", help="place each request as a placeholder"
    )
    parser.add_argument("--smoke", action="store_true", help="one tiny step, to keep it working")
    stores_option(parser)
    args = parser.parse_args()
    args.rates = [2] if args.smoke else [int(r) for r in args.rates.split(",")]
    args.seconds = 1 if args.smoke else args.seconds
    args.flows = [f.strip() for f in args.flows.split(",")]
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    rows = asyncio.run(run(args))
    report(rows)
    if args.out is not None:
        (args.out / "rows.json").write_text(json.dumps(rows, indent=1))
        print(f"profiles and rows in {args.out}")


async def settled(count: Callable[[], int], *, quiet: float = 0.2, within: float = 5.0) -> None:
    """Until ``count`` has not moved for ``quiet`` seconds (at most ``within``)."""
    deadline, last, since = time.monotonic() + within, count(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        await asyncio.sleep(0.05)
        if (now := count()) != last:
            last, since = now, time.monotonic()


if __name__ == "__main__":
    main()
