"""Benchmark: the request path over real SIP, against Asterisk alone, at stepped call rates.

    python -m tests.bench.sip_bench [--rates 20,40,80,120] [--seconds 10]

Two flows, added to the running sandbox's dialplan for the run (AMI DialplanExtensionAdd):
- full (5981): answer, read the key, then the Callback component (FastAGI to the service:
  options, queue facts, number rules, durable commit, success prompt, hangup);
- baseline (5982): answer, read the key, Playback of the same success prompt, hangup.
Each step is one SIPp run at a fixed rate; a step passes when every call completed (SIPp
exit 0) and, for the full flow, every request is stored. Keypress-to-prompt latency comes
from AMI: DTMFEnd on the caller's channel to the prompt starting (Newexten Playback, or
AGIExecStart STREAM FILE). The service runs without AMI here: the request path only.
"""

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from panoramisk import Manager
from panoramisk.message import Message

from agi_app.service import Service
from agi_app.settings import Settings
from tests.support.ami import action, ami_client, cli
from tests.support.dtmf import write_dtmf_pcap
from tests.support.sipp import ASTERISK, bulk_caller_scenario, free_udp_port
from tests.support.testbed import TESTBED_NUMBERS

FLOWS = {
    "full": (
        "5981",
        "Gosub",
        "callback,s,1(queue=support,priority=5,destination=original,max_wait=1800)",
    ),
    "baseline": ("5982", "Playback", "callback/request-successful"),
}


async def add_flows(ami: Manager) -> None:
    for exten, app, data in FLOWS.values():
        steps = [("1", "Answer", ""), ("2", "Read", "CB_KEY,,1,,1,5"), ("3", app, data)]
        steps.append(("4", "Hangup", ""))
        for priority, application, app_data in steps:
            await action(
                ami, Action="DialplanExtensionAdd", Context="from-pstn", Extension=exten,
                Priority=priority, Application=application, ApplicationData=app_data,
                Replace="yes",
            )  # fmt: skip


class Latency:
    """Keypress to prompt, per caller channel, from AMI events (arrival times)."""

    def __init__(self) -> None:
        self.pressed: dict[str, float] = {}
        self.samples: list[float] = []

    def on_event(self, _manager: Manager, event: Message) -> None:
        name, channel, now = event.get("Event"), str(event.get("Channel", "")), time.monotonic()
        if name == "DTMFEnd" and event.get("Direction") == "Received":
            self.pressed.setdefault(channel, now)
        started = (name == "Newexten" and event.get("Application") == "Playback") or (
            name == "AGIExecStart" and str(event.get("Command", "")).startswith("STREAM FILE")
        )
        if started and channel in self.pressed:
            self.samples.append(now - self.pressed.pop(channel))


def _pct(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    return sorted(samples)[int(p / 100 * (len(samples) - 1))] * 1000


async def step(
    flow: str, rate: int, seconds: int, workdir: Path, offset: int, latency: Latency
) -> dict[str, float]:
    calls = rate * seconds
    pcap = workdir / "press-1.pcap"
    write_dtmf_pcap(pcap, "1", 0)
    scenario = workdir / "bench.xml"
    scenario.write_text(bulk_caller_scenario([(200, pcap)]))
    numbers = workdir / f"numbers-{flow}-{rate}.csv"
    numbers.write_text("SEQUENTIAL\n" + "".join(f"+1555{offset + n:07d};\n" for n in range(calls)))
    stats = workdir / f"stats-{flow}-{rate}.csv"
    start = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        "sipp", ASTERISK, "-sf", str(scenario), "-inf", str(numbers), "-s", FLOWS[flow][0],
        "-m", str(calls), "-r", str(rate), "-l", str(calls), "-i", "127.0.0.1",
        "-p", str(free_udp_port()), "-mp", str(free_udp_port()), "-nostdin",
        "-timeout", f"{seconds + 60}s", "-trace_stat", "-stf", str(stats),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    code = await process.wait()
    lines = stats.read_text().splitlines() if stats.exists() else []
    failed = -1
    if len(lines) >= 2:
        header, last = lines[0].split(";"), lines[-1].split(";")
        failed = int(last[header.index("FailedCall(C)")])
    samples = latency.samples
    latency.samples = []
    return {
        "rate": rate,
        "calls": calls,
        "failed": failed if code == 0 else max(failed, 1),
        "seconds": time.monotonic() - start,
        "p50_ms": _pct(samples, 50),
        "p99_ms": _pct(samples, 99),
    }


async def run(rates: list[int], seconds: int) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {"full": [], "baseline": []}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        settings = Settings(
            store_path=workdir / "bench.sqlite3", ami_enabled=False, log_level="WARNING",
            allowed_number_prefixes=TESTBED_NUMBERS,
        )  # fmt: skip
        async with ami_client() as ami, Service(settings) as service:
            await cli(ami, "channel request hangup all")
            await add_flows(ami)
            latency = Latency()
            ami.register_event("*", latency.on_event)
            offset = 0
            for rate in rates:
                for flow in ("baseline", "full"):  # interleaved: noise hits both alike
                    before = len(await service.store.requests()) if service.store else 0
                    row = await step(flow, rate, seconds, workdir, offset, latency)
                    offset += rate * seconds
                    if flow == "full" and service.store is not None:
                        stored = len(await service.store.requests()) - before
                        row["failed"] += row["calls"] - stored
                    results[flow].append(row)
                    print(json.dumps({"flow": flow, **row}), flush=True)
            for exten, _, _ in FLOWS.values():
                await action(
                    ami, Action="DialplanExtensionRemove", Context="from-pstn", Extension=exten
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="20,40,80,120")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="one tiny step, to keep it working")
    args = parser.parse_args()
    rates = [2] if args.smoke else [int(r) for r in args.rates.split(",")]
    seconds = 2 if args.smoke else args.seconds
    results = asyncio.run(run(rates, seconds))
    best = {
        flow: max((r["rate"] for r in rows if r["failed"] == 0), default=0)
        for flow, rows in results.items()
    }
    print(f"{'flow':<9} {'rate/s':>6} {'calls':>6} {'failed':>6} {'p50 ms':>7} {'p99 ms':>7}")
    for flow, rows in results.items():
        for r in rows:
            print(
                f"{flow:<9} {r['rate']:>6.0f} {r['calls']:>6.0f} {r['failed']:>6.0f}"
                f" {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f}"
            )
    ratio = best["full"] / best["baseline"] if best["baseline"] else float("nan")
    print(f"highest rate with 0 failed calls: full {best['full']}/s, baseline "
          f"{best['baseline']}/s, full/baseline {ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
