"""A real softphone for the acceptance tests: baresip (Debian's package), run headless.

Each :class:`Softphone` gets its own configuration directory (``baresip -f DIR``), listens on
a free loopback UDP port, registers one account with its password and answers every call at
once (``answermode=auto``). No user interface module is loaded, so nothing reads stdin; what it
sends and receives is read back from its SIP trace (``-s``) on stdout. Leaving the context
sends SIGTERM, on which baresip unregisters (REGISTER with ``expires=0``) before it exits.
"""

import asyncio
import re
import signal
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.support.sipp import free_udp_port
from tests.support.testbed import current

MODULES = Path("/usr/lib/baresip/modules")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# One traced message: "UDP from -> to", the start line and headers, then a blank line.
_TRACED = re.compile(r"^UDP (\S+) -> (\S+)\n(.+?)(?:\n\n|\Z)", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Traced:
    """One SIP message in baresip's trace."""

    source: str
    destination: str
    start_line: str
    headers: dict[str, str]


def parse_trace(text: str) -> list[Traced]:
    messages = []
    for source, destination, head in _TRACED.findall(_ANSI.sub("", text)):
        start_line, *lines = head.splitlines()
        headers: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                headers.setdefault(name.strip().lower(), value.strip())
        messages.append(Traced(source, destination, start_line, headers))
    return messages


class Softphone:
    """baresip registered as ``user`` at the worker's Asterisk, answering every call."""

    def __init__(self, workdir: Path, user: str, password: str, *, registrar: str = "") -> None:
        self.user = user
        self.port = free_udp_port()
        self._dir = workdir / f"baresip-{user}"
        self._trace = self._dir / "trace.txt"
        self._password = password
        self._registrar = registrar or current().asterisk.sip
        self._process: asyncio.subprocess.Process | None = None

    def _configure(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        rtp = free_udp_port()
        (self._dir / "config").write_text(
            f"sip_listen {current().host}:{self.port}\n"
            "sip_transports udp\n"
            # No sound card: the microphone plays back what the speaker hears (aubridge).
            "audio_player aubridge,softphone\n"
            "audio_alert aubridge,softphone\n"
            "audio_source aubridge,softphone\n"
            f"rtp_ports {rtp}-{rtp + 1}\n"
            f"module_path {MODULES}\n"
            "module g711.so\n"
            "module aubridge.so\n"
            "module_app account.so\n"
            "module_app menu.so\n"
        )
        (self._dir / "accounts").write_text(
            f"<sip:{self.user}@{self._registrar};transport=udp>"
            f";auth_pass={self._password};answermode=auto;regint=60;audio_codecs=PCMU\n"
        )
        (self._dir / "contacts").write_text("")

    def trace(self) -> list[Traced]:
        return parse_trace(self._trace.read_text()) if self._trace.exists() else []

    def received(self, method: str) -> list[Traced]:
        """Requests of ``method`` that reached the softphone."""
        return [
            m
            for m in self.trace()
            if m.destination.endswith(f":{self.port}") and m.start_line.startswith(f"{method} ")
        ]

    def calls(self) -> list[Traced]:
        """The INVITEs that started a call to the softphone (re-INVITEs left out)."""
        return [m for m in self.received("INVITE") if ";tag=" not in m.headers.get("to", "")]

    def received_responses(self, status: int, method: str) -> list[Traced]:
        """Responses with ``status`` to the softphone's ``method`` requests."""
        return self._responses(status, method, to_us=True)

    def sent_responses(self, status: int, method: str) -> list[Traced]:
        """Responses with ``status`` the softphone sent to ``method`` requests."""
        return self._responses(status, method, to_us=False)

    def _responses(self, status: int, method: str, *, to_us: bool) -> list[Traced]:
        end = "destination" if to_us else "source"
        return [
            m
            for m in self.trace()
            if getattr(m, end).endswith(f":{self.port}")
            and m.start_line.startswith(f"SIP/2.0 {status} ")
            and m.headers.get("cseq", "").endswith(f" {method}")
        ]

    async def __aenter__(self) -> Self:
        self._configure()
        with self._trace.open("wb") as out:
            self._process = await asyncio.create_subprocess_exec(
                "baresip",
                "-f",
                str(self._dir),
                "-s",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)  # baresip unregisters, then exits
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
