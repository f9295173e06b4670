"""Agents authenticate: a real softphone registers as an agent with its password (SIP digest)
and answers a callback; a stranger who claims to be the agent without the password is
refused, over real SIP, both when registering and when calling.

The password is the sandbox's (``docker/sandbox secret agent1``, outside the repo). The
stranger speaks raw SIP over UDP from its own port, so what Asterisk answered is exactly
what a peer on the network would see.
"""

import asyncio
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import cast

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.domain.request import State
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    invites,
    request_callback,
    set_paused,
    the_request,
)
from tests.support.ami import cli, eventually, eventually_local, sandbox_secret
from tests.support.baresip import Softphone
from tests.support.postgres import ONE_STORE
from tests.support.testbed import SIP_PORT, current
from tests.support.uas import Behaviour

# The store plays no part in what these tests show (SIP authentication, the installation).
pytestmark = ONE_STORE

BED = current()
STATIC_CONTACT = BED.asterisk.contact("agent1")
HOST = BED.host  # where the stranger speaks from, as the test bed's other phones do
ASTERISK = (HOST, SIP_PORT)


async def agent1_contacts(ami: Manager) -> list[str]:
    """The contact URIs Asterisk holds for agent1 (`pjsip show aor agent1`)."""
    out = await cli(ami, "pjsip show aor agent1")
    return re.findall(r"^\s*contact\s*:\s*(\S+)", out, re.MULTILINE)


@pytest.fixture(autouse=True)
async def static_contacts_after(ami: Manager) -> AsyncIterator[None]:
    """Later tests ring the SIPp agents at their static contacts: should a registration
    outlive its test (a softphone killed, a stranger let in), it is forgotten here."""
    yield
    out = await cli(ami, "database show registrar/contact")
    for key in re.findall(r"^/registrar/contact/(agent\d+;@\w+)", out, re.MULTILINE):
        await cli(ami, f"database del registrar/contact {key}")


async def test_softphone_registers_with_its_password_and_answers_a_callback(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    static, _ = await phones.start(5071, Behaviour.ANSWER, "agent1-static")
    carrier, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    number = "+15551230081"
    password = sandbox_secret("agent1").read_text().strip()
    async with AsyncExitStack() as stack:
        phone = await stack.enter_async_context(Softphone(tmp_path, "agent1", password))
        await eventually(
            lambda: agent1_contacts(ami),
            lambda cs: any(f"@{HOST}:{phone.port}" in c for c in cs),
            within=10,
            what="the softphone registered as agent1",
        )
        challenges = [
            m for m in phone.received_responses(401, "REGISTER") if "www-authenticate" in m.headers
        ]
        assert challenges, "Asterisk accepted agent1's REGISTER without a challenge"

        await request_callback(stack, ami, tmp_path, "5000", number)
        await set_paused(ami, AGENT1, False)
        offered, *_ = await eventually_local(
            phone.calls,
            lambda i: len(i) >= 1,
            within=20,
            what="the callback offered to the softphone",
        )
        assert offered.headers["x-callback-callback-number"] == number
        (dialed,) = await invites(carrier, 1)  # only once the agent answered
        assert dialed["request_uri"].startswith(BED.asterisk.carrier_uri(number))
        assert phone.sent_responses(200, "INVITE")  # answered by the softphone itself
        assert static.invites() == []  # the registration took the static contact's place
        assert service.store is not None
        request = await the_request(service.store, State.CONNECTED)
        assert request.agent == AGENT1
    # The softphone unregistered on exit: the test phones' static contact is agent1 again.
    await eventually(
        lambda: agent1_contacts(ami),
        lambda cs: cs == [STATIC_CONTACT],
        within=10,
        what="agent1 back to its static contact",
    )


class Stranger(asyncio.DatagramProtocol):
    """Raw SIP over UDP from the test bed's address, claiming to be agent1."""

    def __init__(self) -> None:
        self.responses: asyncio.Queue[str] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.call_id = f"{secrets.token_hex(8)}@stranger"
        self.tag = secrets.token_hex(4)
        self.cseq = 0
        self.branch = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.responses.put_nowait(data.decode(errors="replace"))

    def send(
        self, method: str, uri: str, to: str, *extra: str, body: str = "", ack_of: str = ""
    ) -> None:
        """Send a request; ``ack_of`` names the branch of the INVITE an ACK acknowledges."""
        assert self.transport is not None
        if not ack_of:
            self.cseq += 1
            self.branch = f"z9hG4bK{secrets.token_hex(8)}"
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch={self.branch};rport",
            "Max-Forwards: 70",
            f"From: <sip:agent1@{HOST}>;tag={self.tag}",
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} {method}",
            f"Contact: <sip:agent1@{HOST}:{self.port}>",
            *extra,
            f"Content-Length: {len(body.encode())}",
            "",
            body,
        ]
        self.transport.sendto("\r\n".join(lines).encode(), ASTERISK)

    async def final_response(self) -> str:
        """The next final (non-1xx) response."""
        while True:
            response = await asyncio.wait_for(self.responses.get(), 10)
            if not re.match(r"SIP/2\.0 1\d\d ", response):
                return response


