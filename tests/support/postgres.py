"""A throwaway PostgreSQL server for tests, from Debian's package (apt-get install postgresql;
`make test` does): a cluster in a temporary directory, listening only on a unix socket in
it, started once per test session; each test gets an emptied database (``emptied``), or a
new one (``new_database``) where it must never have been used.

PostgreSQL refuses to run as root: as root, the server runs as the package's ``postgres``
user (``nobody`` without it). Its data need not survive the machine's crash, so it skips
fsync; a stop of the server alone (``halt``) loses no commit.
"""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

# The acceptance tier's stores: its tests that run the service run on each (the store_backend
# fixture's values), but in a module where the store plays no part (pytestmark = ONE_STORE);
# CALLBACK_TEST_STORE chooses one for every test.
TEST_STORE = "CALLBACK_TEST_STORE"
STORES = ("sqlite", "postgres")
ONE_STORE = pytest.mark.one_store

SUPERUSER = "callback"
PORT = 5432  # only names the socket file: no TCP


def binaries() -> Path:
    """The newest installed server's bin directory."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        raise RuntimeError("no PostgreSQL server: apt-get install postgresql (make test does)")
    return found[-1].parent


def _as_server_user() -> tuple[list[str], int | None]:
    """The command prefix that runs the server's programs, and the uid to own its files."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], uid
    raise RuntimeError("running as root with neither a postgres nor a nobody user")


@dataclass
class PostgresServer:
    root: Path
    bin: Path
    prefix: list[str]
    _names: "count[int]" = field(default_factory=lambda: count(1))
    _shared: str | None = None

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={quote(str(self.root), safe='')}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def new_database(self) -> str:
        """A fresh, empty database's URL (a few tenths of a second)."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url(name)

    def emptied(self) -> str:
        """The URL of the session's shared database, every table of it emptied (its schema
        kept, identities from 1 again): as good as a new one for a test, in milliseconds."""
        if self._shared is None:
            self._shared = self.new_database()
            return self._shared
        with psycopg.connect(self._shared, autocommit=True) as conn:
            tables = conn.execute(
                b"SELECT quote_ident(tablename) FROM pg_tables"
                b" WHERE schemaname = 'public' AND tablename <> 'schema_version'"
            ).fetchall()
            if tables:
                names = ", ".join(str(row[0]) for row in tables)
                conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE".encode())
        return self._shared

    def halt(self) -> None:
        """Stop the server as a crash would (its clients' connections drop)."""
        self._pg_ctl("stop", "-m", "immediate")

    def resume(self) -> None:
        """Start it (again): ready when this returns."""
        options = (
            f"-k {self.root} -p {PORT} -c listen_addresses='' -c max_connections=200"
            # a commit still writes its WAL before it returns (a halt loses nothing), only
            # not through to the disk: the machine does not crash under a test
            " -c fsync=off -c full_page_writes=off"
        )
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.root / "server.log"), "-o", options)

    def stop(self) -> None:
        """Stop it for good and remove its files."""
        with contextlib.suppress(RuntimeError):  # not running
            self.halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        _run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), *args])


def start() -> PostgresServer:
    bin_dir = binaries()
    prefix, uid = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="agi-callback-pg-"))
    if uid is not None:
        os.chown(root, uid, -1)
    server = PostgresServer(root, bin_dir, prefix)
    try:
        _run(
            [*prefix, str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER,
             "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
        )  # fmt: skip
        server.resume()
    except BaseException:
        server.stop()
        raise
    return server


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
