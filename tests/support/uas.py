"""SIPp phones that Asterisk calls: agents (5071..5073) and the carrier's customers (5090),
on the address of the worker's Asterisk (tests/support/testbed.py), or of another one
(``host``: the second server's).

One SIPp process in server mode per phone serves every call to its port, one after the
other or at once (each INVITE with a new Call-ID is a new call), with a fixed
:class:`Behaviour`: the scenario ``scenarios/phone-<behaviour>.xml``, its placeholders filled
as in ``sipp.py``.

What the phone received is read back from SIPp's message trace: :meth:`Phone.invites`
gives the headers of each call's INVITE (screen-pop data, caller ID), :meth:`Phone.received`
counts BYEs, CANCELs and the like. Audio goes to the port put in the SDP of the 200 OK,
normally an :class:`~tests.support.rtp.RtpSink`'s.

A phone that speaks (PERSON, PERSON_PRESSES_1, MACHINE) plays, from its answer on, a pcap of
RTP to the address and port of the SDP Asterisk sent (SIPp's play_pcap_audio, from the
phone's media port): a person's "Hello?" or an answering machine's greeting and beep
(tests/support/speech.py), for Asterisk's AMD().
"""

import asyncio
import contextlib
import os
import re
import socket
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Self
from xml.sax.saxutils import escape

from tests.support.poll import eventually_local
from tests.support.sipp import free_udp_port, scenario
from tests.support.speech import Answer, answer_pcap
from tests.support.testbed import LOOPBACK, current


class Behaviour(StrEnum):
    ANSWER = "answer"  # 180 Ringing, 200 OK at once; then wait for Asterisk's BYE
    DECLINE = "decline"  # 603 Decline
    NO_ANSWER = "no-answer"  # 180 Ringing until Asterisk gives up (CANCEL, 487)
    BUSY = "busy"  # 486 Busy Here
    # 180, 200, then speech over RTP (tests/support/speech.py) to Asterisk; then wait for its BYE.
    PERSON = "person"  # "Hello?", then silence
    PERSON_PRESSES_1 = "person-presses-1"  # as PERSON, and the key 1 at Phone.key_after_s
    MACHINE = "machine"  # an answering machine: a 4.6 s greeting, a beep, then silence


# What each speaking phone says (tests/support/speech.py).
_SPEECH = {
    Behaviour.PERSON: Answer.PERSON,
    Behaviour.PERSON_PRESSES_1: Answer.PERSON,
    Behaviour.MACHINE: Answer.MACHINE,
}


_BYE_TIMEOUT_MS = 10 * 60 * 1000


# Full names of the compact header forms (RFC 3261, 7.3.3).
_COMPACT = {
    "i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
    "c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to", "v": "via",
}  # fmt: skip
_RECEIVED = re.compile(r"^\S+ message received \[\d+\] bytes :?\s*$")
_SEPARATOR = re.compile(r"^-{10,}")
_URI_USER = re.compile(r"(?:sips?:([^@;>]+)@|tel:([^;>]+))")


def _parse(text: str) -> tuple[str, dict[str, str]]:
    """The start line and headers (lower-case names, first occurrence) of one message."""
    lines = text.split("\n")
    headers: dict[str, str] = {}
    current = ""  # the header that a folded line continues ("" if a repeated one)
    for line in lines[1:]:
        if not line.strip():
            break  # the body follows
        if line[0] in " \t":
            if current:
                headers[current] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            current = ""
            continue
        name = key.strip().lower()
        name = _COMPACT.get(name, name)
        current = "" if name in headers else name
        headers.setdefault(name, value.strip())
    return lines[0].strip(), headers


def _has_tag(header: str) -> bool:
    # The tag parameter follows the URI (after '>' when the address is in brackets).
    params = header.rsplit(">", 1)[-1] if ">" in header else header
    return re.search(r";\s*tag=", params, re.IGNORECASE) is not None


