"""The callback service as its own process (``python -m agi_app serve``), to kill -9 it, or
to have it die at a point of a request (tests/support/crashing_service.py)."""

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from tests.support.poll import eventually_local
from tests.support.testbed import current

REPO = Path(__file__).resolve().parents[2]
# Read by tests/support/crashing_service.py, the entry point start(crash_at=...) runs.
CRASH_AT = "CRASH_AT"


class ServiceProcess:
    def __init__(self, workdir: Path, **settings: str) -> None:
        self.workdir = workdir
        self.settings = settings
        self.log_file = workdir / "service.log"
        self._process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def store_path(self) -> Path:
        return Path(self.settings["store_path"])

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    async def start(
        self,
        *,
        within: float = 20.0,
        crash_at: str | None = None,
        until: str = "resume done",
        **overrides: str,
    ) -> None:
        """Start it; returns once it logged in to AMI and made the store agree with Asterisk
        (once it logged ``until``: "service up" for a standby, which takes requests only).

        With ``crash_at`` ("before-commit" or "after-commit") it kills itself like kill -9 at
        that point of the first request it stores.
        """
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("CALLBACK_") and k != CRASH_AT
        }
        env["CALLBACK_CONFIG"] = ""
        # The worker's Asterisk, and its address for the FastAGI listener and the web.
        host = current().host
        bed = {"ami_host": host, "agi_host": host, "web_host": host}
        for name, value in {**bed, **self.settings, **overrides}.items():
            env[f"CALLBACK_{name.upper()}"] = value
        command = ["-m", "agi_app", "serve"]
        if crash_at is not None:
            env[CRASH_AT] = crash_at
            command = ["-m", "tests.support.crashing_service"]
        resumes = self.log().count(until)
        with self.log_file.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, *command,
                cwd=REPO, env=env, stdout=log, stderr=log,
            )  # fmt: skip
        self.starts += 1
        process = self._process

        def resumed_or_gone() -> bool:
            return process.returncode is not None or self.log().count(until) > resumes

        with contextlib.suppress(AssertionError):  # reported below, with the service's log
            await eventually_local(resumed_or_gone, bool, within=within, what="service up")
        if self.log().count(until) <= resumes:
            raise AssertionError(f"service did not come up:\n{self.log()[-3000:]}")

    async def kill9(self) -> None:
        assert self._process is not None
        if self._process.returncode is None:
            self._process.send_signal(signal.SIGKILL)
        await self._process.wait()

    async def died(self, within: float = 20.0) -> int:
        """Wait for the process to end by itself (an injected crash); its return code."""
        assert self._process is not None
        return await asyncio.wait_for(self._process.wait(), within)

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 10)
            except TimeoutError:
                await self.kill9()
