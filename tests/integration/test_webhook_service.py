"""Webhooks of the real service: as its own process (``python -m agi_app serve``, AMI off,
requests over FastAGI), killed with SIGKILL while the receiver is down and again while it
delivers; and in process, a sender that hits a bug stops the service."""

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import State
from agi_app.store.sqlite.store import Store
from tests.support.fake_asterisk import AgiCall
from tests.support.fastagi_process import OPTIONS, agi_port, queue_reply
from tests.support.http_receiver import HttpReceiver, carried, first_arrivals, logged
from tests.support.poll import eventually, eventually_local
from tests.support.service_process import REPO
from tests.support.testbed import TESTBED_NUMBERS

SECRET = "test-secret-0123456789"


def hooks(receiver: HttpReceiver) -> str:
    return json.dumps(
        [
            {
                "name": "crm",
                "url": receiver.url,
                "secret": SECRET,
                "retry_initial": 0.05,
                "retry_max": 0.2,
                "start": "beginning",
            }
        ]
    )


class Process:
    """The service as its own process, with AMI off: FastAGI takes requests, webhooks send."""

    def __init__(self, tmp_path: Path, receiver: HttpReceiver) -> None:
        self.store_path = tmp_path / "cb.sqlite3"
        self.log = tmp_path / "service.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBACK_")}
        self.env |= {
            "CALLBACK_CONFIG": "",
            "CALLBACK_STORE_PATH": str(self.store_path),
            "CALLBACK_AMI_ENABLED": "false",
            "CALLBACK_WEB_ENABLED": "false",
            "CALLBACK_AGI_PORT": "0",
            "CALLBACK_ALLOWED_NUMBER_PREFIXES": json.dumps(TESTBED_NUMBERS),
            "CALLBACK_WEBHOOKS": hooks(receiver),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> int:
        """Started; its FastAGI port."""
        self.log.write_text("")
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agi_app", "serve",
                cwd=REPO, env=self.env, stdout=out, stderr=out,
            )  # fmt: skip
        return await agi_port(self.log, self.process)

    async def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    receiver = HttpReceiver(SECRET)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


async def request(port: int, n: int) -> None:
    call = AgiCall(OPTIONS, reply=queue_reply, callerid=f"+1555123{n:04d}", uniqueid=f"17.{n}")
    commands = await call.run(port)
    assert any("callback/request-successful" in c for c in commands), commands


async def test_nothing_is_lost_across_kill_9_and_a_receiver_that_was_down(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    service = Process(tmp_path, receiver)
    await receiver.stop()  # down from the start
    try:
        port = await service.start()
        for n in (1, 2):
            await request(port, n)
        async with Store.open(service.store_path) as store:
            await eventually(
                lambda: store.webhook_attempts("crm", 10),
                lambda a: len(a) >= 2,
                within=10,
                what="failed attempts recorded",
            )
            await service.kill9()  # while retrying the first event
            # Meanwhile the requests move on (the log grows while nothing sends).
            for stored in await store.requests():
                await store.save(stored, replace(stored, state=State.WAITING, attempt=1),
                                 "Joined", datetime.now(UTC), {"attempt": 1})  # fmt: skip
            receiver.delay = 0.3  # back, but slow: a kill lands between POST and answer
            await receiver.start()
            port = await service.start()
            await eventually_local(receiver.accepted, lambda ds: len(ds) >= 2, within=10,
                                   what="delivering again")  # fmt: skip
            await service.kill9()
            await request(await service.start(), 3)
            rows = await store.events_after(0, 100)
            names = [r.event.event for r in rows]
            assert (names.count("requested"), names.count("Joined")) == (3, 2)
            got = await eventually_local(
                lambda: first_arrivals(receiver.accepted()),
                lambda ds: len(ds) >= len(rows),
                within=20,
                what="every event delivered",
            )
            assert carried(got) == logged(rows)  # each row exactly as stored, in order
            # The receiver has the last event a moment before the service records it.
            await eventually(
                lambda: store.webhook_cursor("crm"),
                lambda c: c == rows[-1].seq,
                within=10,
                what="the last delivery recorded",
            )
            accepted = [d.event_id for d in receiver.accepted()]
            assert accepted == sorted(accepted)  # a re-send is the last one again, never older
            assert all(d.signed for d in receiver.deliveries)
            attempts = await store.webhook_attempts("crm", 1000)
            assert {a.seq for a in attempts if a.outcome == "delivered"} == {r.seq for r in rows}
            assert any(a.outcome == "failed" and a.status is None for a in attempts)
            assert await store.webhook_cursor("crm") == rows[-1].seq
    finally:
        await service.stop()
    # What an admin sees: the CLI reads the same store.
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agi_app", "webhooks", "--json", "--attempts", "2",
        cwd=REPO, env=service.env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await cli.communicate()
    assert cli.returncode == 0
    (shown,) = json.loads(out)
    assert (shown["name"], shown["cursor"], shown["pending"]) == ("crm", rows[-1].seq, 0)
    assert [a["outcome"] for a in shown["attempts"]] == ["delivered", "delivered"]
    assert shown["attempts"][0]["event_id"] == rows[-1].seq


async def test_a_sender_that_dies_stops_the_service(
    tmp_path: Path, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any) -> Any:
        raise RuntimeError("a bug in the sender")

    monkeypatch.setattr(Store, "events_after", broken)
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    settings = Settings(
        store_path=tmp_path / "cb.sqlite3", ami_enabled=False, web_enabled=False, agi_port=0,
        webhooks=json.loads(hooks(receiver)),
    )  # fmt: skip
    async with Service(settings) as service:
        assert service.failed is not None
        error = await asyncio.wait_for(service.failed, 10)
    assert isinstance(error, RuntimeError) and str(error) == "a bug in the sender"