@dataclass
class Phone:
    """A SIPp UAS on ``host``:``port`` handling up to ``calls`` calls the same way. The SDP
    always names LOOPBACK, where RtpSinks listen, whichever ``host`` the phone is on."""

    port: int
    workdir: Path
    behaviour: Behaviour
    rtp_port: int = 0  # the port in our SDP (an RtpSink's); 0: SIPp's own media port
    calls: int = 50  # SIPp exits by itself after this many calls (-m)
    name: str = ""
    cancel_timeout_s: int = 600  # NO_ANSWER: how long to ring before the call fails
    host: str = ""  # the address it binds (-bind_local): the worker's Asterisk's unless given
    key_after_s: float = 3.0  # PERSON_PRESSES_1: when the key 1 is sent, from the answer on

    def __post_init__(self) -> None:
        self.host = self.host or current().host
        self.media_port = free_udp_port()
        stem = f"phone-{self.name or self.behaviour.value}-{self.port}"
        if self.host != current().host:  # the same port on two addresses: two sets of files
            stem += f"-{self.host}"
        self.scenario_file = self.workdir / f"{stem}.xml"
        self.messages = self.workdir / f"{stem}-messages.log"
        self.errors = self.workdir / f"{stem}-errors.log"
        # A file, not a pipe: a long-lived SIPp must never block on a full pipe.
        self.stderr = self.workdir / f"{stem}-stderr.log"
        self._process: asyncio.subprocess.Process | None = None

    def scenario(self) -> str:
        return scenario(
            f"phone-{self.behaviour.value}",
            rtp_port=self.rtp_port or "[media_port]",
            media_host=LOOPBACK,
            bye_timeout_ms=_BYE_TIMEOUT_MS,
            cancel_timeout_ms=self.cancel_timeout_s * 1000,
            pcap=escape(str(self.speech_pcap()), {'"': "&quot;"}) if self.speaks else "",
        )

    @property
    def speaks(self) -> bool:
        """Whether the phone sends audio of its own after answering (PERSON and the like)."""
        return self.behaviour in _SPEECH

    def speech_pcap(self) -> Path:
        """The RTP the phone plays to Asterisk from its answer on (made and cached on first
        use, tests/support/speech.py)."""
        key_after_s = self.key_after_s if self.behaviour is Behaviour.PERSON_PRESSES_1 else None
        return answer_pcap(_SPEECH[self.behaviour], key_after_s)

    async def start(self) -> None:
        """Start SIPp; returns once it listens on the port (fails if it exited instead)."""
        if self._process is not None and self._process.returncode is None:
            raise RuntimeError(f"phone on {self.host}:{self.port} already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.scenario_file.write_text(self.scenario())
        for stale in (self.messages, self.errors):
            stale.unlink(missing_ok=True)
        with self.stderr.open("wb") as stderr:
            self._process = await asyncio.create_subprocess_exec(
                "sipp", "-sf", str(self.scenario_file), "-m", str(self.calls),
                "-i", self.host, "-bind_local", "-p", str(self.port), "-mp", str(self.media_port),
                "-aa", "-nostdin",
                "-trace_msg", "-message_file", str(self.messages),
                "-trace_err", "-error_file", str(self.errors),
                stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip
        process = self._process

        def up_or_gone() -> bool:
            return process.returncode is not None or _listening(process.pid, self.port, self.host)

        where = f"{self.host}:{self.port}"
        with contextlib.suppress(AssertionError):  # reported below, with SIPp's own logs
            await eventually_local(
                up_or_gone, bool, within=10, what=f"SIPp phone on {where}", interval=0.01
            )
        if process.returncode is not None or not _listening(process.pid, self.port, self.host):
            await self.stop()
            raise AssertionError(
                f"SIPp phone on {where} did not start (exit {process.returncode}):"
                f"\n{self.log_tail()}"
            )

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def _received(self) -> list[tuple[str, dict[str, str]]]:
        """Every distinct request and response received, in order (retransmissions once)."""
        if not self.messages.exists():
            return []
        out: list[tuple[str, dict[str, str]]] = []
        seen: set[tuple[str, ...]] = set()  # a retransmission repeats all of these
        for block in _blocks(self.messages.read_text(errors="replace")):
            start, headers = _parse(block)
            key = (start, *(headers.get(h, "") for h in ("call-id", "cseq", "via")))
            if key in seen:
                continue
            seen.add(key)
            out.append((start, headers))
        return out

    def invites(self) -> list[dict[str, str]]:
        """The headers of each dialog-creating INVITE, in order, with 'request_uri' and
        'from_user' (the user part of the From URI)."""
        out = []
        for start, headers in self._received():
            method, _, rest = start.partition(" ")
            if method != "INVITE" or _has_tag(headers.get("to", "")):
                continue
            sender = headers.get("from", "")
            match = _URI_USER.search(sender.rsplit("<", 1)[-1] if "<" in sender else sender)
            out.append(
                {
                    **headers,
                    "request_uri": rest.rsplit(" ", 1)[0],
                    "from_user": (match.group(1) or match.group(2)) if match else "",
                }
            )
        return out

    def received(self, method: str) -> int:
        """How many requests of ``method`` (e.g. "BYE", "CANCEL") were received in the calls
        this phone was offered (strays, such as a late BYE for a call of an earlier phone on
        the same port, do not count); an INVITE counts both initial INVITEs and re-INVITEs."""
        calls = {headers.get("call-id") for headers in self.invites()}
        return sum(
            1
            for start, headers in self._received()
            if start.split(" ", 1)[0] == method and headers.get("call-id") in calls
        )

    def log_tail(self) -> str:
        parts = []
        for path in (self.stderr, self.errors, self.messages):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


def _blocks(trace: str) -> list[str]:
    """The messages SIPp received, from its -message_file."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in trace.split("\n"):
        if _SEPARATOR.match(line):
            if current is not None:
                blocks.append("\n".join(current).strip("\n"))
            current = None
        elif current is None and _RECEIVED.match(line.strip()):
            current = []
        elif current is not None:
            current.append(line.rstrip("\r"))
    if current is not None:
        blocks.append("\n".join(current).strip("\n"))
    return [block for block in blocks if block]


def _listening(pid: int, port: int, host: str) -> bool:
    """Whether process ``pid`` has a UDP socket bound to ``host``:``port``."""
    # /proc/net/udp writes an IPv4 address as the hex of its bytes in host (little-endian) order.
    local = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"
    inodes = set()
    try:
        with open("/proc/net/udp") as table:
            for row in table.readlines()[1:]:
                fields = row.split()
                if len(fields) > 9 and fields[1] == local:
                    inodes.add(fields[9])
        links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:  # the process is gone, or an fd closed while listing
        return False
    return any(f"socket:[{inode}]" in links for inode in inodes)
