"""The test bed's second Asterisk: ``CALLBACK_SANDBOX_INSTANCE=2 docker/sandbox``.

The same root and configuration as the first, on 127.0.0.2 with the same ports (SIP 5060,
AMI 5038), systemname b (its uniqueids start with "b-"), FastAGI to 127.0.0.2:4573, agents'
phones on 127.0.0.2:5071..5073 and the carrier on 127.0.0.2:5090 (docs/testbed.md). Its
callers are ``Caller(..., host=HOST)``, its phones ``Phone(..., host=HOST)``.

Like the first, it is one per machine: whoever starts, restarts or resets it holds the sandbox
lock (the acceptance tier's callers do).
"""

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from panoramisk import Manager

from tests.support.ami import ami_client
from tests.support.ami import reset as ami_reset

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.2"
UNIQUEID_PREFIX = "b-"  # systemname b


def sandbox(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``docker/sandbox ARGS`` on instance 2."""
    return subprocess.run(
        [str(REPO / "docker" / "sandbox"), *args],
        env={**os.environ, "CALLBACK_SANDBOX_INSTANCE": "2"},
        check=check,
        capture_output=True,
        text=True,
    )


def up() -> None:
    """Start it (if down) and return once it has fully booted: AMI answering is not enough,
    app_queue and PJSIP may still be loading."""
    sandbox("up")
    sandbox("cli", "core waitfullybooted")


def down() -> None:
    sandbox("down")


def is_up() -> bool:
    return sandbox("status", check=False).returncode == 0


def state_dir() -> Path:
    """Where it keeps what it writes: var/lib/asterisk (astdb), var/log/asterisk (queue_log,
    messages.log), var/spool/asterisk; beside them etc-asterisk, its generated configuration."""
    root = Path(sandbox("root").stdout.strip())
    return root.parent / "run2"


@contextmanager
def running() -> Iterator[None]:
    """Up for the block, down after it, whatever happens in it."""
    up()
    try:
        yield
    finally:
        down()


async def restart() -> None:
    """Down and up again (fully booted), off the event loop."""
    await asyncio.to_thread(down)
    await asyncio.to_thread(up)


@asynccontextmanager
async def ami() -> AsyncIterator[Manager]:
    """The tests account on its AMI (127.0.0.2:5038)."""
    async with ami_client(host=HOST) as manager:
        yield manager


async def reset(manager: Manager) -> None:
    """What the acceptance tier does to the first Asterisk before each test (no calls, every
    agent paused), to this one."""
    await ami_reset(manager, " on 2")
