"""`agi-callback serve` runs on uvloop, or on asyncio's own loop when the settings say
event_loop = "asyncio" (the way back, should uvloop misbehave somewhere)."""

import asyncio

import pytest
import uvloop

from agi_app.admin import cli
from agi_app.config.file import SettingsSource
from agi_app.config.settings import Settings


@pytest.mark.parametrize(("name", "on_uvloop"), [(None, True), ("asyncio", False)])
def test_serve_runs_on_the_loop_the_settings_name(
    monkeypatch: pytest.MonkeyPatch, name: str | None, on_uvloop: bool
) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve(_settings: Settings, _source: SettingsSource) -> int:
        loops.append(asyncio.get_running_loop())
        return 0

    monkeypatch.setattr(cli, "_serve", serve)
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    monkeypatch.setenv("CALLBACK_AMI_SECRET", "x")
    if name is not None:
        monkeypatch.setenv("CALLBACK_EVENT_LOOP", name)
    assert cli.main(["serve"]) == 0
    assert [isinstance(loop, uvloop.Loop) for loop in loops] == [on_uvloop]
