"""`agi-callback serve` under a systemd that asks for a watchdog (WatchdogSec= sets
WATCHDOG_USEC): READY=1 once FastAGI listens, WATCHDOG=1 every half of the interval while it
runs, STOPPING=1 on SIGTERM. The manager's socket is a datagram socket of the test's."""

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fastagi_process import agi_port
from tests.support.poll import eventually_local
from tests.support.service_process import REPO


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        sock.setblocking(False)
        yield sock


def heard(sock: socket.socket, got: list[str]) -> list[str]:
    try:
        while True:
            got.append(sock.recv(100).decode())
    except BlockingIOError:
        return got


async def test_serve_pings_the_watchdog_from_ready_to_stopping(
    tmp_path: Path, manager: socket.socket
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLBACK_", "WATCHDOG_"))}
    env |= {
        "CALLBACK_CONFIG": "",
        "CALLBACK_STORE_PATH": str(tmp_path / "cb.sqlite3"),
        "CALLBACK_AMI_ENABLED": "false",
        "CALLBACK_WEB_ENABLED": "false",
        "CALLBACK_AGI_PORT": "0",
        "NOTIFY_SOCKET": str(tmp_path / "notify"),
        "WATCHDOG_USEC": "200000",  # a ping every 0.1 s
    }
    log = tmp_path / "service.log"
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agi_app", "serve",
            cwd=REPO, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    got: list[str] = []
    try:
        await agi_port(log, process)
        await eventually_local(
            lambda: heard(manager, got),
            lambda states: "READY=1" in states and states.count("WATCHDOG=1") >= 3,
            within=10,
            what="READY=1 and the watchdog's pings",
        )
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    heard(manager, got)
    assert set(got) == {"READY=1", "WATCHDOG=1", "STOPPING=1"}, got
    assert "ping not delivered" not in log.read_text()