@asynccontextmanager
async def stranger() -> AsyncIterator[Stranger]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Stranger, local_addr=(HOST, 0))
    try:
        yield protocol
    finally:
        transport.close()


def status(response: str) -> int:
    return int(response.split(" ", 2)[1])


def header(response: str, name: str) -> str:
    match = re.search(rf"^{name}:\s*(.*?)\r?$", response, re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else ""


def digest(challenge: str, method: str, uri: str, password: str) -> str:
    """An Authorization header answering ``challenge`` (MD5, qop=auth) with ``password``."""
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    realm, nonce = fields["realm"], fields["nonce"]
    cnonce, nc = secrets.token_hex(8), "00000001"

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5(f"agent1:{realm}:{password}"), md5(f"{method}:{uri}")
    response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    return (
        f'Authorization: Digest username="agent1", realm="{realm}", nonce="{nonce}", '
        f'uri="{uri}", response="{response}", algorithm=MD5, cnonce="{cnonce}", '
        f'qop=auth, nc={nc}, opaque="{fields.get("opaque", "")}"'
    )


async def test_stranger_cannot_register_as_an_agent(ami: Manager) -> None:
    uri, to = f"sip:{BED.asterisk.sip}", f"<sip:agent1@{HOST}>"
    async with stranger() as peer:
        peer.send("REGISTER", uri, to, "Expires: 3600")
        challenge = await peer.final_response()
        assert status(challenge) == 401, challenge
        peer.send("REGISTER", uri, to, "Expires: 3600", digest(
            header(challenge, "WWW-Authenticate"), "REGISTER", uri, "not-the-password"
        ))  # fmt: skip
        refused = await peer.final_response()
        contacts = await agent1_contacts(ami)
    assert status(refused) in (401, 403), refused
    assert not any(f":{peer.port}" in c for c in contacts)
    assert contacts == [STATIC_CONTACT]


SDP = (
    f"v=0\r\no=stranger 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
    "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


async def calls_processed(ami: Manager) -> int:
    """Asterisk's count of channels that ran dialplan since it started."""
    out = await cli(ami, "core show channels count")
    match = re.search(r"(\d+) calls? processed", out)
    assert match, out
    return int(match.group(1))


async def test_stranger_cannot_call_as_an_agent(ami: Manager) -> None:
    before = await calls_processed(ami)
    async with stranger() as peer:
        uri = f"sip:5000@{BED.asterisk.sip}"
        peer.send("INVITE", uri, f"<{uri}>", "Content-Type: application/sdp", body=SDP)
        refused = await peer.final_response()
        peer.send("ACK", uri, header(refused, "To"), ack_of=peer.branch)
    assert status(refused) in (401, 407), refused
    # An INVITE Asterisk accepts gets a channel that runs dialplan before any final answer.
    assert await calls_processed(ami) == before


async def test_the_sandbox_adds_the_test_bed(ami: Manager) -> None:
    """What the shipped configuration lacks (tests/unit/test_shipped_config.py), the test bed
    adds: the demo number 5005 and the `tests` AMI account this tier logs in with."""
    assert "max_wait=5," in await cli(ami, "dialplan show 5005@from-pstn")
    account = await cli(ami, "manager show user tests")
    assert re.search(r"write perm:.*\bcommand\b", account), account
