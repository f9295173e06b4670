"""Benchmark: the FastAGI request handler alone, over loopback, against two baselines.

    python -m tests.bench.fastagi_bench [--clients 50] [--requests 2000] [--runs 3]
        [--stores sqlite,postgres] [--loop uvloop|asyncio]

N concurrent scripted AGI clients (a fake Asterisk) each run whole requests: options,
queue facts, number rules, a durable commit, naming the success prompt. Measured in the
same run on the same machine, interleaved, every variant on the same event loop (uvloop by
default, as `agi-callback serve` runs):

- ours: the service's FastAGI server and request handler (``Service`` with AMI off), on
  each store of ``--stores`` (PostgreSQL: tests/bench/stores.py's durable cluster);
- stock: panoramisk's own FastAGI ``Application`` with a plain handler doing ours' store
  work on SQLite (the rate-limit counts, an insert that a repeat cannot duplicate, its event
  row: one transaction, one trip to one thread of stdlib sqlite3; tests/bench/fastagi_stock.py);
- stock-bare: the same handler with one plain insert (aiosqlite), which the tables before
  December 2026 called stock: it does less than ours;
- ceiling: durable commits alone, one after another, on each store (aiosqlite, WAL,
  synchronous=FULL; psycopg, autocommit, fsync on).

Reported (medians over the runs): requests/s, as a ratio to ours on the first store too;
latency p50/p99; this process's CPU per request (the fake Asterisk's share included, the
same for every handler; a PostgreSQL server's not), which moves less than the rates with
whatever else the machine runs. No timing is asserted anywhere; ``--smoke`` runs a tiny
size for the tests.
"""

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiosqlite
import psycopg
import uvloop

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from tests.bench.fastagi_stock import stock_server
from tests.bench.stores import on_store, postgres_if, stores_option
from tests.support.fake_asterisk import AgiCall, default_reply
from tests.support.postgres import PostgresServer
from tests.support.testbed import LOOPBACK, TESTBED_NUMBERS

OPTIONS = ["queue=support", "priority=5", "destination=original", "max_wait=1800"]


def _reply(command: str) -> str:
    if command.startswith("GET FULL VARIABLE"):
        return "200 result=1 (1|2|5|30)"
    return default_reply(command)


# What one variant's run measured: wall seconds, this process's CPU seconds, each latency.
Measured = tuple[float, float, list[float]]


@contextmanager
def _timed() -> Iterator[list[float]]:
    """[wall seconds, CPU seconds (every thread of this process)] of the block, once it ends."""
    spent: list[float] = []
    wall, cpu = time.perf_counter(), time.process_time()
    yield spent
    spent += [time.perf_counter() - wall, time.process_time() - cpu]


async def _clients(port: int, clients: int, requests: int) -> Measured:
    """Run ``requests`` sessions over ``clients`` concurrent connections."""
    latencies: list[float] = []
    counter = iter(range(requests))

    async def client() -> None:
        for n in counter:
            call = AgiCall(OPTIONS, callerid=f"+1555{n:07d}", uniqueid=f"bench.{n}", reply=_reply)
            start = time.perf_counter()
            commands = await call.run(port)
            latencies.append(time.perf_counter() - start)
            assert commands[-1].startswith("SET VARIABLE CALLBACK_PROMPT"), commands

    with _timed() as spent:
        await asyncio.gather(*(client() for _ in range(clients)))
    return spent[0], spent[1], latencies


def ours(store: str, server: PostgresServer | None) -> "Bench":
    """The service on ``store``, a fresh one for each run (a new file, a new database)."""

    async def bench(workdir: Path, clients: int, requests: int) -> Measured:
        settings = Settings(  # its own FastAGI server, for this bench's clients only
            agi_host=LOOPBACK, agi_port=0, ami_enabled=False, log_level="WARNING",
            allowed_number_prefixes=TESTBED_NUMBERS,
        )  # fmt: skip
        settings = on_store(settings, store, server, workdir, "ours")
        async with Service(settings) as service:
            assert service.agi is not None
            return await _clients(service.agi.port, clients, requests)

    return bench


