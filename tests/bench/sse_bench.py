"""Benchmark: many open Live views (SSE clients) against one.

    python -m tests.bench.sse_bench [--clients 1,50,200] [--seconds 20] [--callbacks 100] [--before]

On the running sandbox (agents paused), ``--callbacks`` requests wait as placeholders in queue
support; the service runs in this process, the SSE clients in a child process (so that their
CPU is not counted as the service's). For each number of clients, over ``--seconds``:
QueueStatus actions the service sent to Asterisk (counted at its AMI client), snapshots
computed, events the clients received, the service's and Asterisk's CPU, and the latency of
one GET /api/whoami (the web loop's responsiveness). Ratios are against 1 client in the same
run. ``--before`` adds the same rows for the web layer as it was before one shared snapshot
(commit 4fa44a2: each client computed its own), served from the same service.
"""

import argparse
import asyncio
import json
import sys
import tempfile
import time
import types
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn

from agi_app.app.service import Service
from agi_app.config.credentials import WebCredential, digest
from agi_app.config.settings import Settings
from agi_app.domain.request import State
from tests.bench.proc_cpu import asterisk_pid, cpu_seconds
from tests.bench.waiting import quiet_pbx, stored_waiting
from tests.support.ami import ami_client, cli, eventually, eventually_local, sandbox_secret
from tests.support.http import EventStream, get
from tests.support.service_process import REPO
from tests.support.testbed import TESTBED_NUMBERS, current

BEFORE_COMMIT = "4fa44a2"  # the last web layer with one snapshot per client
TOKEN = "sse-bench-viewer"


# ---- the child: N SSE clients ---------------------------------------------------------------
async def clients(url: str, n: int, seconds: float) -> None:
    """Open n streams, tell the parent (a line on stdout), read for ``seconds``, report."""
    received = 0
    ready = asyncio.Event()
    opened = 0

    async def one() -> None:
        nonlocal received, opened
        async with EventStream(url, TOKEN) as stream:
            assert stream.status == 200, (stream.status, stream.body)
            await stream.next(within=30)
            opened += 1
            if opened == n:
                ready.set()
            await ready.wait()
            loop = asyncio.get_running_loop()
            end = loop.time() + seconds
            while loop.time() < end:
                try:
                    await stream.next(within=max(0.01, end - loop.time()))
                except TimeoutError:
                    break
                received += 1

    tasks = [asyncio.ensure_future(one()) for _ in range(n)]
    await ready.wait()
    print("open", flush=True)
    await asyncio.gather(*tasks)
    print(json.dumps({"received": received}), flush=True)


# ---- the parent: the service, measured -------------------------------------------------------
def count_queue_status(service: Service) -> Callable[[], int]:
    """Wrap the service's AMI client: every QueueStatus it sends is counted."""
    assert service.ami is not None
    ami, sent = service.ami, [0]
    original: Callable[..., Awaitable[Any]] = ami.send_list

    async def send_list(fields: dict[str, str], **kw: Any) -> Any:
        if fields.get("Action") == "QueueStatus":
            sent[0] += 1
        return await original(fields, **kw)

    ami.send_list = send_list  # type: ignore[method-assign,assignment]
    return lambda: sent[0]


