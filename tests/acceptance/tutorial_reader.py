"""A reader of a tutorial page who does what it says: its shell blocks run in order, as
written, and the configuration it asks for is written where it says.

A block is run as written but for the paths the test maps (``paths``: the tutorial's
``/etc/asterisk`` is a copy in the test's directory, for instance) and ``asterisk -rx
"COMMAND"``, which reaches the sandboxed Asterisk (docker/sandbox cli). A one-line HTML
comment just before a block, invisible on the site, says how it is run:

- none: a shell block must exit 0; a block of another language (a configuration example)
  is not run;
- ``test: prints "TEXT"``: it exits 0 and prints TEXT;
- ``test: exit status N``: its last command ends with status N (``sipp -bg``'s 99), the
  others' are not checked;
- ``test: until it prints "TEXT" (N s)``: run again until it does, for N seconds at most
  (what the reader waits for: a phone to ring, a call to end);
- ``test: in the background; ready when HOST:PORT answers``: started, left running until the
  end (a service in its own terminal), and waited for until HOST:PORT accepts connections;
- ``test: write PATH`` / ``test: append to PATH``: the block's text goes into that file;
- ``test: not run: REASON``: not run, for the reason given;
- ``test: call: +NUMBER dials EXTEN and presses KEY`` (a comment alone, not before a block):
  a phone call the reader makes at that point, played by the test (``on_call``).
"""

import asyncio
import os
import re
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

REPO = Path(__file__).resolve().parents[2]

_DIRECTIVE = re.compile(r"^<!-- test: (.+?) -->$")
_FENCE = re.compile(r"^```(\w*)\s*$")
_PRINTS = re.compile(r'^prints "(.+)"$')
_UNTIL = re.compile(r'^until it prints "(.+)" \((\d+) s\)$')
_BACKGROUND = re.compile(r"^in the background; ready when ([\d.]+):(\d+) answers$")
_STATUS = re.compile(r"^exit status (\d+)$")
_CALL = re.compile(r"^call: (\+\d+) dials (\d+) and presses (\d)$")
_BG_PID = re.compile(r"PID=\[(\d+)\]")  # what `sipp -bg` prints

# `asterisk -rx "COMMAND"` as the admin types it, on the sandboxed Asterisk.
_PRELUDE = f"""asterisk() {{
    [ "$1" = -rx ] || {{ echo "the test runs only asterisk -rx" >&2; return 2; }}
    {REPO}/docker/sandbox cli "$2"
}}
"""
_BLOCK_S = 600.0  # a block's bound (make wheel, pip install: dependencies from PyPI)
_READY_S = 120.0


@dataclass(frozen=True)
class Step:
    line: int  # where it is on the page, for the report
    directive: str  # "" when none
    language: str | None  # None: a directive alone (a call)
    text: str


