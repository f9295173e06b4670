"""The stores a benchmark runs on (``--stores sqlite,postgres``), each measured in the same run.

PostgreSQL is the test bed's throwaway cluster (tests/support/postgres.py), restarted with
``fsync`` and ``full_page_writes`` on: the test bed skips them to go fast, but a benchmark
must compare a commit as durable as the SQLite store's (WAL, synchronous=FULL), which is what
the success prompt promises the caller on either store.
"""

import argparse
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agi_app.config.settings import Settings
from tests.support.postgres import PORT, PostgresServer, start

STORES = ("sqlite", "postgres")
BASELINE = "sqlite"  # every ratio is against SQLite measured in the same run


def stores_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stores",
        default=",".join(STORES),
        type=parse_stores,
        help="the stores to run each step on, in this order (default: sqlite,postgres)",
    )


def parse_stores(text: str) -> list[str]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in STORES]
    if unknown or not chosen or len(set(chosen)) != len(chosen):
        raise argparse.ArgumentTypeError(f"{text!r}: a list of {', '.join(STORES)}")
    return chosen


@contextmanager
def durable_postgres() -> Iterator[PostgresServer]:
    """The throwaway cluster, with every commit flushed to the disk before it returns."""
    server = start()
    try:
        pg_ctl = [*server.prefix, str(server.bin / "pg_ctl"), "-D", str(server.root / "data")]
        _run([*pg_ctl, "stop", "-m", "fast"])
        options = (
            f"-k {server.root} -p {PORT} -c listen_addresses='' -c max_connections=200"
            " -c fsync=on -c full_page_writes=on -c synchronous_commit=on"
        )
        log = str(server.root / "server.log")
        _run([*pg_ctl, "start", "-w", "-t", "60", "-l", log, "-o", options])
        yield server
    finally:
        server.stop()


@contextmanager
def postgres_if(stores: list[str]) -> Iterator[PostgresServer | None]:
    """A durable cluster when ``stores`` has postgres, else nothing to start."""
    if "postgres" not in stores:
        yield None
        return
    with durable_postgres() as server:
        yield server


def on_store(
    settings: Settings, store: str, server: PostgresServer | None, workdir: Path, name: str
) -> Settings:
    """``settings`` on a fresh store: a new SQLite file, or a new PostgreSQL database."""
    if store == "sqlite":
        update: dict[str, object] = {"store_path": workdir / f"{name}.sqlite3", "store_url": None}
    else:
        assert server is not None, "postgres asked for without a server"
        update = {"store_url": server.new_database()}
    return settings.model_copy(update=update)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
