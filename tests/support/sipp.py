"""SIPp callers for the acceptance tests: scenarios from ``scenarios/*.xml``, run as processes.

SIPp substitutes ``-key`` values in message text but not in XML attributes, so per-test
details (DTMF pcaps, SDP ports) are filled into the scenario file's ``${placeholders}``.

A caller waits for a nudge before each group of keys (one pcap of RFC 4733 events): the
test sends a SIP INFO with the call's Call-ID once the condition it waits for holds (the
caller is in the queue, a prompt started), so no scenario guesses how long anything takes.
"""

import asyncio
import itertools
import socket
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from xml.sax.saxutils import escape

from tests.support.dtmf import write_dtmf_pcap
from tests.support.poll import eventually_local
from tests.support.testbed import LOOPBACK, SIP_PORT, current

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
# This worker's own ports (testbed.udp_ports), taken in turn: a port checked free stays ours
# until SIPp binds it, since no other worker draws from the range.
_ports = itertools.cycle(current().udp_ports())


def free_udp_port() -> int:
    """A port free on the worker's Asterisk address and on LOOPBACK (a caller's SIP goes on
    the one, its media on the other), with the two after it left alone."""
    hosts = {current().host, LOOPBACK}
    while True:
        port = next(_ports)
        # SIPp binds port and port+2 for media: keep them apart.
        next(_ports)
        next(_ports)
        if all(_bindable(host, port) for host in hosts):
            return port


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def address_options(host: str) -> list[str]:
    """SIPp's options for a caller of the Asterisk on ``host``: SIP bound to that address
    (an unbound socket sends from LOOPBACK, which another instance's carrier trunk does not
    match), media on LOOPBACK, where the RTP sinks listen (the SDP names the media address)."""
    return ["-i", host, "-bind_local", "-mi", LOOPBACK]


def scenario(name: str, **values: object) -> str:
    """The scenario ``scenarios/<name>.xml`` with its ``${placeholders}`` filled."""
    return Template((SCENARIOS / f"{name}.xml").read_text()).substitute(values)


def bulk_caller_scenario(presses: list[tuple[int, Path]]) -> str:
    """Many callers from one SIPp process (numbers from an -inf file as [field0]): after the
    answer, each (pause ms, pcap) plays its keys; then the caller waits for Asterisk's BYE."""
    steps = "".join(
        scenario("bulk-press-step", pause_ms=pause_ms, pcap=pcap) for pause_ms, pcap in presses
    )
    return scenario("bulk-press", presses=steps)


