"""Sampling the running service with py-spy, and where its samples fall.

``py-spy record --format raw`` writes one line per distinct stack: the frames from the root
to the leaf, ";"-separated (each "function (file:line)"), then the number of samples. A
bucket counts a sample when any frame of its stack is in the bucket's files (inclusive:
buckets overlap, a commit called from the handler is in both); the leaf functions give
the exclusive view. Only the thread holding the GIL is sampled (--gil): the Python code
running, not a thread waiting in select() or in SQLite's C code. py-spy samples without
stopping the process (--nonblocking) and costs a little CPU, so the CPU tables come from
runs without it.
"""

import asyncio
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("AMI: reading, parsing events", ("/panoramisk/ami_protocol.py", "/panoramisk/message.py",
                                      "/panoramisk/manager.py", "/panoramisk/actions.py")),
    ("AMI: queueing, applying events", ("/agi_app/pbx/ami.py", "/agi_app/serving/")),
    ("FastAGI: sessions, AGI commands", ("/agi_app/ivr/fastagi.py", "/agi_app/ivr/environment.py",
                                         "/panoramisk/fast_agi.py", "/panoramisk/utils.py")),
    ("request handler", ("/agi_app/ivr/request_dialogue.py",)),
    ("number rules (phonenumbers)", ("/phonenumbers/",)),
    ("store", ("/agi_app/store", "/aiosqlite/")),
    ("logging", ("/logging/",)),
    ("event loop, sockets (asyncio)", ("/asyncio/", "/selectors.py")),
]  # fmt: skip


def py_spy() -> str:
    """The py-spy next to this interpreter or on PATH, installed with pip when missing."""
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
        found = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    assert found is not None, "py-spy did not install"
    return found


class Recording:
    """py-spy sampling ``pid`` from start() to stop() (it needs root, or ptrace rights)."""

    def __init__(self, pid: int, output: Path, rate: int = 100) -> None:
        self.pid, self.output, self.rate = pid, output, rate
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            py_spy(), "record", "--pid", str(self.pid), "--rate", str(self.rate),
            "--format", "raw", "--full-filenames", "--nonblocking", "--gil",
            "--output", str(self.output),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    async def stop(self) -> dict[str, float]:
        """Stop sampling (SIGINT: py-spy writes what it has); the summary of the samples."""
        assert self._process is not None
        if self._process.returncode is None:
            self._process.send_signal(signal.SIGINT)
        await asyncio.wait_for(self._process.wait(), 30)
        return summarize(self.output.read_text() if self.output.exists() else "")


def _stacks(raw: str) -> list[tuple[list[str], int]]:
    out = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out.append((stack.split(";"), int(count)))
    return out


def _leaf_name(frame: str) -> str:
    """ "func (/path/to/pkg/mod.py:12)" -> "pkg/mod.py:func"."""
    function, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    return f"{'/'.join(path.split('/')[-2:])}:{function}"


def summarize(raw: str, top: int = 12) -> dict[str, float]:
    """Shares of the samples (0..1): per bucket (inclusive), and the top leaf functions."""
    stacks = _stacks(raw)
    total = sum(n for _, n in stacks)
    out: dict[str, float] = {"samples": float(total)}
    if not total:
        return out
    for name, files in BUCKETS:
        hits = sum(n for frames, n in stacks if any(f in fr for fr in frames for f in files))
        out[name] = hits / total
    leaves: Counter[str] = Counter()
    for frames, n in stacks:
        leaves[_leaf_name(frames[-1])] += n
    for name, n in leaves.most_common(top):
        out[f"self {name}"] = n / total
    return out
