"""The callback service as its own process (``python -m agi_app serve``), to kill -9 it."""

import asyncio
import os
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


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

    async def start(self, *, within: float = 20.0, **overrides: str) -> None:
        """Start it; returns once it logged in to AMI and made the store agree with Asterisk."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBACK_")}
        env["CALLBACK_CONFIG"] = "/nonexistent.toml"
        for name, value in {**self.settings, **overrides}.items():
            env[f"CALLBACK_{name.upper()}"] = value
        resumes = self.log().count("resume done")
        with self.log_file.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agi_app", "serve",
                cwd=REPO, env=env, stdout=log, stderr=log,
            )  # fmt: skip
        self.starts += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self.log().count("resume done") <= resumes:
            if self._process.returncode is not None or loop.time() > deadline:
                raise AssertionError(f"service did not come up:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)

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
