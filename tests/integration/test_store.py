"""What only the SQLite store has: its file (WAL, modes, damage, locks) and its migrations.

The behaviour every store shares is in test_store_contract.py.
"""

import logging
import os
import sqlite3
import stat
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from agi_app.domain.errors import StoreCorrupt, StoreUnavailable
from agi_app.domain.request import CallOutcome, State
from agi_app.store.sqlite.migrations import MIGRATIONS
from agi_app.store.sqlite.store import Store
from tests.support.store_samples import NOW, REQUEST


async def test_durability_settings_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "cb.sqlite3"
    async with Store.open(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        await store.add(REQUEST)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM requests").fetchone()[0] == 1
    async with Store.open(path) as store:  # reopening applies nothing twice
        assert await store.get("r1") == REQUEST


async def test_locked_store_refuses_and_keeps_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cb.sqlite3"
    async with Store.open(path, busy_timeout=0.2) as store:
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreUnavailable, match="locked"):
                await store.add(REQUEST)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert await store.requests() == []
        assert await store.events("r1") == []
        await store.add(REQUEST)  # the connection is usable again
        assert await store.get("r1") == REQUEST


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cb.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreUnavailable, match="newer"):
        async with Store.open(path):
            pass


async def test_unopenable_store_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises((StoreUnavailable, OSError)):
        async with Store.open(blocker / "cb.sqlite3"):
            pass


async def test_database_refuses_a_second_active_request(tmp_path: Path) -> None:
    path = tmp_path / "cb.sqlite3"
    async with Store.open(path) as store:
        await store.add(REQUEST)
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO requests (id, channel, state, queue, priority, caller_name,"
            " caller_number, callback_number, dialed_number, queue_entered_at, requested_at,"
            " expires_at, updated_at) VALUES ('x', 'y', 'waiting', 'support', 5, '', '',"
            " '+15551230001', '5000', '', '', '', '')"
        )


async def test_a_new_store_is_private_to_its_user(tmp_path: Path) -> None:
    path = tmp_path / "var" / "cb.sqlite3"
    async with Store.open(path) as store:
        await store.add(REQUEST)  # the -wal and -shm files exist while it is open
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    assert modes == {"cb.sqlite3": 0o600, "cb.sqlite3-wal": 0o600, "cb.sqlite3-shm": 0o600}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_an_open_store_directory_is_left_as_it_is_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(0o777)
    async with Store.open(directory / "cb.sqlite3"):
        pass
    assert stat.S_IMODE(directory.stat().st_mode) == 0o777
    assert stat.S_IMODE((directory / "cb.sqlite3").stat().st_mode) == 0o600
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"store directory {directory} is writable by others: make it 0700"]


def _schema_2_store(path: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    """A store as the service wrote it before migration 3: (id, channel, state, number,
    requested_at) rows in queue support."""
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:2]:
            db.executescript(script)
        db.execute("PRAGMA user_version = 2")
        for request_id, channel, state, number, at in rows:
            db.execute(
                "INSERT INTO requests (id, channel, state, queue, priority, caller_name,"
                " caller_number, callback_number, dialed_number, queue_entered_at,"
                " requested_at, expires_at, updated_at)"
                " VALUES (?, ?, ?, 'support', 5, 'Ann', ?, ?, '5000', ?, ?, ?, ?)",
                (request_id, channel, state, number, number, at, at, at, at),
            )


async def test_upgrade_resolves_two_active_requests_for_one_number(tmp_path: Path) -> None:
    path = tmp_path / "cb.sqlite3"
    t = [(NOW + timedelta(minutes=n)).isoformat() for n in range(4)]
    _schema_2_store(
        path,
        [
            ("later", "c2", "waiting", "+15551230001", t[2]),
            ("first", "c1", "pending", "+15551230001", t[1]),
            ("finished", "c0", "done", "+15551230001", t[0]),
            ("other", "c3", "waiting", "+15551230002", t[3]),
        ],
    )
    async with Store.open(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        states = {r.id: (r.state, r.call_outcome) for r in await store.requests()}
        assert states == {
            "first": (State.PENDING, None),
            "later": (State.DONE, CallOutcome.CANCELLED),
            "finished": (State.DONE, None),
            "other": (State.WAITING, None),
        }
        (merged,) = await store.events("later")
        assert (merged.event, merged.state, merged.detail["into"]) == ("merged", "done", "first")
        (repeated,) = await store.events("first")
        assert (repeated.event, repeated.detail["merged"]) == ("repeated", "later")
        assert await store.events("other") == []


async def test_corrupt_store_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cb.sqlite3"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(StoreCorrupt, match=f"{path} is not a usable callback store"):
        async with Store.open(path):
            pass


async def test_truncated_store_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cb.sqlite3"
    requests = [
        replace(REQUEST, id=f"r{n}", channel=f"c{n}", callback_number=f"+1555123{n:04d}")
        for n in range(200)
    ]
    async with Store.open(path) as store:
        for request in requests:
            await store.add(request)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.truncate(size // 2)
    with pytest.raises(StoreCorrupt, match=f"{path} is not a usable callback store"):
        async with Store.open(path):
            pass


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_serve_on_a_corrupt_store_exits_with_one_line(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "cb.sqlite3"
    if damage == "random":
        path.write_bytes(os.urandom(8192))
    else:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t (x)")
            db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 100)
        with path.open("r+b") as file:
            file.truncate(path.stat().st_size // 2)
    path.chmod(0o600)  # as the service made it: the only line is the refusal
    env = {
        **os.environ,
        "CALLBACK_CONFIG": "",
        "CALLBACK_STORE_PATH": str(path),
        "CALLBACK_AMI_ENABLED": "false",
        "CALLBACK_WEB_ENABLED": "false",
        "CALLBACK_AGI_PORT": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "agi_app", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] and "store-corrupt" in lines[0]
