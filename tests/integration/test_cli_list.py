"""`agi-callback list` shows the callbacks not finished: waiting ones and those being served
(an agent or the customer on the line); `--all` adds the finished ones."""

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from agi_app.admin.cli import main
from agi_app.domain.request import State
from agi_app.store.sqlite.store import Store
from tests.support.samples import PENDING


async def _stored(path: Path) -> dict[State, str]:
    ids = {}
    async with Store.open(path) as store:
        for n, state in enumerate(State):
            request = replace(
                PENDING,
                id=f"{n:08d}-0000-4000-8000-000000000000",
                channel=f"1795680000.{n}",
                callback_number=f"+1555000000{n}",
            )
            await store.add(request)
            if state is not State.PENDING:
                await store.save(
                    request, replace(request, state=state), "test", request.requested_at
                )
            ids[state] = request.id
    return ids


@pytest.mark.parametrize("everything", [False, True])
def test_list_shows_what_is_not_finished(
    everything: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "callbacks.sqlite3"
    ids = asyncio.run(_stored(path))  # the command runs its own event loop
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    monkeypatch.setenv("CALLBACK_STORE_PATH", str(path))
    capsys.readouterr()
    assert main(["list", "--json", *(["--all"] if everything else [])]) == 0
    listed = {row["id"] for row in json.loads(capsys.readouterr().out)}
    shown = set(State) if everything else set(State) - {State.DONE}
    assert listed == {ids[s] for s in shown}
