"""A test-side AMI client: read the queue, reset Asterisk between tests."""

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from panoramisk import Manager

# The polling helper, here too for the many tests that wait on AMI state.
from tests.support.poll import eventually as eventually
from tests.support.poll import eventually_local as eventually_local
from tests.support.testbed import AGENTS, AMI_PORT, current

REPO = Path(__file__).resolve().parents[2]


def sandbox_secret(account: str) -> Path:
    """The file holding an AMI account's secret (outside the repo, made by docker/sandbox)."""
    out = subprocess.run(
        [str(REPO / "docker" / "sandbox"), "secret", account],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


@asynccontextmanager
async def ami_client(
    host: str = "", port: int = AMI_PORT, username: str = "tests"
) -> AsyncIterator[Manager]:
    """An AMI connection to the worker's Asterisk, or to the one on ``host``."""
    secret = sandbox_secret(username).read_text().strip()
    manager = Manager(
        host=host or current().host,
        port=port,
        username=username,
        secret=secret,
        ping_delay=0,
        forgetable_actions=(),
    )
    await asyncio.wait_for(manager.connect(), 10)
    try:
        yield manager
    finally:
        manager.close()


async def action(manager: Manager, **fields: str) -> list[Any]:
    result = await asyncio.wait_for(manager.send_action(dict(fields)), 10)
    return result if isinstance(result, list) else [result]


async def queue_callers(manager: Manager, queue: str) -> list[dict[str, str]]:
    """The callers waiting in ``queue``, in queue order (QueueEntry events)."""
    messages = await action(manager, Action="QueueStatus", Queue=queue)
    entries = [dict(m) for m in messages if m.get("Event") == "QueueEntry"]
    return sorted(entries, key=lambda e: int(e.get("Position", "0")))


async def paused_members(manager: Manager, queue: str) -> set[str]:
    """The members of ``queue`` that are paused (QueueMember events)."""
    messages = await action(manager, Action="QueueStatus", Queue=queue)
    return {
        str(m.get("Location"))
        for m in messages
        if m.get("Event") == "QueueMember" and m.get("Paused") == "1"
    }


async def cli(manager: Manager, command: str) -> str:
    messages = await action(manager, Action="Command", Command=command)
    out = []
    for message in messages:
        output = message.get("Output")
        if isinstance(output, list):
            out.extend(output)
        elif output:
            out.append(str(output))
    return "\n".join(out)


async def channels(manager: Manager) -> list[dict[str, str]]:
    messages = await action(manager, Action="CoreShowChannels")
    return [dict(m) for m in messages if m.get("Event") == "CoreShowChannel"]


async def reset(manager: Manager, where: str = "") -> None:
    """What each acceptance test starts from, on either Asterisk: no calls, every agent of
    queue support paused."""
    await cli(manager, "channel request hangup all")
    await eventually(lambda: channels(manager), lambda c: not c, within=10, what=f"no calls{where}")

    async def pause_all() -> set[str]:
        # Right after a restart app_queue may not take a pause yet: asked until it shows.
        for agent in AGENTS:
            await action(
                manager, Action="QueuePause", Queue="support", Interface=agent, Paused="true"
            )
        return await paused_members(manager, "support")

    await eventually(pause_all, lambda p: p >= set(AGENTS), within=10, what=f"agents paused{where}")
