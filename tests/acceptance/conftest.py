"""Acceptance tier: the sandboxed Asterisk 22 (one per test run, reset between tests), SIPp
phones, and the callback service running in this process against a fresh SQLite file."""

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.service import Service
from agi_app.settings import Settings
from tests.acceptance.calls import Phones
from tests.support.ami import action, ami_client, cli, eventually, sandbox_secret
from tests.support.testbed import TESTBED_NUMBERS

REPO = Path(__file__).resolve().parents[2]
AGENTS = ("PJSIP/agent1", "PJSIP/agent2", "PJSIP/agent3")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[None]:
    if os.geteuid() != 0 or shutil.which("sipp") is None:
        pytest.fail("the acceptance tier needs root and SIPp: run it with `make test`")
    subprocess.run([str(REPO / "docker" / "sandbox"), "up"], check=True)
    yield


async def channels(manager: Manager) -> list[dict[str, str]]:
    messages = await action(manager, Action="CoreShowChannels")
    return [dict(m) for m in messages if m.get("Event") == "CoreShowChannel"]


@pytest.fixture
async def ami(sandbox: None) -> AsyncIterator[Manager]:
    """An AMI connection to a PBX with no calls and every agent paused."""
    async with ami_client() as manager:
        await cli(manager, "channel request hangup all")
        await eventually(lambda: channels(manager), lambda c: not c, within=10, what="no calls")
        for agent in AGENTS:
            await action(
                manager, Action="QueuePause", Queue="support", Interface=agent, Paused="true"
            )
        yield manager


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CALLBACK_CONFIG", "/nonexistent.toml")
    return Settings(
        store_path=tmp_path / "callbacks.sqlite3",
        store_busy_timeout=0.3,
        customer_ring_seconds=5,
        ami_secret_file=sandbox_secret("callback"),
        allowed_number_prefixes=TESTBED_NUMBERS,
    )


@pytest.fixture
async def phones(tmp_path: Path) -> AsyncIterator[Phones]:
    async with AsyncExitStack() as stack:
        yield Phones(stack, tmp_path)


@pytest.fixture
async def service(ami: Manager, settings: Settings) -> AsyncIterator[Service]:
    async with Service(settings) as running:
        yield running
