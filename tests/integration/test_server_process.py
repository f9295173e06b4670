"""`agi-callback serve` run as systemd runs it: settings from a TOML file, stderr a stream that
JOURNAL_STREAM names, readiness told over NOTIFY_SOCKET; stopped with SIGTERM, reloaded with
SIGHUP. FastAGI is driven by a scripted Asterisk over TCP; no AMI (ami_enabled = false)."""

import asyncio
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_asterisk import AgiCall, default_reply
from tests.support.fastagi_process import OPTIONS
from tests.support.poll import eventually_local
from tests.support.service_process import REPO

SUCCESS = 'SET VARIABLE CALLBACK_PROMPT "callback/request-successful"'
ERROR = 'SET VARIABLE CALLBACK_PROMPT "callback/error-in-request"'
# The test bed's customers are fictional +1555 numbers: let through by this prefix alone.
SETTINGS: dict[str, Any] = {
    "agi_port": 0,
    "ami_enabled": False,
    "allowed_number_prefixes": ["+1555"],
    "log_level": "INFO",
}


def in_queue(command: str) -> str:
    """Asterisk's answers for a caller third in queue support."""
    if command.startswith("GET FULL VARIABLE"):
        return "200 result=1 (1|3|5|20)"
    return default_reply(command)


def call(n: int, hold: asyncio.Event | None = None) -> AgiCall:
    return AgiCall(
        OPTIONS, callerid=f"+1555123000{n}", uniqueid=f"1795650000.{n}", reply=in_queue, hold=hold
    )


