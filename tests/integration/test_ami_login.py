"""A wrong AMI secret and an Asterisk that cannot be reached are logged as what they are,
each its own line: the first needs the secret or manager.conf fixed, the second the network
or Asterisk itself. Asterisk is played by a few lines of asyncio here (its banner, its answer
to Login as manager.c gives it, the connection closed after a refusal)."""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from agi_app.config.settings import Settings
from agi_app.pbx.ami import Ami, AmiAccount
from tests.support.poll import eventually_local
from tests.support.testbed import LOOPBACK

REFUSED = "AMI login refused by"
UNREACHABLE = "AMI unreachable at"


def settings(tmp_path: Path, port: int, secret: str = "wrong-secret") -> Settings:
    return Settings(
        store_path=tmp_path / "cb.sqlite3",
        ami_host=LOOPBACK,
        ami_port=port,
        ami_username="callback",
        ami_secret=secret,
        ami_ping_interval=0.2,
    )


def headers(block: bytes) -> dict[str, str]:
    lines = block.decode().split("\r\n")
    return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines) if v}


class FakeAmi:
    """Answers Login as Asterisk 22 does: Success for ``secret``; otherwise Error,
    "Authentication failed", and the connection closed (manager.c, action_login)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.logins: list[dict[str, str]] = []
        self.sessions: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.sessions[task] = writer
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while block := await reader.readuntil(b"\r\n\r\n"):
                action = headers(block)
                answer = {"Response": "Success", "ActionID": action.get("actionid", "")}
                if action.get("action", "").lower() == "login":
                    self.logins.append(action)
                    if action.get("secret") != self.secret:
                        answer |= {"Response": "Error", "Message": "Authentication failed"}
                        writer.write(reply(answer))
                        await writer.drain()
                        break
                    answer["Message"] = "Authentication accepted"
                writer.write(reply(answer))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away, or close() below
        finally:
            writer.close()

    async def close(self) -> None:
        """Every session ended by its connection's end, none cancelled."""
        for writer in self.sessions.values():
            writer.close()
        await asyncio.gather(*self.sessions)


def reply(fields: dict[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode() + b"\r\n"


@asynccontextmanager
async def fake_ami(secret: str) -> AsyncIterator[tuple[FakeAmi, int]]:
    ami = FakeAmi(secret)
    server = await asyncio.start_server(ami.session, LOOPBACK, 0)
    try:
        yield ami, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await ami.close()
        await server.wait_closed()


@contextmanager
def closed_port() -> Iterator[int]:
    """A port nothing listens on (taken from the kernel, then let go)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port = sock.getsockname()[1]
    yield port


@asynccontextmanager
async def started(ami: Ami) -> AsyncIterator[Ami]:
    try:
        await ami.start(timeout=0.05)
        yield ami
    finally:
        ami.stop()


def said(caplog: pytest.LogCaptureFixture, start: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith(start)]


async def test_a_wrong_secret_is_logged_as_a_refused_login(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    async with (
        fake_ami("right-secret") as (asterisk, port),
        started(Ami(AmiAccount.of(settings(tmp_path, port)))) as ami,
    ):
        # Refused, the connection closed by Asterisk, tried again (the secret may be fixed
        # meanwhile in manager.conf), refused again.
        records = await eventually_local(
            lambda: said(caplog, REFUSED), lambda r: len(r) >= 2, within=5, what="refusals"
        )
        assert [login["secret"] for login in asterisk.logins[:2]] == ["wrong-secret"] * 2
        assert not ami.ready.is_set()
    assert records[0].levelno == logging.ERROR
    assert records[0].getMessage() == (
        f"AMI login refused by {LOOPBACK}:{port} as user callback: authentication failed"
        " (check the AMI secret and manager.conf)"
    )
    assert said(caplog, UNREACHABLE) == []
    # Asterisk closing the connection after a refusal is not reported as a lost link.
    assert not [r for r in caplog.records if "connection lost" in r.getMessage()]


async def test_the_right_secret_logs_in_without_a_refusal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    async with (
        fake_ami("right-secret") as (_, port),
        started(Ami(AmiAccount.of(settings(tmp_path, port, secret="right-secret")))) as ami,
        asyncio.timeout(5),
    ):
        await ami.ready.wait()
    assert said(caplog, REFUSED) == [] and said(caplog, UNREACHABLE) == []


async def test_a_closed_port_is_logged_as_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    with closed_port() as port:
        async with started(Ami(AmiAccount.of(settings(tmp_path, port)))):
            records = await eventually_local(
                lambda: said(caplog, UNREACHABLE), bool, within=5, what="unreachable logged"
            )
    assert records[0].levelno == logging.WARNING
    assert records[0].getMessage() == f"AMI unreachable at {LOOPBACK}:{port}: connection refused"
    assert said(caplog, REFUSED) == []


async def test_a_connect_that_never_completes_is_logged_as_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener whose accept queue is full: Linux drops further SYNs, as a firewall that
    drops rather than refuses would, and the connect hangs."""
    caplog.set_level(logging.INFO, logger="agi_app")
    with socket.socket() as full:
        full.bind((LOOPBACK, 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = [socket.socket() for _ in range(2)]
        try:
            for filler in fillers:  # backlog 0 holds one; the second's SYN may be dropped
                filler.setblocking(False)
                filler.connect_ex((LOOPBACK, port))
            async with started(Ami(AmiAccount.of(settings(tmp_path, port)))):
                records = await eventually_local(
                    lambda: said(caplog, UNREACHABLE), bool, within=5, what="unreachable logged"
                )
        finally:
            for filler in fillers:
                filler.close()
    unreachable = f"AMI unreachable at {LOOPBACK}:{port}: no connection within"
    assert records[0].getMessage().startswith(unreachable)
    assert said(caplog, REFUSED) == []
