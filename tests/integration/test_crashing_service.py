"""The crash tests' service (tests/support/crashing_service.py) dies like kill -9 where they say:
before the commit nothing is stored, after it the request is; either way the caller was never
told it succeeded. The acceptance crash tests (test_faults.py) rely on this against Asterisk."""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from agi_app.domain.request import State
from agi_app.store.sqlite.store import Store
from tests.support.fake_asterisk import AgiCall
from tests.support.fastagi_process import OPTIONS, agi_port, queue_reply
from tests.support.service_process import CRASH_AT, REPO
from tests.support.testbed import TESTBED_NUMBERS


@pytest.mark.parametrize(
    ("point", "kept"), [("before-commit", []), ("after-commit", [("+15551230001", State.PENDING)])]
)
async def test_the_service_dies_at_the_named_point(
    tmp_path: Path, point: str, kept: list[tuple[str, State]]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBACK_")}
    env |= {
        CRASH_AT: point,
        "CALLBACK_CONFIG": "",
        "CALLBACK_STORE_PATH": str(tmp_path / "cb.sqlite3"),
        "CALLBACK_AMI_ENABLED": "false",
        "CALLBACK_WEB_ENABLED": "false",
        "CALLBACK_AGI_PORT": "0",
        "CALLBACK_ALLOWED_NUMBER_PREFIXES": json.dumps(TESTBED_NUMBERS),
    }
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.crashing_service",
            cwd=REPO, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        call = AgiCall(OPTIONS, reply=queue_reply)
        commands = await call.run(await agi_port(log, process))
        assert await asyncio.wait_for(process.wait(), 20) == -signal.SIGKILL
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert not any("CALLBACK_PROMPT" in c for c in commands)  # the caller was told nothing
    async with Store.open(tmp_path / "cb.sqlite3") as store:
        stored = await store.requests()
    assert [(r.callback_number, r.state) for r in stored] == kept
