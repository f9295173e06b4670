"""Benchmark: the service on a busy PBX that carries calls having nothing to do with callbacks.

    python -m tests.bench.busy_bench [--waiting 500] [--rate 100] [--hold 3] [--window 30]
        [--rounds 3] [--warmup 30] [--samples 10] [--out FILE] [--smoke]

On the running sandbox (every agent paused), SIPp keeps ``waiting`` callers in queue support
(level 5, hearing its music and periodic announcement) and ``rate`` calls a second coming and
going (each joins the queue, waits ``hold`` seconds and hangs up); no one presses 1. In the
same run, under that load:
- after ``warmup`` seconds of load, windows with the service stopped and running
  (``agi_app serve`` in its own process, AMI on with the callback account, placing
  callbacks), taking turns ``rounds`` times: the CPU of Asterisk, of the service and of the
  whole machine, resident memory, the AMI events Asterisk sends the callback account (a
  second session of that account counts them, in both), and the calls completed;
- the delay from agent1 becoming available (QueuePause off) to its phone ringing, for a live
  caller at the head of the queue (level 1) and for a callback at the head (a level-1 caller
  who pressed 1, whose placeholder the service placed), samples taking turns. app_queue
  looks whether the head caller's turn has come once a second (RECHECK): each sample
  unpauses agent1 at the same moment of that cycle (just after its head was seen joining),
  so the two kinds are compared at the same phase.
"""

import argparse
import asyncio
import json
import re
import sqlite3
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from panoramisk import Manager
from panoramisk.message import Message

from tests.bench import proc_cpu
from tests.bench.own_process import OwnProcess
from tests.bench.proc_cpu import rss_kib
from tests.bench.scale_bench import head_is, ring_agent1
from tests.bench.waiting import quiet_pbx
from tests.support.ami import action, ami_client, channels, cli, eventually, queue_callers
from tests.support.http import post
from tests.support.sipp import Caller, address_options, free_udp_port, scenario
from tests.support.testbed import AGENT_PORTS, current
from tests.support.uas import Behaviour, Phone

TOKEN = "busy-bench-supervisor"  # the service's web_token
WEB_PORT = 8080
QUEUE_EXTEN = "5988"  # the bench's: queue support at level 5, no prompt (added over AMI)
Row = dict[str, Any]


async def add_queue_flow(ami: Manager) -> None:
    steps = [("1", "Gosub", "live-queue,s,1(support,5)"), ("2", "Hangup", "")]
    for priority, application, data in steps:
        await action(
            ami, Action="DialplanExtensionAdd", Context="from-pstn", Extension=QUEUE_EXTEN,
            Priority=priority, Application=application, ApplicationData=data, Replace="yes",
        )  # fmt: skip


