"""sd_notify: the state reaches the socket systemd names, in both address forms it uses; the
watchdog's pings come from the event loop, stop while it hangs and outlive a failed send."""

import asyncio
import contextlib
import logging
import os
import socket
import time
from pathlib import Path

import pytest

from agi_app.app import sd_notify
from agi_app.app.sd_notify import notify, watchdog, watchdog_interval
from tests.support.poll import eventually_local


def listener(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_the_state_reaches_a_path_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with listener(str(tmp_path / "notify")) as manager:
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        assert notify("READY=1")
        assert manager.recv(100) == b"READY=1"


def test_the_state_reaches_an_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"agi-callback-test-{os.getpid()}"
    with listener("\0" + name) as manager:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify("STOPPING=1")
        assert manager.recv(100) == b"STOPPING=1"


def test_without_a_manager_nothing_is_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not notify("READY=1")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))  # the manager went away
    assert not notify("READY=1")


def test_the_watchdog_interval_is_half_what_systemd_asks_of_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert watchdog_interval() is None  # no WatchdogSec=
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # another process is watched
    assert watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_PID")
    for wrong in ("", "0", "-5", "30s"):
        monkeypatch.setenv("WATCHDOG_USEC", wrong)
        assert watchdog_interval() is None


class Pings:
    """What reached the manager's socket, read without waiting."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.got: list[bytes] = []

    def new(self) -> list[bytes]:
        new = []
        with contextlib.suppress(BlockingIOError):
            while True:
                new.append(self.sock.recv(100))
        self.got += new
        return new

    def count(self) -> int:
        self.new()
        return len(self.got)


def block_the_loop(seconds: float) -> None:
    """What a blocking call in a coroutine does: nothing else on the loop runs meanwhile."""
    time.sleep(seconds)


async def test_pings_come_while_the_loop_turns_and_stop_while_it_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    interval = watchdog_interval()
    assert interval == 0.1
    with listener(str(tmp_path / "notify")) as manager:
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        pings = Pings(manager)
        pinger = asyncio.ensure_future(watchdog(interval))
        try:
            await eventually_local(pings.count, lambda n: n >= 3, within=5, what="pings")
            assert set(pings.got) == {b"WATCHDOG=1"}
            pings.new()
            block_the_loop(5 * interval)  # five pings due
            assert pings.new() == []  # not one came: the loop could not send them
            before = len(pings.got)
            await eventually_local(
                pings.count, lambda n: n >= before + 3, within=5, what="pings again"
            )
            assert not pinger.done()
        finally:
            pinger.cancel()


async def test_a_ping_that_fails_is_logged_once_and_the_pings_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    address = tmp_path / "notify"
    monkeypatch.setenv("NOTIFY_SOCKET", str(address))  # no manager listening there yet
    tries: list[str] = []
    send = sd_notify._send

    def counted(state: str, to: str) -> None:
        tries.append(state)
        send(state, to)

    monkeypatch.setattr(sd_notify, "_send", counted)
    pinger = asyncio.ensure_future(watchdog(0.01))
    try:
        await eventually_local(lambda: len(tries), lambda n: n >= 5, within=5, what="tries")
        failed = [r for r in caplog.records if "ping not delivered" in r.getMessage()]
        assert len(failed) == 1 and failed[0].levelno == logging.ERROR  # once, not each time
        assert not pinger.done()
        with listener(str(address)) as manager:  # the manager back
            pings = Pings(manager)
            await eventually_local(pings.count, lambda n: n >= 2, within=5, what="pings")
            await eventually_local(
                lambda: caplog.text, lambda text: "delivered again" in text, within=5,
                what="recovery logged",
            )  # fmt: skip
    finally:
        pinger.cancel()
