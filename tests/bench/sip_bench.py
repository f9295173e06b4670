"""Benchmark: the request path over real SIP, against Asterisk alone, at stepped call rates.

    python -m tests.bench.sip_bench [--rates 20,40,80,120] [--seconds 10]
        [--stores sqlite,postgres]

Flows, added to the running sandbox's dialplan for the run (AMI DialplanExtensionAdd):
- full (5981 on SQLite, 5983 on PostgreSQL): answer, read the key, then the Callback
  component (FastAGI to a service on that store: options, queue facts, number rules,
  durable commit, success prompt named, hangup). One service per store, both up for the
  whole run (FastAGI on the test bed's AGI_PORT and STANDBY_AGI_PORT, on the Asterisk's
  address; the flow sets CALLBACK_AGI to its store's);
- baseline (5982): answer, read the key, Playback of the same success prompt, hangup.
Each step is one SIPp run at a fixed rate, the flows taking turns at each rate; a step
passes when every call completed (SIPp exit 0) and, for a full flow, every request is
stored. Keypress-to-prompt latency comes from AMI: DTMFEnd on the caller's channel to the
prompt starting (Newexten Playback, or AGIExecStart STREAM FILE). The services run without
AMI here: the request path only. PostgreSQL is tests/bench/stores.py's durable cluster.
"""

import argparse
import asyncio
import json
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

from panoramisk import Manager
from panoramisk.message import Message

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from tests.bench.stores import on_store, postgres_if, stores_option
from tests.support.ami import action, ami_client, cli
from tests.support.dtmf import write_dtmf_pcap
from tests.support.sipp import address_options, bulk_caller_scenario, free_udp_port
from tests.support.testbed import AGI_PORT, STANDBY_AGI_PORT, TESTBED_NUMBERS, current

CALLBACK = "callback,s,1(queue=support,priority=5,destination=original,max_wait=1800)"
# flow: (extension, the store's FastAGI port or None, application, its data); the second
# service listens where the standby tests' second process does.
FLOWS: dict[str, tuple[str, int | None, str, str]] = {
    "baseline": ("5982", None, "Playback", "callback/request-successful"),
    "full sqlite": ("5981", AGI_PORT, "Gosub", CALLBACK),
    "full postgres": ("5983", STANDBY_AGI_PORT, "Gosub", CALLBACK),
}


async def add_flows(ami: Manager) -> None:
    for exten, port, app, data in FLOWS.values():
        # A channel variable hides the global of the same name: this flow's service.
        agi = (
            f"CALLBACK_AGI={current().asterisk.agi_url('callback', port)}"
            if port
            else "CB_FLOW=baseline"
        )
        steps = [("1", "Answer", ""), ("2", "Read", "CB_KEY,,1,,1,5"), ("3", "Set", agi)]
        steps += [("4", app, data), ("5", "Hangup", "")]
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