def steps(page: Path) -> list[Step]:
    lines = page.read_text().splitlines()
    found: list[Step] = []
    pending: tuple[int, str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if directive := _DIRECTIVE.match(line.strip()):
            if pending is not None:
                found.append(Step(pending[0], pending[1], None, ""))
            pending = (i + 1, directive[1])
        elif fence := _FENCE.match(line):
            end = lines.index("```", i + 1)
            said = pending[1] if pending is not None else ""
            found.append(Step(i + 1, said, fence[1], "\n".join(lines[i + 1 : end])))
            pending, i = None, end
        elif line.strip() and pending is not None:  # prose follows: the comment stands alone
            found.append(Step(pending[0], pending[1], None, ""))
            pending = None
        i += 1
    if pending is not None:
        found.append(Step(pending[0], pending[1], None, ""))
    return found


class Reader:
    def __init__(
        self,
        page: Path,
        *,
        paths: dict[str, Path],
        env: dict[str, str],
        on_call: Callable[[str, str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.page = page
        # Longest first: /etc/agi-callback/callback.toml before /etc/agi-callback.
        self.paths = sorted(paths.items(), key=lambda p: -len(p[0]))
        self.env = env
        self.on_call = on_call
        self.background: list[asyncio.subprocess.Process] = []
        self.daemons: list[int] = []  # `sipp -bg` phones the page started

    async def __aenter__(self) -> "Reader":
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        for pid in self.daemons:
            _kill(pid, signal.SIGKILL)
        for process in self.background:  # as Ctrl-C in its terminal would
            _kill(-process.pid, signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                _kill(-process.pid, signal.SIGKILL)
                await process.wait()

    def mapped(self, text: str) -> str:
        for literal, path in self.paths:
            text = text.replace(literal, str(path))
        return text

    async def run(self) -> None:
        taken = steps(self.page)
        assert any(s.language == "sh" for s in taken), f"{self.page}: no shell block"
        for step in taken:
            await self.take(step)

    async def take(self, step: Step) -> None:
        where = f"{self.page.name}:{step.line}"
        said = step.directive
        if said.startswith("not run: "):
            assert said.removeprefix("not run: ").strip(), f"{where}: say why it is not run"
            return
        if step.language is None:
            call = _CALL.match(said)
            assert call is not None, f"{where}: a comment alone must be a call: {said!r}"
            assert self.on_call is not None, f"{where}: this page's test plays no call"
            await self.on_call(call[1], call[2], call[3])
            return
        for verb, mode in (("write ", "w"), ("append to ", "a")):
            if said.startswith(verb):
                _write(Path(self.mapped(said.removeprefix(verb))), mode, self.mapped(step.text))
                return
        if step.language != "sh":
            assert not said, f"{where}: a {step.language or 'plain'} block is not run: {said!r}"
            return
        script = self.mapped(step.text)
        if background := _BACKGROUND.match(said):
            await self.start(where, script, background[1], int(background[2]))
        elif prints := _PRINTS.match(said):
            out = await self.shell(where, script)
            assert prints[1] in out, f"{where}: does not print {prints[1]!r}:\n{out}"
        elif status := _STATUS.match(said):
            await self.shell(where, script, status=int(status[1]))
        elif until := _UNTIL.match(said):
            deadline = time.monotonic() + int(until[2])
            while True:  # what a reader does while a phone rings: look again
                ended, out = await self.run_block(where, script, strict=True)
                if ended == 0 and until[1] in out:
                    break
                assert time.monotonic() < deadline, f"{where}: never printed {until[1]!r}:\n{out}"
                await asyncio.sleep(0.5)
        else:
            assert not said, f"{where}: unknown directive {said!r}"
            await self.shell(where, script)

    async def shell(self, where: str, script: str, *, status: int = 0) -> str:
        """Run a block; its exit status must be ``status`` (0: every command's)."""
        ended, out = await self.run_block(where, script, strict=status == 0)
        assert ended == status, f"{where}: exit status {ended}:\n{out[-4000:]}"
        return out

    async def run_block(self, where: str, script: str, *, strict: bool) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            "bash", "-c", _PRELUDE + ("set -eo pipefail\n" if strict else "") + script,
            cwd=REPO, env=self.env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            raw, _ = await asyncio.wait_for(process.communicate(), _BLOCK_S)
        except TimeoutError:
            process.kill()
            raise AssertionError(f"{where}: still running after {_BLOCK_S:.0f} s") from None
        out = raw.decode(errors="replace")
        self.daemons += [int(pid) for pid in _BG_PID.findall(out)]
        assert process.returncode is not None
        return process.returncode, out

    async def start(self, where: str, script: str, host: str, port: int) -> None:
        log_path = Path(self.env["TUTORIAL_DIR"]) / f"background-{len(self.background)}.log"
        output = _log_file(log_path)
        process = await asyncio.create_subprocess_exec(
            "bash", "-c", _PRELUDE + script,
            cwd=REPO, env=self.env, stdout=output, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole at the end
        )  # fmt: skip
        output.close()
        self.background.append(process)
        deadline = time.monotonic() + _READY_S
        while not await asyncio.to_thread(_answers, host, port):
            log = _tail(log_path)
            assert process.returncode is None, f"{where}: ended ({process.returncode}):\n{log}"
            assert time.monotonic() < deadline, f"{where}: {host}:{port} never answered:\n{log}"
            await asyncio.sleep(0.5)


def _write(path: Path, mode: str, text: str) -> None:
    with path.open(mode) as out:
        out.write("\n" + text + "\n")


def _log_file(path: Path) -> BinaryIO:
    return path.open("wb")


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _kill(pid: int, sig: signal.Signals) -> None:
    try:
        if pid < 0:
            os.killpg(-pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def reader_env(workdir: Path, **values: str) -> dict[str, str]:
    """The environment of an admin's shell: this machine's, without the test run's own
    settings (CALLBACK_*, the worker's), and with ``values``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CALLBACK_", "PYTEST_", "MAKE"))
    }
    env.pop("MFLAGS", None)
    return env | {"TUTORIAL_DIR": str(workdir)} | values
