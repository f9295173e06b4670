"""The commands as filters: output piped to a reader that stops early (`agi-callback show ID
| head`) ends the command quietly, without a traceback."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agi_app.store.sqlite.store import Store

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", [["list", "--all"], ["list", "--all", "--json"]])
def test_a_reader_gone_ends_the_command_quietly(command: list[str], tmp_path: Path) -> None:
    store = tmp_path / "callbacks.sqlite3"
    asyncio.run(_create(store))
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line: every write fails (EPIPE)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "agi_app", *command],
            stdout=write, stderr=subprocess.PIPE, text=True, timeout=60, cwd=REPO,
            env=os.environ | {"CALLBACK_CONFIG": "", "CALLBACK_STORE_PATH": str(store)},
        )  # fmt: skip
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == 1


async def _create(path: Path) -> None:
    async with Store.open(path):
        pass