class Callers:
    """One SIPp process of callers to QUEUE_EXTEN that hang up ``hold_s`` after the answer."""

    def __init__(self, workdir: Path, name: str, first: int, rate: int, calls: int, hold_s: float):
        self.workdir, self.name = workdir, name
        self.first, self.rate, self.calls, self.hold_s = first, rate, calls, hold_s
        self.stats = workdir / f"{name}-stats.csv"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        xml = self.workdir / f"{self.name}.xml"
        xml.write_text(scenario("bulk-hold", hold_ms=int(self.hold_s * 1000)))
        numbers = self.workdir / f"{self.name}.csv"
        rows = (f"+1555{self.first + n:07d};\n" for n in range(self.calls))
        numbers.write_text("SEQUENTIAL\n" + "".join(rows))
        asterisk = current().asterisk
        self._process = await asyncio.create_subprocess_exec(
            "sipp", asterisk.sip, "-sf", str(xml), "-inf", str(numbers), "-s", QUEUE_EXTEN,
            "-m", str(self.calls), "-r", str(self.rate), "-l", str(self.calls),
            *address_options(asterisk.host),
            "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
            "-nostdin", "-trace_stat", "-fd", "1", "-stf", str(self.stats),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    def counts(self) -> tuple[int, int]:
        """(successful, failed) calls so far, from SIPp's statistics file (every second)."""
        lines = self.stats.read_text().splitlines() if self.stats.exists() else []
        if len(lines) < 2:
            return 0, 0
        header, last = lines[0].split(";"), lines[-1].split(";")
        return int(last[header.index("SuccessfulCall(C)")]), int(
            last[header.index("FailedCall(C)")]
        )

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()


async def in_queue(ami: Manager) -> int:
    out = await cli(ami, "queue show support")
    found = re.search(r"support has (\d+) calls", out)
    return int(found.group(1)) if found else 0


async def measure(
    name: str, seconds: float, service: OwnProcess | None, churn: Callers, events: list[int]
) -> Row:
    """One window: CPU and memory of each process, AMI events to the callback account."""
    asterisk = proc_cpu.asterisk_pid()
    pid = service.pid if service is not None else None
    cpu, calls, seen = proc_cpu.snapshot(pid, asterisk), churn.counts(), events[0]
    await asyncio.sleep(seconds)  # a measurement window, not a wait for a condition
    used = proc_cpu.snapshot(pid, asterisk) - cpu
    done, failed = (a - b for a, b in zip(churn.counts(), calls, strict=True))
    return {
        "window": name,
        "service_cores": used.service / seconds,
        "service_rss_mib": rss_kib(pid) / 1024 if pid else 0.0,
        "asterisk_cores": used.asterisk / seconds,
        "asterisk_rss_mib": rss_kib(asterisk) / 1024,
        "machine_busy": used.busy / used.capacity,
        "ami_events_per_s": (events[0] - seen) / seconds,
        "calls_done_per_s": done / seconds,
        "calls_failed": failed,
    }


async def ring_delay(ami: Manager, workdir: Path, service: OwnProcess, head: str, n: int) -> Row:
    """A level-1 caller (live) or its callback (it presses 1) at the head of the queue; from
    agent1 unpaused to agent1's phone receiving the INVITE."""
    keys = ["1"] if head == "callback" else []
    caller = Caller("5003", f"+1555777{n:04d}", workdir, key_groups=keys, bye_timeout_s=300)
    agent1 = Phone(AGENT_PORTS["agent1"], workdir, Behaviour.NO_ANSWER, name=f"a1-{n}")
    async with agent1 as phone:
        await caller.start()
        mine = caller.number
        await head_is(ami, lambda e: e["CallerIDNum"] == mine, "the level-1 caller at the head")
        placed = 0.0
        if head == "callback":
            await caller.nudge()  # 1: the service stores it and places its placeholder
            pressed = time.monotonic()
            await head_is(
                ami,
                lambda e: e["Channel"].startswith("Local/") and e["CallerIDNum"] == mine,
                "the callback's placeholder at the head",
            )
            placed = time.monotonic() - pressed
        delay = await ring_agent1(ami, phone)
        await caller.kill()
        await hang_up_calls_from(ami, mine)  # SIPp killed: Asterisk still holds the call
        if head == "callback":  # agent1 paused again: it waits on at the head, unless cancelled
            await cancel_callback(service, mine)
        await eventually(
            lambda: queue_callers(ami, "support"),
            lambda callers: all(e["CallerIDNum"] != mine for e in callers),
            within=30,
            what="the sample's call gone from the queue",
            interval=0.2,
        )
        return {"head": head, "ring_delay_ms": delay * 1000, "key_to_placed_ms": placed * 1000}


async def cancel_callback(service: OwnProcess, number: str) -> None:
    """What a supervisor does from the Live view: cancel the active callback of ``number``."""
    with sqlite3.connect(f"file:{service.store_path}?mode=ro", uri=True) as db:
        (request_id,) = db.execute(
            "SELECT id FROM requests WHERE callback_number = ? AND state != 'done'", (number,)
        ).fetchone()
    url = current().url(WEB_PORT, f"/api/callbacks/{request_id}/cancel")
    status, body = await post(url, {"by": "busy_bench"}, TOKEN)
    assert status == 200, (status, body)


async def hang_up_calls_from(ami: Manager, number: str) -> None:
    for channel in await channels(ami):
        if channel.get("CallerIDNum") == number:
            await action(ami, Action="Hangup", Channel=channel["Channel"])


async def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    await quiet_pbx()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        # Web on: a sample's callback is cancelled through the API, as a supervisor would.
        web = {"web_enabled": "true", "web_port": str(WEB_PORT), "web_token": TOKEN}
        service = OwnProcess(workdir, placement=True, **web)
        async with AsyncExitStack() as stack:
            ami = await stack.enter_async_context(ami_client())
            stack.push_async_callback(quiet_pbx)
            await add_queue_flow(ami)
            stack.push_async_callback(
                action, ami, Action="DialplanExtensionRemove", Context="from-pstn",
                Extension=QUEUE_EXTEN,
            )  # fmt: skip
            events = [0]

            def count(_manager: Manager, _event: Message) -> None:
                events[0] += 1

            counter = await stack.enter_async_context(ami_client(username="callback"))
            counter.register_event("*", count)
            # Long enough for the whole run; killed at its end.
            last = int(2 * args.rounds * (args.window + 30) + 2 * args.samples * 40 + 600)
            waiting = Callers(workdir, "waiting", 0, 50, args.waiting, last)
            churn = Callers(workdir, "churn", 1_000_000, args.rate, args.rate * last, args.hold)
            for load in (waiting, churn):
                stack.push_async_callback(load.stop)
                await load.start()
            floor = args.waiting + args.rate * args.hold * 0.5
            await eventually(
                lambda: in_queue(ami), lambda n: n >= floor, within=120, what="the load"
            )
            stack.push_async_callback(service.stop)
            # The queue's periodic announcements and Asterisk's caches settle first.
            await asyncio.sleep(args.warmup)  # a warm-up period, not a wait for a condition
            # Windows taking turns, stopped and running, so that a drift of the load over the
            # run falls on both alike.
            for _ in range(args.rounds):
                rows.append(await measure("service stopped", args.window, None, churn, events))
                print(json.dumps(rows[-1]), flush=True)
                await service.start(within=120)
                rows.append(await measure("service running", args.window, service, churn, events))
                print(json.dumps(rows[-1]), flush=True)
                await service.stop()
            await service.start(within=120)
            for n in range(args.samples):
                for head in ("live", "callback") if n % 2 == 0 else ("callback", "live"):
                    sample = 2 * n + (head == "live")
                    rows.append(await ring_delay(ami, workdir, service, head, sample))
                    print(json.dumps(rows[-1]), flush=True)
            rows.append({"in_queue_at_end": await in_queue(ami)})
    return rows


def report(rows: list[Row]) -> None:
    windows = [r for r in rows if "window" in r]
    print(
        f"{'window':<17}{'svc cores':>10}{'svc MiB':>9}{'ast cores':>10}{'ast MiB':>9}"
        f"{'busy':>6}{'events/s':>10}{'calls/s':>9}{'failed':>8}"
    )
    for r in windows:
        print(
            f"{r['window']:<17}{r['service_cores']:>10.3f}{r['service_rss_mib']:>9.1f}"
            f"{r['asterisk_cores']:>10.3f}{r['asterisk_rss_mib']:>9.1f}{r['machine_busy']:>6.0%}"
            f"{r['ami_events_per_s']:>10.1f}{r['calls_done_per_s']:>9.1f}{r['calls_failed']:>8}"
        )
    for kind in ("service stopped", "service running"):
        mine = [r for r in windows if r["window"] == kind]
        if mine:
            print(
                f"{kind}, mean of {len(mine)}: Asterisk"
                f" {statistics.mean(r['asterisk_cores'] for r in mine):.3f} cores, machine"
                f" {statistics.mean(r['machine_busy'] for r in mine):.0%} busy, service"
                f" {statistics.mean(r['service_cores'] for r in mine):.3f} cores"
            )
    for head in ("live", "callback"):
        delays = [r["ring_delay_ms"] for r in rows if r.get("head") == head]
        if delays:
            print(
                f"ring delay, {head} at the head: median {statistics.median(delays):.1f} ms,"
                f" max {max(delays):.1f} ms ({len(delays)} samples)"
            )
    placed = [r["key_to_placed_ms"] for r in rows if r.get("head") == "callback"]
    if placed:
        print(f"key 1 to the placeholder at the head: median {statistics.median(placed):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=500, help="callers waiting throughout")
    parser.add_argument("--rate", type=int, default=100, help="calls a second coming and going")
    parser.add_argument("--hold", type=float, default=3.0, help="seconds each of them waits")
    parser.add_argument("--window", type=float, default=30.0, help="seconds per measurement")
    parser.add_argument("--samples", type=int, default=10, help="ring delays per kind")
    parser.add_argument("--rounds", type=int, default=3, help="stopped/running window pairs")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of load first")
    parser.add_argument("--out", type=Path, help="write the rows here as JSON")
    parser.add_argument("--smoke", action="store_true", help="a tiny run, to keep it working")
    args = parser.parse_args()
    if args.smoke:
        args.waiting, args.rate, args.hold, args.window, args.samples = 5, 2, 2.0, 2.0, 1
        args.rounds, args.warmup = 1, 0.0
    rows = asyncio.run(run(args))
    report(rows)
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