def stock(store_kind: str) -> "Bench":
    """panoramisk's own FastAGI server and a plain handler (tests/bench/fastagi_stock.py)."""

    async def bench(workdir: Path, clients: int, requests: int) -> Measured:
        async with stock_server(store_kind, workdir) as port:
            return await _clients(port, clients, requests)

    return bench


async def ceiling(workdir: Path, _clients: int, requests: int) -> Measured:
    """Durable commits alone, one after another: what the disk allows."""
    db = await aiosqlite.connect(workdir / "ceiling.sqlite3", isolation_level=None)
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")
    await db.execute("CREATE TABLE r (id TEXT PRIMARY KEY, number TEXT)")
    latencies = []
    with _timed() as spent:
        for n in range(requests):
            t = time.perf_counter()
            await db.execute("BEGIN IMMEDIATE")
            await db.execute("INSERT INTO r VALUES (?, ?)", (str(n), f"+1555{n:07d}"))
            await db.execute("COMMIT")
            latencies.append(time.perf_counter() - t)
    await db.close()
    return spent[0], spent[1], latencies


def pg_ceiling(url: str) -> "Bench":
    """Durable commits alone on PostgreSQL, one after another (one connection, autocommit)."""

    async def bench(_workdir: Path, _clients: int, requests: int) -> Measured:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
            await db.execute("CREATE TABLE IF NOT EXISTS r (id TEXT PRIMARY KEY, number TEXT)")
            await db.execute("TRUNCATE r")
            latencies = []
            with _timed() as spent:
                for n in range(requests):
                    t = time.perf_counter()
                    await db.execute("INSERT INTO r VALUES (%s, %s)", (str(n), f"+1555{n:07d}"))
                    latencies.append(time.perf_counter() - t)
            return spent[0], spent[1], latencies

    return bench


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


Bench = Callable[[Path, int, int], Awaitable[Measured]]


async def run(
    clients: int, requests: int, runs: int, stores: list[str]
) -> dict[str, dict[str, float]]:
    with postgres_if(stores) as server:
        variants: dict[str, Bench] = {f"ours {store}": ours(store, server) for store in stores}
        variants["stock sqlite"] = stock("same-work")
        variants["stock-bare sqlite"] = stock("bare")
        for store in stores:
            if store == "sqlite":
                variants["ceiling sqlite"] = ceiling
            else:
                assert server is not None
                variants["ceiling postgres"] = pg_ceiling(server.new_database())
        return await _measure(variants, clients, requests, runs)


async def _measure(
    variants: dict[str, Bench], clients: int, requests: int, runs: int
) -> dict[str, dict[str, float]]:
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, bench in variants.items():  # interleaved: noise hits all of them alike
            with tempfile.TemporaryDirectory() as tmp:
                seconds, cpu, latencies = await bench(Path(tmp), clients, requests)
            results[name].append(
                {
                    "per_second": requests / seconds,
                    "p50_ms": _pct(latencies, 50) * 1000,
                    "p99_ms": _pct(latencies, 99) * 1000,
                    "cpu_ms": cpu / requests * 1000,
                }
            )
    return {
        name: {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        for name, rows in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--loop", choices=["uvloop", "asyncio"], default="uvloop",
        help="every variant's event loop (default: uvloop, the service's own)",
    )  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="a tiny run, to keep it working")
    stores_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.requests, args.runs = 4, 40, 1
    measuring = run(args.clients, args.requests, args.runs, args.stores)
    table = uvloop.run(measuring) if args.loop == "uvloop" else asyncio.run(measuring)
    base = f"ours {args.stores[0]}"
    base_rate = table[base]["per_second"]
    print(f"FastAGI request handler: {args.clients} clients, {args.requests} requests, "
          f"median of {args.runs} runs, {args.loop}")  # fmt: skip
    print(f"{'variant':<17} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}"
          f" {'/ ' + base:>15}")  # fmt: skip
    for name, row in table.items():
        print(
            f"{name:<17} {row['per_second']:>11.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}"
            f" {row['cpu_ms']:>11.3f} {row['per_second'] / base_rate:>15.2f}"
        )
    print(json.dumps(table))


if __name__ == "__main__":
    main()
