"""sd_notify: the state reaches the socket systemd names, in both address forms it uses."""

import os
import socket
from pathlib import Path

import pytest

from agi_app.sd_notify import notify


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
