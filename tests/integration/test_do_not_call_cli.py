"""``agi-callback do-not-call``: entries written into the store a running service reads (a
callback waiting for such a number ends without a dial), listed with the settings' own,
removed; a bad entry refused with nothing written; ``request --direct`` refused for a
listed number."""

import asyncio
from pathlib import Path

import pytest

from agi_app.admin.cli import main
from agi_app.domain.request import CallOutcome, State
from tests.unit.serving.rig import serving_on

NUMBER = "+15551230501"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    # The same store as the rig's (tests/unit/serving/rig.py settings_for).
    monkeypatch.setenv("CALLBACK_STORE_PATH", str(tmp_path / "callbacks.sqlite3"))
    monkeypatch.setenv("CALLBACK_API_QUEUES", '["support"]')
    monkeypatch.setenv("CALLBACK_ALLOWED_NUMBER_PREFIXES", '["+1555"]')
    monkeypatch.setenv("CALLBACK_CALLING_RULES", '{"do_not_call": ["+15559*"]}')


async def cli(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


async def test_an_entry_added_ends_the_waiting_callback_and_is_listed_then_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving_on(tmp_path) as rig:
        request = await rig.add(NUMBER)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        assert await cli("do-not-call", "add", "+1 555 123 0501") == 0
        assert capsys.readouterr().out == f"{NUMBER}: added\n"
        ended = await rig.until(request.id, lambda r: r.state is State.DONE, "ended")
        assert ended.call_outcome is CallOutcome.CANCELLED
        assert await cli("do-not-call") == 0
        listed = capsys.readouterr().out.splitlines()
        assert listed[0] == "+15559*\tsettings"
        assert listed[1].startswith(f"{NUMBER}\tcli:")
        assert await cli("do-not-call", "remove", NUMBER) == 0
        assert await cli("do-not-call", "remove", "+15559*") == 1  # the settings' own
        assert capsys.readouterr().out == (
            f"{NUMBER}: removed\n+15559*: not on the list (it is in the settings)\n"
        )
        assert await rig.store.do_not_call() == []


async def test_a_bad_entry_is_refused_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving_on(tmp_path, login=False) as rig:
        assert await cli("do-not-call", "add", "+15551230502", "+1555;*") == 2
        assert "is not a prefix" in capsys.readouterr().err
        assert await rig.store.do_not_call() == []  # the good one neither
        assert await cli("do-not-call", "add") == 2


async def test_a_direct_request_for_a_listed_number_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving_on(tmp_path, login=False) as rig:
        assert await cli("request", "+15559990001", "--queue", "support", "--direct") == 1
        assert "(do-not-call)" in capsys.readouterr().err
        assert await rig.store.requests() == []
