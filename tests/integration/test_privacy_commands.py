"""Erasure and the purge as an admin uses them: POST /api/forget (its own scope; refusals
change nothing) and ``agi-callback forget NUMBER`` through the service, on both stores; and
``agi-callback purge``, after which ``agi-callback report`` gives the same figures."""

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agi_app.admin.cli import main
from agi_app.domain.request import CallOutcome, ContactOutcome, State
from agi_app.store.sqlite.store import Store
from tests.integration.api_rig import Api, api_on, auth
from tests.integration.test_api_cli import serve
from tests.support.poll import eventually_local
from tests.support.privacy_trace import traces
from tests.support.samples import PENDING

NUMBER = "+15551230501"


async def _forget(api: Api, body: object, token: str = "forget-token", **headers: str) -> object:
    return await api.client.post("/api/forget", json=body, headers=auth(token, **headers))


async def _waiting(api: Api) -> str:
    body = {"number": NUMBER, "queue": "support", "caller_name": "Di Eve", "extension": "77#"}
    answer = await api.post(body, **{"Idempotency-Key": "crm-ticket-1"})
    assert answer.status_code == 201, answer.text
    request_id = str(answer.json()["id"])
    await api.rig.until(request_id, lambda r: r.state is State.WAITING, "waiting")
    return request_id


async def test_forget_through_the_api(tmp_path: Path, store_url: str | None) -> None:
    async with api_on(tmp_path, store_url=store_url) as api:
        request_id = await _waiting(api)
        before = api.rows()
        refusals = [
            (await _forget(api, {"number": NUMBER}, "all-token"), 403),  # no forget scope
            (await _forget(api, {"number": NUMBER}, "nobody"), 401),
            (await _forget(api, {"number": "5551230501,Hangup"}), 422),
            (await _forget(api, {"number": NUMBER, "queue": "x"}), 422),
            (await _forget(api, {}), 422),
        ]
        for answer, status in refusals:
            assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
        assert api.rows() == before  # a refusal changes nothing

        answer = await _forget(api, {"number": "(555) 123-0501"})  # the national form
        assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
        assert answer.json() == {"requests": 1, "cancelled": 1}  # type: ignore[attr-defined]
        done = await api.rig.get(request_id)
        assert (done.state, done.call_outcome) == (State.DONE, CallOutcome.CANCELLED)
        await eventually_local(api.rig.pbx.waiting, lambda w: w == [], within=3, what="gone")
        assert await traces(api.rig.store, NUMBER) == []
        rows = api.rows()
        assert rows["idempotency_keys"] == []  # the key and the hash of a body with the number
        dumped = json.dumps(rows, default=str)  # every row of every table, as the database has it
        assert all(trace not in dumped for trace in ("Di Eve", "5551230501", "77#"))
        last = (await api.rig.store.events(request_id))[-1]
        assert (last.event, last.detail) == ("Erased", {"by": "api:dpo"})
        # Once more: nothing holds it now.
        again = await _forget(api, {"number": NUMBER})
        assert again.json() == {"requests": 0, "cancelled": 0}  # type: ignore[attr-defined]


async def test_forget_from_the_command_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    monkeypatch.setenv("CALLBACK_STORE_PATH", str(tmp_path / "callbacks.sqlite3"))
    monkeypatch.setenv("CALLBACK_ALLOWED_NUMBER_PREFIXES", '["+1555"]')
    async with api_on(tmp_path) as api, serve(api, monkeypatch):
        request_id = await _waiting(api)
        monkeypatch.setenv("CALLBACK_API_TOKEN", "all-token")  # no forget scope
        assert await asyncio.to_thread(main, ["forget", NUMBER]) == 1
        assert "forget refused (403)" in capsys.readouterr().err
        monkeypatch.setenv("CALLBACK_API_TOKEN", "forget-token")
        assert await asyncio.to_thread(main, ["forget", NUMBER]) == 0
        assert capsys.readouterr().out == "erased: 1 callbacks (1 waiting ones cancelled)\n"
        assert (await api.rig.get(request_id)).call_outcome is CallOutcome.CANCELLED
        assert await traces(api.rig.store, NUMBER) == []


async def _history(path: Path) -> None:
    """Callbacks of days long past (by the clock: 100 and 99 days ago), done, and one today."""
    now = datetime.now(UTC)
    async with Store.open(path) as store:
        for n, (days, number, outcome) in enumerate(
            [
                (100, NUMBER, CallOutcome.ANSWERED),
                (100, NUMBER, CallOutcome.MISSED),
                (99, "+15551230502", CallOutcome.EXPIRED),
                (0, "+15551230503", CallOutcome.ANSWERED),
            ]
        ):
            at = now - timedelta(days=days)
            request = replace(
                PENDING,
                id=f"{n:08d}-0000-4000-8000-000000000000",
                channel=f"1795680000.{n}",
                caller_name="Di Eve",
                caller_number=number,
                callback_number=number,
                queue_entered_at=at - timedelta(seconds=45),
                requested_at=at,
                expires_at=at + timedelta(minutes=30),
            )
            await store.add(request)
            answered = outcome is CallOutcome.ANSWERED
            ended = replace(
                request,
                state=State.DONE,
                call_outcome=outcome,
                contact_outcome=ContactOutcome.ANSWERED if answered else ContactOutcome.MISSED,
                agent_answered_at=at + timedelta(seconds=20) if answered else None,
            )
            await store.save(request, ended, "CallEnded", at + timedelta(minutes=2))


def test_a_purge_keeps_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "callbacks.sqlite3"
    asyncio.run(_history(path))
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    monkeypatch.setenv("CALLBACK_STORE_PATH", str(path))
    capsys.readouterr()
    assert main(["report", "--format", "json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert [row["requests"] for row in before] == [2, 1, 1]

    assert main(["purge"]) == 0
    assert capsys.readouterr().out == "purged 3 callbacks finished more than 90 days ago\n"
    assert main(["report", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == before
    assert main(["list", "--all", "--json"]) == 0
    listed = capsys.readouterr().out
    assert NUMBER not in listed and "+15551230502" not in listed
    assert "+15551230503" in listed  # finished today: kept
    assert (tmp_path / "pseudonym.key").exists()
    assert main(["purge"]) == 0
    assert capsys.readouterr().out == "purged 0 callbacks finished more than 90 days ago\n"