async def serve_before(service: Service) -> tuple[uvicorn.Server, int]:
    """The web layer of BEFORE_COMMIT, on the same Serving, on a port of its own."""
    shown = await asyncio.create_subprocess_exec(
        "git", "show", f"{BEFORE_COMMIT}:agi_app/web/app.py",
        cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    source, _ = await shown.communicate()
    module = types.ModuleType("web_before")
    exec(compile(source, "web_before.py", "exec"), module.__dict__)
    app = module.create_app(service.serving, None)
    config = uvicorn.Config(
        app, host=current().host, port=0, log_level="warning", lifespan="off"
    )  # where the service's own web is (web_host)
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    await eventually_local(lambda: server.started or task.done(), bool, within=10, what="up")
    return server, int(server.servers[0].sockets[0].getsockname()[1])


async def measure(
    service: Service, port: int, n: int, seconds: float, queue_status: Callable[[], int]
) -> dict[str, float]:
    url = current().url(port, "/api/events")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bench.sse_bench", "--child", url,
        "--clients", str(n), "--seconds", str(seconds),
        cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 120)
    assert line.strip() == b"open", line
    broadcaster = getattr(getattr(service, "web_app", None), "state", None)
    computed = getattr(getattr(broadcaster, "broadcaster", None), "computed", 0)
    pid = await asyncio.to_thread(asterisk_pid)
    start = time.monotonic()
    qs, own, asterisk = queue_status(), cpu_seconds(), cpu_seconds(pid)
    latencies = []
    while time.monotonic() - start < seconds - 0.5:
        sent = time.monotonic()
        status, _ = await get(current().url(service.web_port, "/api/whoami"), TOKEN)
        assert status == 200
        latencies.append(time.monotonic() - sent)
        await asyncio.sleep(0.25)
    elapsed = time.monotonic() - start
    qs_n, own_cpu, ast_cpu = queue_status() - qs, cpu_seconds() - own, cpu_seconds(pid) - asterisk
    received = json.loads(await asyncio.wait_for(child.stdout.readline(), 60))["received"]
    await child.wait()
    now_computed = getattr(getattr(broadcaster, "broadcaster", None), "computed", 0)
    latencies.sort()
    return {
        "clients": n,
        "queue_status_per_s": qs_n / elapsed,
        "snapshots_per_s": (now_computed - computed) / elapsed,
        "events_per_client_s": received / n / seconds,
        "service_cpu": own_cpu / elapsed,
        "asterisk_cpu": ast_cpu / elapsed,
        "web_p50_ms": latencies[len(latencies) // 2] * 1000,
        "web_max_ms": latencies[-1] * 1000,
    }


async def run(
    counts: list[int], seconds: float, callbacks: int, before: bool
) -> list[dict[str, Any]]:
    await quiet_pbx()
    workdir = Path(tempfile.mkdtemp(prefix="sse-bench-"))
    store_path = workdir / "callbacks.sqlite3"
    await stored_waiting(Settings(store_path=store_path, store_url=None), callbacks, "sse")
    credential = WebCredential.model_validate(  # every client one viewer: a wall of screens
        {"name": "bench", "role": "viewer", "token_sha256": digest(TOKEN),
         "max_streams": max(counts) + 10}
    )  # fmt: skip
    host = current().host
    settings = Settings(
        ami_host=host, agi_host=host, web_host=host,
        store_path=store_path, ami_secret_file=sandbox_secret("callback"), web_port=0,
        web_credentials=[credential], web_sse_max_clients=max(counts) + 10,
        log_level="WARNING", allowed_number_prefixes=TESTBED_NUMBERS,
    )  # fmt: skip
    rows = []
    async with Service(settings) as service:
        assert service.store is not None and service.web_port is not None
        store = service.store
        await eventually(
            lambda: store.requests(State.WAITING),
            lambda rs: len(rs) == callbacks,
            within=60,
            what=f"{callbacks} placeholders waiting",
        )
        queue_status = count_queue_status(service)
        for n in counts:
            rows.append({"web": "shared", **await measure(
                service, service.web_port, n, seconds, queue_status)})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
        if before:
            server, port = await serve_before(service)
            for n in counts:
                rows.append({"web": BEFORE_COMMIT, **await measure(
                    service, port, n, seconds, queue_status)})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
            server.should_exit = True
    async with ami_client() as ami:
        await cli(ami, "channel request hangup all")
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| web layer | clients | QueueStatus/s | x 1 client | snapshots/s | events/client/s "
        "| service CPU | Asterisk CPU | GET p50 / max |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = next(b for b in rows if b["web"] == r["web"] and b["clients"] == min(
            x["clients"] for x in rows if x["web"] == r["web"]))  # fmt: skip
        ratio = r["queue_status_per_s"] / base["queue_status_per_s"]
        shared = r["web"] != BEFORE_COMMIT  # before, each client computed its own
        snapshots = f"{r['snapshots_per_s']:.1f}" if shared else "one per client"
        lines.append(
            f"| {r['web']} | {r['clients']} | {r['queue_status_per_s']:.1f} | {ratio:.2f} "
            f"| {snapshots} | {r['events_per_client_s']:.2f} "
            f"| {r['service_cpu']:.0%} | {r['asterisk_cpu']:.0%} "
            f"| {r['web_p50_ms']:.0f} / {r['web_max_ms']:.0f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,50,200")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--callbacks", type=int, default=100)
    parser.add_argument("--before", action="store_true", help="also the per-client web layer")
    parser.add_argument("--smoke", action="store_true", help="a tiny size, to keep it working")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        # Not --before: that reads an old commit, which a shallow clone (CI) may not have.
        args.clients, args.seconds, args.callbacks = "1,3", 2.0, 3
    counts = [int(c) for c in args.clients.split(",")]
    if args.child:
        asyncio.run(clients(args.child, counts[0], args.seconds))
        return
    rows = asyncio.run(run(counts, args.seconds, args.callbacks, args.before))
    print(table(rows))


if __name__ == "__main__":
    main()
