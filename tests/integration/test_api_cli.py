"""``agi-callback request``: through the running service's API (placed at once), or
``--direct`` into the store (placed by a service at its next AMI login); and ``cancel`` and
``reprioritize``, through the service with the web token, by the Host name it answers to."""

import asyncio
import json
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvicorn

from agi_app.admin.cli import main
from agi_app.domain.request import CallOutcome, State
from tests.integration.api_rig import Api, api_on
from tests.support.poll import eventually_local

NUMBER = "+15551230401"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    # The same store as the rig's (tests/unit/serving/rig.py settings_for).
    monkeypatch.setenv("CALLBACK_STORE_PATH", str(tmp_path / "callbacks.sqlite3"))
    monkeypatch.setenv("CALLBACK_API_QUEUES", '["support"]')
    monkeypatch.setenv("CALLBACK_ALLOWED_NUMBER_PREFIXES", '["+1555"]')


@asynccontextmanager
async def serve(api: Api, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """The rig's web app on a real port, as the service runs it."""
    config = uvicorn.Config(api.app, port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    await eventually_local(lambda: server.started, bool, within=10, what="web server up")
    monkeypatch.setenv("CALLBACK_WEB_PORT", str(server.servers[0].sockets[0].getsockname()[1]))
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def test_through_the_service_it_is_placed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CALLBACK_API_TOKEN", "request-token")
    async with api_on(tmp_path) as api, serve(api, monkeypatch):
        args = ["request", NUMBER, "--queue", "support", "--priority", "2", "--name", "Cy"]
        assert await asyncio.to_thread(main, args) == 0
        request_id = capsys.readouterr().out.strip()
        request = await api.rig.until(request_id, lambda r: r.state is State.WAITING, "w")
        assert (request.source, request.priority, request.caller_name) == ("api", 2, "Cy")
        assert [p.request_id for p in api.rig.pbx.placed] == [request_id]
        # Refused by the same rules, with the API's message.
        before = api.rows()
        blocked = ["request", "+19005550123", "--queue", "support"]
        assert await asyncio.to_thread(main, blocked) == 1
        assert "blocked-number" in capsys.readouterr().err
        assert api.rows() == before


async def test_direct_is_placed_at_the_next_login(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with api_on(tmp_path, login=False) as api:
        args = ["request", NUMBER, "--queue", "support", "--extension", "12#", "--direct"]
        assert await asyncio.to_thread(main, args) == 0
        request_id = capsys.readouterr().out.strip()
        stored = await api.rig.get(request_id)
        assert (stored.source, stored.extension, stored.callback_number) == ("api", "12#", NUMBER)
        assert stored.consent.startswith("command line: asked by cli:")
        api.rig.pbx.login()  # reconciliation reads the store
        await api.rig.until(request_id, lambda r: r.state is State.WAITING, "placed")


def test_direct_refusals_change_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["request", NUMBER, "--queue", "support", "--direct"]) == 0
    first = capsys.readouterr().out.strip()
    with sqlite3.connect(tmp_path / "callbacks.sqlite3") as db:
        before = db.execute("SELECT * FROM requests").fetchall()
    for refused, says in [
        (["request", "911", "--queue", "support"], "blocked-number"),
        (["request", NUMBER, "--queue", "billing"], "unknown-queue"),
        (["request", NUMBER, "--queue", "support", "--priority", "0"], "priority"),
        (["request", NUMBER, "--queue", "support", "--at", "2001-01-01T10:00"], "invalid-time"),
        (["request", NUMBER, "--queue", "support", "--at", "soon"], "--at"),
    ]:
        assert main([*refused, "--direct"]) in (1, 2)
        assert says in capsys.readouterr().err
    # A repeat is the one already there.
    assert main(["request", NUMBER, "--queue", "support", "--direct"]) == 0
    assert capsys.readouterr().out.strip() == first
    with sqlite3.connect(tmp_path / "callbacks.sqlite3") as db:
        assert db.execute("SELECT * FROM requests").fetchall() == before


def test_without_a_token_it_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CALLBACK_API_TOKEN", raising=False)
    assert main(["request", NUMBER, "--queue", "support"]) == 2
    assert "CALLBACK_API_TOKEN" in capsys.readouterr().err


async def test_cancel_and_reprioritize_go_by_the_name_the_service_answers_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CALLBACK_WEB_TOKEN", "boss-token")  # the service's and the command's
    # The service answers only to this name: the command sends it as Host to web_host.
    monkeypatch.setenv("CALLBACK_WEB_ALLOWED_HOSTS", '["callback.example"]')
    async with api_on(tmp_path, login=False) as api, serve(api, monkeypatch):
        request = await api.rig.add(NUMBER)
        assert await asyncio.to_thread(main, ["cancel", request.id, "--by", "carol"]) == 0
        done = json.loads(capsys.readouterr().out)
        assert (done["id"], done["call_outcome"]) == (request.id, CallOutcome.CANCELLED.value)
        assert await asyncio.to_thread(main, ["reprioritize", request.id, "2"]) == 1
        assert "priority refused (409): " in capsys.readouterr().err
        monkeypatch.setenv("CALLBACK_WEB_TOKEN", "wrong-token")
        assert await asyncio.to_thread(main, ["cancel", request.id]) == 1
        assert "cancel refused (401): " in capsys.readouterr().err


def test_a_service_that_does_not_answer_is_said(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("CALLBACK_WEB_PORT", str(port))
    monkeypatch.setenv("CALLBACK_WEB_TOKEN", "boss-token")
    monkeypatch.setenv("CALLBACK_API_TOKEN", "request-token")
    assert main(["cancel", "x1"]) == 1
    said = capsys.readouterr().err
    assert said.startswith(f"cannot reach the service at http://127.0.0.1:{port}/api/callbacks/x1")
    assert main(["request", NUMBER, "--queue", "support"]) == 1
    said = capsys.readouterr().err
    assert said.startswith(f"cannot reach the service at http://127.0.0.1:{port}/api/callbacks (")
    assert said.rstrip().endswith("; --direct writes the store")


async def test_show_and_the_api_give_the_callers_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The language the customer is spoken to in: in `show` and the API's read scope."""
    async with api_on(tmp_path) as api:
        request = await api.rig.add(NUMBER, language="es")
        assert await asyncio.to_thread(main, ["show", request.id]) == 0
        assert json.loads(capsys.readouterr().out)["language"] == "es"
        got = await api.client.get(
            f"/api/callbacks/{request.id}", headers={"Authorization": "Bearer read-token"}
        )
        assert got.status_code == 200 and got.json()["language"] == "es"
