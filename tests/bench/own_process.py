"""The service as production runs it, for the benchmarks: ``python -m agi_app serve`` in its own
process (its own CPU to measure and to pin), AMI on with the callback account, web off, on the
test bed's Asterisk (its AMI, and FastAGI and the web on its address: tests/support/testbed.py).

Unless ``placement``, queue support's calling hours are closed for good: each request is
stored and serving holds it (one update), instead of placing a placeholder for it. Otherwise
every bench request would wait in the queue as a placeholder (up to placement_window, 1000),
and each step would run on an Asterisk busier than the one before."""

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.support.ami import sandbox_secret
from tests.support.testbed import TESTBED_NUMBERS, current

REPO = Path(__file__).resolve().parents[2]
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class OwnProcess:
    def __init__(self, workdir: Path, *, placement: bool = False, **settings: str) -> None:
        self.workdir = workdir
        self.log_file = workdir / "service.log"
        self.store_path = workdir / "bench.sqlite3"
        host = current().host
        self.settings = {
            "ami_host": host,
            "agi_host": host,
            "web_host": host,
            "store_path": str(self.store_path),
            "ami_secret_file": str(sandbox_secret("callback")),
            "allowed_number_prefixes": '["' + '","'.join(TESTBED_NUMBERS) + '"]',
            "web_enabled": "false",
            **settings,
        }
        if not placement:  # open half an hour a day, 12 hours from now
            hour = (datetime.now(UTC).hour + 12) % 24
            hours = {day: f"{hour:02d}:00-{hour:02d}:30" for day in _DAYS}
            closed = {"bench-closed": {"timezone": "UTC", "hours": hours}}
            self.settings["schedules"] = json.dumps(closed)
            self.settings["queue_schedules"] = '{"support": "bench-closed"}'
        self._process: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    async def start(self, within: float = 30.0) -> None:
        """Start it; returns once it has logged in to AMI and resumed (log "resume done")."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBACK_")}
        env["CALLBACK_CONFIG"] = ""
        env.update({f"CALLBACK_{k.upper()}": v for k, v in self.settings.items()})
        with self.log_file.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agi_app", "serve",
                cwd=REPO, env=env, stdout=log, stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + within
        # Without AMI there is nothing to resume: up once FastAGI listens.
        ready = "resume done" if self.settings.get("ami_enabled") != "false" else "service up"
        while ready not in self.log():
            if self._process.returncode is not None or time.monotonic() > deadline:
                await self.stop()
                raise RuntimeError(f"service did not come up:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 15)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
