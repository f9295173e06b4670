"""A process that takes the serving role and holds it, as a service would (its own process,
to kill -9 or freeze): ``python -m tests.support.leader_process URL TIMEOUT NAME``.

It prints "leading <epoch>" when it leads and "lost" when it no longer does (its log lines
between them); ``LeaderProcess`` runs one and reads those lines.
"""

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from agi_app.store.postgres.leadership import PgLeadership

REPO = Path(__file__).resolve().parents[2]


async def main(url: str, timeout: float, name: str) -> None:
    leadership = PgLeadership(url, timeout=timeout, holder=name)
    print(f"leading {await leadership.acquire()}", flush=True)
    await leadership.lost.wait()
    print("lost", flush=True)


class LeaderProcess:
    def __init__(self, url: str, timeout: float, name: str) -> None:
        self.args = (url, str(timeout), name)
        self.name = name
        self.lines: list[str] = []
        self.seen: dict[str, float] = {}  # line: when it was read (monotonic)
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.leader_process", *self.args,
            cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for raw in self._process.stdout:
            line = raw.decode().strip()
            self.lines.append(line)
            self.seen.setdefault(line, time.monotonic())

    def signal(self, number: signal.Signals) -> None:
        assert self._process is not None
        os.kill(self._process.pid, number)

    async def stop(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()  # a frozen one too
        await self._process.wait()
        if self._reader is not None:
            await self._reader


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), sys.argv[3]))