async def press_one_callers(
    extension: str, rate: int, calls: int, workdir: Path, offset: int, cpus: str = ""
) -> tuple[int, int | None]:
    """One SIPp run of the benchmark's callers (answer, press 1 after 200 ms, hear the prompt,
    numbers from +1555<offset>), pinned to ``cpus`` if given: SIPp's exit code and its
    failed calls (None: no statistics written)."""
    pcap = workdir / "press-1.pcap"
    write_dtmf_pcap(pcap, "1", 0)
    scenario = workdir / "bench.xml"
    scenario.write_text(bulk_caller_scenario([(200, pcap)]))
    numbers = workdir / f"numbers-{offset}.csv"
    numbers.write_text("SEQUENTIAL\n" + "".join(f"+1555{offset + n:07d};\n" for n in range(calls)))
    stats = workdir / f"stats-{offset}.csv"
    pinned = ["taskset", "-c", cpus] if cpus else []
    asterisk = current().asterisk
    process = await asyncio.create_subprocess_exec(
        *pinned, "sipp", asterisk.sip, "-sf", str(scenario), "-inf", str(numbers),
        "-s", extension, "-m", str(calls), "-r", str(rate), "-l", str(calls),
        *address_options(asterisk.host),
        "-p", str(free_udp_port()), "-mp", str(free_udp_port()), "-nostdin",
        "-timeout", f"{calls // rate + 60}s", "-trace_stat", "-stf", str(stats),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    code = await process.wait()
    lines = stats.read_text().splitlines() if stats.exists() else []
    if len(lines) < 2:
        return code, None
    header, last = lines[0].split(";"), lines[-1].split(";")
    return code, int(last[header.index("FailedCall(C)")])


async def step(
    flow: str, rate: int, seconds: int, workdir: Path, offset: int, latency: Latency
) -> dict[str, float]:
    calls = rate * seconds
    start = time.monotonic()
    code, failed = await press_one_callers(FLOWS[flow][0], rate, calls, workdir, offset)
    samples = latency.samples
    latency.samples = []
    return {
        "rate": rate,
        "calls": calls,
        "failed": -1 if failed is None else failed if code == 0 else max(failed, 1),
        "sipp_failed": -1 if failed is None else failed,
        "sipp_exit": code,
        "seconds": time.monotonic() - start,
        "p50_ms": _pct(samples, 50),
        "p99_ms": _pct(samples, 99),
    }


async def run(
    rates: list[int], seconds: int, stores: list[str]
) -> dict[str, list[dict[str, float]]]:
    flows = ["baseline", *(f"full {store}" for store in stores)]
    results: dict[str, list[dict[str, float]]] = {flow: [] for flow in flows}
    host = current().host
    with tempfile.TemporaryDirectory() as tmp, postgres_if(stores) as server:
        workdir = Path(tmp)
        async with AsyncExitStack() as stack:
            services: dict[str, Service] = {}
            for store in stores:
                flow = f"full {store}"
                settings = Settings(
                    ami_host=host, agi_host=host, agi_port=FLOWS[flow][1], ami_enabled=False,
                    log_level="WARNING", allowed_number_prefixes=TESTBED_NUMBERS,
                )  # fmt: skip
                settings = on_store(settings, store, server, workdir, "bench")
                services[flow] = await stack.enter_async_context(Service(settings))
            ami = await stack.enter_async_context(ami_client())
            await cli(ami, "channel request hangup all")
            await add_flows(ami)
            latency = Latency()
            ami.register_event("*", latency.on_event)
            offset = 0
            for rate in rates:
                for flow in flows:  # taking turns: noise hits all of them alike
                    service = services.get(flow)
                    kept = service.store if service else None
                    before = len(await kept.requests()) if kept else 0
                    row = await step(flow, rate, seconds, workdir, offset, latency)
                    offset += rate * seconds
                    if kept is not None:  # a call that ended without its request stored
                        row["not_stored"] = row["calls"] - (len(await kept.requests()) - before)
                        row["failed"] += row["not_stored"]
                    results[flow].append(row)
                    print(json.dumps({"flow": flow, **row}), flush=True)
            for exten, _, _, _ in FLOWS.values():
                await action(
                    ami, Action="DialplanExtensionRemove", Context="from-pstn", Extension=exten
                )
    return results


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="20,40,80,120")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="one tiny step, to keep it working")
    stores_option(parser)
    args = parser.parse_args()
    rates = [2] if args.smoke else [int(r) for r in args.rates.split(",")]
    seconds = 1 if args.smoke else args.seconds
    results = asyncio.run(run(rates, seconds, args.stores))
    best = {
        flow: max((r["rate"] for r in rows if r["failed"] == 0), default=0)
        for flow, rows in results.items()
    }
    base = f"full {args.stores[0]}"
    print(f"{'flow':<14} {'rate/s':>6} {'calls':>6} {'failed':>6} {'p50 ms':>7} {'p99 ms':>7}"
          f" {'p50 / ' + base:>18}")  # fmt: skip
    for i, rate in enumerate(rates):
        for flow, rows in results.items():
            r = rows[i]
            versus = (
                ""
                if flow == "baseline"
                else f"{ratio(r['p50_ms'], results[base][i]['p50_ms']):.2f}"
            )
            print(
                f"{flow:<14} {rate:>6} {r['calls']:>6.0f} {r['failed']:>6.0f}"
                f" {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {versus:>18}"
            )
    print(
        "highest rate with 0 failed calls: "
        + ", ".join(f"{flow} {rate}/s" for flow, rate in best.items())
    )
    for flow in results:
        if flow != "baseline":
            print(f"{flow} / baseline: {ratio(best[flow], best['baseline']):.2f}")
    if len(args.stores) > 1:
        for flow in results:
            if flow not in ("baseline", base):
                print(f"{flow} / {base}: {ratio(best[flow], best[base]):.2f}")


if __name__ == "__main__":
    main()
