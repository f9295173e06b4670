"""Benchmark: many callbacks waiting at once as placeholders in one queue.

    python -m tests.bench.scale_bench [--sizes 1000,5000,10000] [--window 1000]
        [--stores sqlite,postgres]

For each size N and each store (a process each, taking turns: N on SQLite, N on PostgreSQL,
then the next N), on the running sandbox (its agents paused), requests are written to a fresh
store and the service takes them all: the first ``window`` (settings.placement_window) wait
as placeholders in Asterisk, the rest in the store. Measured in the same run:
- time to take N (service start to the window placed and the rest held), and to put them
  all back after an Asterisk restart (sandbox down/up to the same again);
- Asterisk's resident memory, CPU (35 s), file descriptors and threads while they wait,
  against the idle baseline;
- the service's resident memory per waiting request;
- the delay from an agent becoming available (QueuePause off) to the agent's phone ringing,
  for a callback at the head of the queue, against a live caller at the head.
Each store's times are also given as a ratio to SQLite's at the same N. PostgreSQL is
tests/bench/stores.py's durable cluster; the service's memory does not include the server's.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import State
from tests.acceptance.calls import set_paused
from tests.bench.proc_cpu import asterisk_pid, cpu_seconds, open_fds, rss_kib, threads
from tests.bench.stores import BASELINE, on_store, postgres_if, stores_option
from tests.bench.waiting import quiet_pbx, stored_waiting
from tests.support.ami import (
    action,
    ami_client,
    cli,
    eventually,
    eventually_local,
    queue_callers,
    sandbox_secret,
)
from tests.support.sipp import Caller
from tests.support.testbed import AGENT_PORTS, TESTBED_NUMBERS, current
from tests.support.uas import Behaviour, Phone


async def cpu_share(pid: int, seconds: float = 10.0) -> float:
    before = cpu_seconds(pid)
    await asyncio.sleep(seconds)  # a measurement window, not a wait for a condition
    return (cpu_seconds(pid) - before) / seconds


async def attempts(service: Service) -> dict[str, int]:
    assert service.store is not None
    return {r.id: r.attempt for r in await service.store.requests(State.PENDING, State.WAITING)}


async def taken(
    service: Service, window: int, within: float, before: dict[str, int]
) -> tuple[int, int]:
    """Every active request waits: the first ``window`` as new placeholders (a later attempt
    than in ``before``), the rest held in the store."""
    # On PostgreSQL the service serves once the database made it the leader.
    await eventually_local(lambda: service.serving, bool, within=30, what="serving")
    assert service.store is not None and service.serving is not None
    store, serving = service.store, service.serving
    active = len(await store.requests(State.PENDING, State.WAITING, State.OFFERED))
    placed = min(active, window)

    async def counts() -> tuple[int, int]:  # (placed anew, held)
        waiting = await store.requests(State.WAITING)
        return sum(r.attempt > before.get(r.id, 0) for r in waiting), serving.held_count

    try:
        await eventually(
            counts,
            lambda c: c == (placed, active - placed),
            within=within,
            what=f"{placed} placed and {active - placed} held",
        )
    except AssertionError:
        waiting = {r.id for r in await store.requests(State.WAITING)}
        for r in await store.requests(State.PENDING, State.OFFERED, State.WAITING):
            if r.id not in waiting or r.attempt <= before.get(r.id, 0):
                print(f"not placed anew: {r.id} {r.state} attempt {r.attempt}", file=sys.stderr)
        for r in await store.requests(State.DONE):
            print(f"done: {r.id} {r.call_outcome} attempt {r.attempt}", file=sys.stderr)
            for e in await store.events(r.id):
                print(f"   {e.at} {e.event} {e.detail}", file=sys.stderr)
        raise
    return placed, active - placed


async def ring_delay(workdir: Path, head_is_live: bool) -> float:
    """From agent1 becoming available to its phone ringing for the call at the head."""
    agent1 = Phone(AGENT_PORTS["agent1"], workdir, Behaviour.NO_ANSWER, name="a1")
    async with ami_client() as ami, agent1 as phone:
        caller = None
        if head_is_live:  # level 1: ahead of every level-5 placeholder
            caller = Caller("5003", "+15559990001", workdir, bye_timeout_s=120)
            await caller.start()
            await head_is(ami, lambda e: e["CallerIDNum"] == caller.number, "live at the head")
        delay = await ring_agent1(ami, phone)
        if caller is not None:
            await caller.kill()
        return delay


async def head_is(ami: Manager, first: Callable[[dict[str, str]], bool], what: str) -> None:
    """Until the first caller of queue support (its QueueEntry) is one ``first`` accepts."""
    await eventually(
        lambda: queue_callers(ami, "support"),
        lambda callers: bool(callers) and first(callers[0]),
        within=60,
        what=what,
        interval=0.2,  # a long list on a busy PBX: not more often
    )


async def ring_agent1(ami: Manager, phone: Phone) -> float:
    """Seconds from agent1 (paused) becoming available to ``phone`` (its, not answering)
    receiving the INVITE; then agent1 paused again and the ring ended."""
    start = time.monotonic()
    await set_paused(ami, "PJSIP/agent1", False)
    await eventually_local(phone.invites, lambda i: len(i) >= 1, within=30, what="ring")
    delay = time.monotonic() - start
    await set_paused(ami, "PJSIP/agent1", True)
    # The next measurement starts from a free agent, and the ring ends while this phone
    # still answers it: an INVITE left unanswered would be retransmitted for 32 s, to
    # whatever phone binds agent1's port next (a later test's agent).
    await eventually(lambda: agent_rings_ended(ami), bool, within=30, what="agent1 no longer rung")
    return delay


async def agent_rings_ended(ami: Manager) -> bool:
    """No channel to agent1 is left: hang up any there is (ringing or talking)."""
    rings = [
        m["Channel"]
        for m in await action(ami, Action="CoreShowChannels")
        if m.get("Event") == "CoreShowChannel"
        and str(m.get("Channel", "")).startswith("PJSIP/agent1-")
    ]
    for channel in rings:
        await action(ami, Action="Hangup", Channel=channel)
    return not rings


async def one_size(
    n: int, window: int, cpu_window: float, workdir: Path, store: str
) -> dict[str, float | str]:
    host = current().host
    with postgres_if([store]) as server:
        settings = Settings(
            ami_host=host, agi_host=host,
            ami_secret_file=sandbox_secret("callback"), web_enabled=False, log_level="WARNING",
            ami_ping_interval=1.0, placement_window=window,
            allowed_number_prefixes=TESTBED_NUMBERS,
        )  # fmt: skip
        settings = on_store(settings, store, server, workdir, f"scale-{n}")
        return {"store": store, **await measured(n, window, cpu_window, workdir, settings)}


async def measured(
    n: int, window: int, cpu_window: float, workdir: Path, settings: Settings
) -> dict[str, float]:
    await quiet_pbx()
    # Fresh ids, as in production: AstDB keeps the outcome records of earlier runs.
    await stored_waiting(settings, n, "scale")
    pid = asterisk_pid()
    idle_rss, idle_cpu = rss_kib(pid), await cpu_share(pid, 5)
    idle_fds, idle_threads = open_fds(pid), threads(pid)
    own_before = rss_kib()
    result: dict[str, float] = {"n": n, "window": window}
    start = time.monotonic()
    async with Service(settings) as service:
        result["placed"], result["held"] = await taken(service, window, max(60, n / 20), {})
        result["place_s"] = time.monotonic() - start
        result["asterisk_rss_mib"] = rss_kib(pid) / 1024
        result["asterisk_idle_rss_mib"] = idle_rss / 1024
        result["asterisk_fds"] = open_fds(pid)
        result["asterisk_idle_fds"] = idle_fds
        result["asterisk_threads"] = threads(pid)
        result["asterisk_idle_threads"] = idle_threads
        result["asterisk_cpu"] = await cpu_share(pid, cpu_window)
        result["asterisk_idle_cpu"] = idle_cpu
        result["service_kib_per_request"] = (rss_kib() - own_before) / n
        result["ring_delay_callback_s"] = await ring_delay(workdir, head_is_live=False)
        result["ring_delay_live_s"] = await ring_delay(workdir, head_is_live=True)
        # All of them back after Asterisk restarts.
        before = await attempts(service)
        asterisk = current().asterisk
        await asyncio.to_thread(asterisk.down)
        # Plain `up` (AMI answers), not up(): the time below counts from there, as it always has.
        await asyncio.to_thread(asterisk.sandbox, "up")
        restarted = time.monotonic()
        async with ami_client() as ami:  # agents come back unpaused, without phones here
            for agent in ("PJSIP/agent1", "PJSIP/agent2", "PJSIP/agent3"):
                await set_paused(ami, agent, True)
        await taken(service, window, max(90, n / 10), before)
        result["replace_after_restart_s"] = time.monotonic() - restarted
    async with ami_client() as ami:
        await cli(ami, "channel request hangup all")
    return result


# The times compared between the stores (ratio to SQLite's at the same N).
TIMES = ("place_s", "replace_after_restart_s", "ring_delay_callback_s", "ring_delay_live_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument(
        "--window", type=int, default=Settings.model_fields["placement_window"].default
    )
    parser.add_argument("--smoke", action="store_true", help="a tiny size, to keep it working")
    stores_option(parser)
    args = parser.parse_args()
    sizes = [20] if args.smoke else [int(s) for s in args.sizes.split(",")]
    window = 15 if args.smoke else args.window  # the smoke run holds some in the store too
    # Long enough to include the queue's periodic announcement (every 30 s) to everyone.
    cpu_window = 2.0 if args.smoke else 35.0
    if len(sizes) > 1 or len(args.stores) > 1:
        # A process per size and store: freed memory is not handed back to the OS.
        rows = [one_process(n, store, window, args.smoke) for n in sizes for store in args.stores]
        compare(rows)
        return
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(one_size(sizes[0], window, cpu_window, Path(tmp), args.stores[0]))
        print(json.dumps(result), flush=True)


def one_process(n: int, store: str, window: int, smoke: bool) -> dict[str, float | str]:
    command = [sys.executable, "-m", "tests.bench.scale_bench", "--sizes", str(n)]
    command += ["--window", str(window), "--stores", store, *(["--smoke"] if smoke else [])]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    print(done.stdout, end="", flush=True)
    row: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def compare(rows: list[dict[str, float | str]]) -> None:
    """Each store's times against SQLite's at the same N, measured in the same run."""
    baseline = {r["n"]: r for r in rows if r["store"] == BASELINE}
    for row in rows:
        base = baseline.get(row["n"])
        if base is None or row is base:
            continue
        ratios = {
            f"{name} / {BASELINE}": round(float(row[name]) / float(base[name]), 2)
            for name in TIMES
            if float(base[name]) > 0
        }
        print(json.dumps({"n": row["n"], "store": row["store"], **ratios}), flush=True)


if __name__ == "__main__":
    main()