@dataclass
class Caller:
    """One SIPp call from the carrier: a customer dialing ``did`` from ``number``."""

    did: str
    number: str
    workdir: Path
    name: str = ""
    key_groups: list[str] = field(default_factory=list)  # one group of keys per nudge
    # A group's own RTP instead of its keys' (e.g. a spoken message: speech.message_pcap).
    pcaps: dict[int, Path] = field(default_factory=dict)
    anonymous: bool = False
    step_timeout_s: int = 30
    bye_timeout_s: int = 60
    rtp_port: int = 0
    expect_failure: bool = False  # the call must be refused (4xx/5xx/6xx), never answered
    host: str = ""  # the carrier's address, and Asterisk's: the worker's unless given

    def __post_init__(self) -> None:
        self.host = self.host or current().host
        self.sip_port = free_udp_port()
        self.media_port = free_udp_port()
        self.call_id = f"caller-{self.sip_port}-1"
        self._nudges = 0
        self._process: asyncio.subprocess.Process | None = None
        self.messages = self.workdir / f"caller-{self.sip_port}-messages.log"
        self.errors = self.workdir / f"caller-{self.sip_port}-errors.log"

    def scenario(self) -> str:
        if self.expect_failure:
            return scenario("refused", from_user=self.number)
        steps = []
        for group, keys in enumerate(self.key_groups):
            pcap = (
                self.pcaps.get(group) or self.workdir / f"caller-{self.sip_port}-keys{group}.pcap"
            )
            if group not in self.pcaps:
                write_dtmf_pcap(pcap, keys, group)
            steps.append(scenario("caller-step", timeout_ms=self.step_timeout_s * 1000, pcap=pcap))
        if self.anonymous:
            from_display, from_user = '"Anonymous" ', "anonymous"
            extra = "Privacy: id\n      "
        else:
            quoted = self.name.replace("\\", "\\\\").replace('"', '\\"')  # RFC 3261 quoted-string
            from_display = f'"{escape(quoted)}" ' if self.name else ""
            from_user, extra = self.number, ""
        return scenario(
            "caller",
            from_display=from_display,
            from_user=from_user,
            extra_headers=extra,
            rtp_port=self.rtp_port or self.media_port,
            steps="".join(steps),
            bye_timeout_ms=self.bye_timeout_s * 1000,
        )

    async def start(self) -> None:
        path = self.workdir / f"caller-{self.sip_port}.xml"
        path.write_text(self.scenario())
        self._process = await asyncio.create_subprocess_exec(
            "sipp", f"{self.host}:{SIP_PORT}", "-sf", str(path), "-s", self.did, "-m", "1",
            "-l", "1", *address_options(self.host),
            "-p", str(self.sip_port), "-mp", str(self.media_port),
            "-cid_str", f"caller-{self.sip_port}-%u", "-nostdin", "-timeout", "180s",
            "-trace_msg", "-message_file", str(self.messages),
            "-trace_err", "-error_file", str(self.errors),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip

    async def nudge(self) -> None:
        """Tell the caller to press its next group of keys; returns once SIPp took it."""
        self._nudges += 1
        branch = f"z9hG4bK-nudge-{self.sip_port}-{self._nudges}"
        message = (
            f"INFO sip:{self.number}@{self.host}:{self.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {LOOPBACK}:9;branch={branch}\r\n"
            f"From: <sip:test@{LOOPBACK}>;tag=nudge\r\n"
            f"To: <sip:{self.number}@{self.host}>;tag=caller\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {self._nudges} INFO\r\n"
            "Max-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        # SIPp sends its 200 OK to Asterisk (its only peer), so look for it in its trace.
        taken = f"SIP/2.0 200 OK\nVia: SIP/2.0/UDP {LOOPBACK}:9;branch={branch}"
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            resend_at = 0.0

            def sent_and_taken() -> bool:  # UDP: resend until taken (SIPp absorbs retransmissions)
                nonlocal resend_at
                if taken in self._trace():
                    return True
                if loop.time() >= resend_at:
                    s.sendto(message.encode(), (self.host, self.sip_port))
                    resend_at = loop.time() + 0.3
                return False

            await eventually_local(
                sent_and_taken, bool, within=3,
                what=f"caller {self.number} taking nudge {self._nudges}", interval=0.02,
            )  # fmt: skip

    async def finished(self, deadline_s: float = 90) -> None:
        """Wait for SIPp to end; fail with what it saw unless the scenario completed."""
        assert self._process is not None
        try:
            await asyncio.wait_for(self._process.wait(), deadline_s)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
            raise AssertionError(
                f"caller {self.number} still running:\n{self.log_tail()}"
            ) from None
        if self._process.returncode != 0:
            stderr = b""
            if self._process.stderr is not None:
                stderr = await self._process.stderr.read()
            raise AssertionError(
                f"caller {self.number} failed (sipp exit {self._process.returncode}):"
                f" {stderr.decode(errors='replace')[-800:]}\n{self.log_tail()}"
            )

    def _trace(self) -> str:
        return self.messages.read_text(errors="replace") if self.messages.exists() else ""

    def received(self, method_or_code: str) -> bool:
        text = self._trace()
        return any(
            line.startswith(method_or_code) or line.startswith(f"SIP/2.0 {method_or_code}")
            for line in text.splitlines()
        )

    def log_tail(self) -> str:
        parts = []
        for path in (self.errors, self.messages):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    async def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
