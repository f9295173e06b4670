"""The service with AMI off, asked for a callback over FastAGI (by a scripted Asterisk,
tests/support/fake_asterisk.py): the component's options, Asterisk's answer for a caller second
in queue support, and the FastAGI port the service listens on (in this process, or logged by
its own process)."""

import asyncio
import re
from pathlib import Path

from agi_app.app.service import Service
from tests.support.poll import eventually_local

OPTIONS = ["queue=support", "priority=5", "destination=original", "max_wait=1800", "", ""]


def queue_reply(command: str) -> str:
    if command.startswith("GET FULL VARIABLE"):
        return "200 result=1 (1|2|5|42)"
    return "200 result=1"


def listening_port(log: Path) -> int | None:
    up = re.search(r"service up: fastagi [^:]+:(\d+)", log.read_text())
    return int(up[1]) if up else None


async def agi_port(log: Path, process: asyncio.subprocess.Process) -> int:
    port = await eventually_local(
        lambda: listening_port(log),
        lambda port: port is not None or process.returncode is not None,
        within=20,
        what="the service listening for FastAGI",
    )
    assert port is not None, f"the service ended (code {process.returncode}), see {log}"
    return port


def port_of(service: Service) -> int:
    """The FastAGI port of a service running in this process."""
    assert service.agi is not None
    return service.agi.port