class Served:
    """One `python -m agi_app serve` process and what a service manager sees of it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.config = workdir / "callback.toml"
        self.stderr = workdir / "stderr.log"
        self.store = workdir / "callbacks.sqlite3"
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(str(workdir / "notify"))
        self._notify.setblocking(False)
        self.notified: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self.port = 0

    def write_config(self, **settings: Any) -> None:
        """A TOML file (the values used here are written the same in JSON)."""
        settings = {"store_path": str(self.store), **settings}
        lines = [f"{name} = {json.dumps(value)}" for name, value in settings.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("CALLBACK_")}
        return {**keep, "CALLBACK_CONFIG": str(self.config)}

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def states(self) -> list[str]:
        while True:
            try:
                self.notified.append(self._notify.recv(4096).decode())
            except BlockingIOError:
                return self.notified

    async def until(self, what: str, probe: Callable[[], bool], within: float = 20) -> None:
        try:
            await eventually_local(probe, bool, within=within, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the service's log:\n{self.log()[-3000:]}") from None

    async def start(self) -> None:
        with self.stderr.open("ab") as stderr:
            found = os.fstat(stderr.fileno())
            env = {
                **self.env(),
                "NOTIFY_SOCKET": str(self.workdir / "notify"),
                "JOURNAL_STREAM": f"{found.st_dev}:{found.st_ino}",
            }
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agi_app", "serve",
                cwd=REPO, env=env, stdout=stderr, stderr=stderr,
            )  # fmt: skip
        await self.until("READY=1", lambda: "READY=1" in self.states() or self.exited())
        up = re.search(r"service up: fastagi [^ ]+:(\d+)", self.log())
        assert up is not None, self.log()
        self.port = int(up[1])

    def exited(self) -> bool:
        return self.process is None or self.process.returncode is not None

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    async def exit_code(self, within: float = 20) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), within)

    async def waiting(self) -> list[dict[str, Any]]:
        """The waiting requests as `agi-callback list --json` shows them."""
        listing = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agi_app", "list", "--json",
            cwd=REPO, env=self.env(), stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await listing.communicate()
        assert listing.returncode == 0
        rows: list[dict[str, Any]] = json.loads(out)
        return rows

    def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
        self._notify.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    service = Served(tmp_path)
    service.write_config(**SETTINGS)
    try:
        yield service
    finally:
        service.close()
        if service.process is not None:
            await service.process.wait()


async def test_sigterm_lets_the_session_in_flight_finish_and_keeps_the_request(
    served: Served,
) -> None:
    await served.start()
    # journald's form: its own timestamp, so none here; the level as a syslog priority.
    assert re.search(r"^<6>INFO agi_app\.app\.service: service up: fastagi", served.log(), re.M)
    hold = asyncio.Event()
    caller = call(1, hold)
    session = asyncio.ensure_future(caller.run(served.port, within=30))
    await served.until("the session in flight", lambda: bool(caller.commands))
    served.signal(signal.SIGTERM)
    await served.until(
        "stopping", lambda: "fastagi stopping: 1 in flight, 5s to finish" in served.log()
    )
    assert "STOPPING=1" in served.states()
    with pytest.raises(ConnectionRefusedError):  # no new session once stopping
        await asyncio.open_connection("127.0.0.1", served.port)
    hold.set()  # Asterisk answers again: the session goes on to its end
    commands = await session
    assert commands[-1] == SUCCESS
    assert await served.exit_code() == 0
    waiting = await served.waiting()
    assert [(r["callback_number"], r["state"]) for r in waiting] == [("+15551230001", "pending")]


async def test_sigterm_ends_a_session_that_does_not_finish_within_the_grace(
    served: Served,
) -> None:
    await served.start()
    never = asyncio.Event()  # an Asterisk that stops answering mid-session
    caller = call(1, never)
    session = asyncio.ensure_future(caller.run(served.port, within=30))
    await served.until("the session in flight", lambda: bool(caller.commands))
    served.signal(signal.SIGTERM)
    assert await served.exit_code(within=15) == 0
    assert "fastagi stopping: 1 not finished in 5s, ended" in served.log()
    never.set()  # the connection is gone: no answer comes to what Asterisk says now
    assert SUCCESS not in await session
    assert await served.waiting() == []


async def test_sighup_applies_the_new_settings_without_a_restart(served: Served) -> None:
    await served.start()
    assert process_id(served) and (await call(1).run(served.port))[-1] == SUCCESS
    pid = process_id(served)
    # The stored request's line names the caller by the last four digits alone.
    assert "+…0001" in served.log() and "+15551230001" not in served.log()

    # The fictional numbers no longer let through, quieter logs, and one change that waits.
    served.write_config(
        **{**SETTINGS, "allowed_number_prefixes": [], "log_level": "WARNING", "agi_max_sessions": 9}
    )
    await reload(served, 1)
    assert "reload: agi_max_sessions changed, needs a restart to apply" in served.log()
    assert "reload: allowed_number_prefixes, log_level now in force" in served.log()
    assert (await call(2).run(served.port))[-1] == ERROR
    assert "code=blocked-number" in served.log()

    # Let through again: stored, and at WARNING its INFO line is not written.
    served.write_config(**{**SETTINGS, "log_level": "WARNING"})
    await reload(served, 2)
    assert (await call(3).run(served.port))[-1] == SUCCESS
    assert "…0003" not in served.log()

    # A file that does not parse changes nothing.
    served.config.write_text("allowed_number_prefixes = [\n")
    await reload(served, 3)
    assert "reload refused, the running settings stay" in served.log()
    assert (await call(4).run(served.port))[-1] == SUCCESS

    assert process_id(served) == pid and not served.exited()
    served.write_config(**SETTINGS)  # for `agi-callback list`
    numbers = [r["callback_number"] for r in await served.waiting()]
    assert sorted(numbers) == ["+15551230001", "+15551230003", "+15551230004"]


def process_id(served: Served) -> int:
    assert served.process is not None
    return served.process.pid


async def reload(served: Served, n: int) -> None:
    """SIGHUP, and wait for the service to say it is ready again (RELOADING=1, READY=1)."""
    served.signal(signal.SIGHUP)
    await served.until(
        f"reload {n} done",
        lambda: served.states().count("RELOADING=1") == n and served.states()[-1] == "READY=1",
    )
