"""SIPp phones for the acceptance tests: scenarios rendered from templates, run as processes.

SIPp substitutes ``-key`` values in message text but not in XML attributes, so per-test
details (DTMF digits, SDP ports) are rendered into the scenario file itself.

A caller waits for a nudge before each group of keys (one pcap of RFC 4733 events): the
test sends a SIP INFO with the call's Call-ID once the condition it waits for holds (the
caller is in the queue, a prompt started), so no scenario guesses how long anything takes.
"""

import asyncio
import itertools
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from tests.support.dtmf import write_dtmf_pcap

ASTERISK = "127.0.0.1:5060"
# Below the kernel's ephemeral range (32768+), which RtpSinks and clients draw from, and
# below Asterisk's RTP range (20000+): a port checked free stays ours until SIPp binds it.
_ports = itertools.count(10000 + (os.getpid() % 20) * 250)


def free_udp_port() -> int:
    while True:
        port = next(_ports)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        # SIPp binds port and port+2 for media: keep them apart.
        next(_ports)
        next(_ports)
        return port


def _play(pcap: Path) -> str:
    return f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>'


# Our 200 OK to the request just received (an INFO nudge, Asterisk's BYE).
_OK = """  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"""

_CALLER = (
    """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: {from_display}<sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{from_user}@[local_ip]:[local_port]>
      Max-Forwards: 70
      {extra_headers}Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio {rtp_port} RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: {from_display}<sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:{from_user}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  {steps}
  <recv request="BYE" timeout="{bye_timeout_ms}"/>
"""
    + _OK
    + "</scenario>\n"
)

_REFUSED = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="refused-caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{from_user}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  {refusals}
  <label id="refused"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: <sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
</scenario>
"""
# Any of these ends the call as refused; a 200 OK would make the scenario fail.
_REFUSAL_CODES = ("403", "404", "480", "484", "486", "488", "500", "503", "603")

_BULK = (
    """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bulk-press">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  {presses}
  <recv request="BYE" timeout="30000"/>
"""
    + _OK
    + "</scenario>\n"
)


def bulk_caller_scenario(presses: list[tuple[int, Path]]) -> str:
    """Many callers from one SIPp process (numbers from an -inf file as [field0]): after the
    answer, each (pause ms, pcap) plays its keys; then the caller waits for Asterisk's BYE."""
    steps = "\n  ".join(
        f'<pause milliseconds="{pause_ms}"/>\n  {_play(pcap)}' for pause_ms, pcap in presses
    )
    return _BULK.format(presses=steps)


_STEP = '<recv request="INFO" timeout="{timeout_ms}"/>\n' + _OK + "  {play}"


@dataclass
class Caller:
    """One SIPp call from the carrier: a customer dialing ``did`` from ``number``."""

    did: str
    number: str
    workdir: Path
    name: str = ""
    key_groups: list[str] = field(default_factory=list)  # one group of keys per nudge
    anonymous: bool = False
    step_timeout_s: int = 30
    bye_timeout_s: int = 60
    rtp_port: int = 0
    expect_failure: bool = False  # the call must be refused (4xx/5xx/6xx), never answered

    def __post_init__(self) -> None:
        self.sip_port = free_udp_port()
        self.media_port = free_udp_port()
        self.call_id = f"caller-{self.sip_port}-1"
        self._nudges = 0
        self._process: asyncio.subprocess.Process | None = None
        self.messages = self.workdir / f"caller-{self.sip_port}-messages.log"
        self.errors = self.workdir / f"caller-{self.sip_port}-errors.log"

    def scenario(self) -> str:
        if self.expect_failure:
            last = len(_REFUSAL_CODES) - 1
            refusals = "\n  ".join(
                f'<recv response="{code}"'
                + ("" if i == last else ' optional="true" next="refused"')
                + "/>"
                for i, code in enumerate(_REFUSAL_CODES)
            )
            return _REFUSED.format(from_user=self.number, refusals=refusals)
        steps = []
        for group, keys in enumerate(self.key_groups):
            pcap = self.workdir / f"caller-{self.sip_port}-keys{group}.pcap"
            write_dtmf_pcap(pcap, keys, group)
            steps.append(_STEP.format(timeout_ms=self.step_timeout_s * 1000, play=_play(pcap)))
        if self.anonymous:
            from_display, from_user = '"Anonymous" ', "anonymous"
            extra = "Privacy: id\n      "
        else:
            quoted = self.name.replace("\\", "\\\\").replace('"', '\\"')  # RFC 3261 quoted-string
            from_display = f'"{escape(quoted)}" ' if self.name else ""
            from_user, extra = self.number, ""
        return _CALLER.format(
            from_display=from_display,
            from_user=from_user,
            extra_headers=extra,
            rtp_port=self.rtp_port or self.media_port,
            steps="\n  ".join(steps),
            bye_timeout_ms=self.bye_timeout_s * 1000,
        )

    async def start(self) -> None:
        path = self.workdir / f"caller-{self.sip_port}.xml"
        path.write_text(self.scenario())
        self._process = await asyncio.create_subprocess_exec(
            "sipp", ASTERISK, "-sf", str(path), "-s", self.did, "-m", "1", "-l", "1",
            "-i", "127.0.0.1", "-p", str(self.sip_port), "-mp", str(self.media_port),
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
            f"INFO sip:{self.number}@127.0.0.1:{self.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:9;branch={branch}\r\n"
            "From: <sip:test@127.0.0.1>;tag=nudge\r\n"
            f"To: <sip:{self.number}@127.0.0.1>;tag=caller\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {self._nudges} INFO\r\n"
            "Max-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        # SIPp sends its 200 OK to Asterisk (its only peer), so look for it in its trace.
        taken = f"SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:9;branch={branch}"
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(10):  # UDP: resend until taken (SIPp absorbs retransmissions)
                s.sendto(message.encode(), ("127.0.0.1", self.sip_port))
                deadline = loop.time() + 0.3
                while loop.time() < deadline:
                    if taken in self._trace():
                        return
                    await asyncio.sleep(0.02)
        raise AssertionError(f"caller {self.number} did not take nudge {self._nudges}")

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
