"""The request API end to end in process: what a client gets back, what the store holds, and
what the (fake) PBX was asked to do."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agi_app.api.config import ApiConfig
from agi_app.api.intake import build_api_request
from agi_app.api.models import CallbackIn
from agi_app.config.settings import Settings
from agi_app.domain.request import State
from agi_app.store.port import IdempotencyKey
from agi_app.store.sqlite.store import Store
from tests.integration.api_rig import api_on, auth

NUMBER = "+15551230101"


async def test_a_request_is_stored_then_placed_at_its_priority(tmp_path: Path) -> None:
    async with api_on(tmp_path) as api:
        api.rig.pbx.live_caller("support", "live-1", prio=5)  # a level 5 caller waits
        answer = await api.post(
            {"number": "(555) 123-0101", "queue": "support", "priority": 2, "caller_name": "Ann"}
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert answer.headers["location"] == f"/api/callbacks/{body['id']}"
        stored = await api.rig.store.get(body["id"])
        assert stored is not None
        assert (stored.source, stored.channel) == ("api", f"api-{stored.id}")
        assert (stored.callback_number, stored.caller_number) == (NUMBER, NUMBER)
        assert (stored.priority, stored.caller_name, stored.dialed_number) == (2, "Ann", "")
        assert stored.queue_entered_at == stored.requested_at
        assert body["state"] == "pending" and body["number"] == NUMBER
        await api.rig.until_placed(1)
        (placed,) = api.rig.pbx.placed
        assert (placed.request_id, placed.position) == (stored.id, 1)  # ahead of level 5
        await api.rig.until(stored.id, lambda r: r.state is State.WAITING, "waiting")


async def test_a_repeat_for_the_same_number_and_queue_returns_the_existing_one(
    tmp_path: Path,
) -> None:
    async with api_on(tmp_path) as api:
        first = await api.post({"number": NUMBER, "queue": "support"})
        again = await api.post({"number": NUMBER, "queue": "support", "priority": 1})
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["location"] == first.headers["location"]
        assert len(await api.rig.store.requests()) == 1
        other_queue = await api.post({"number": NUMBER, "queue": "sales"})
        assert other_queue.status_code == 201


async def test_an_idempotent_replay_gives_the_same_answer_and_one_request(
    tmp_path: Path,
) -> None:
    async with api_on(tmp_path, login=False) as api:  # nothing placed: the state stays
        body = {"number": NUMBER, "queue": "support", "caller_name": "Bob"}
        first = await api.post(body, **{"Idempotency-Key": "order-42"})
        # The same fields, spaced and ordered otherwise, are the same body.
        replayed = await api.client.post(
            "/api/callbacks",
            content=b'{ "caller_name": "Bob",\n "queue": "support", "number": "+15551230101" }',
            headers=auth(**{"Idempotency-Key": "order-42", "Content-Type": "application/json"}),
        )
        assert first.status_code == replayed.status_code == 201
        assert replayed.json() == first.json()
        assert replayed.headers["location"] == first.headers["location"]
        assert len(await api.rig.store.requests()) == 1
        assert [e.event for e in await api.rig.store.events(first.json()["id"])] == ["requested"]
        # Keys are per credential: another client's same key is its own request.
        other = await api.post(
            {"number": "+15551230102", "queue": "support"},
            "other-token",
            **{"Idempotency-Key": "order-42"},
        )
        assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


async def test_concurrent_posts_with_one_key_make_one_request(tmp_path: Path) -> None:
    async with api_on(tmp_path, login=False) as api:
        body = {"number": NUMBER, "queue": "support"}
        answers = await asyncio.gather(
            *(api.post(body, **{"Idempotency-Key": "k"}) for _ in range(10))
        )
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["id"] for a in answers}) == 1
        assert len(await api.rig.store.requests()) == 1


async def test_two_processes_with_one_key_store_one_request(tmp_path: Path) -> None:
    """Two connections to one file (two processes): the key is looked up inside the write
    transaction, so the second finds the first's."""
    settings = Settings(
        api_queues=["support"], ami_enabled=False, allowed_number_prefixes=["+1555"]
    )
    payload = CallbackIn(number=NUMBER, queue="support")
    now = datetime.now(UTC)
    one_request, two_request = (
        build_api_request(payload, ApiConfig.of(settings), request_id=rid, now=now)
        for rid in ("r1", "r2")
    )
    key = IdempotencyKey("crm", "k", "h" * 64)
    path = tmp_path / "shared.sqlite3"
    async with Store.open(path) as one, Store.open(path) as two:
        results = await asyncio.gather(
            one.add_once(one_request, None, key), two.add_once(two_request, None, key)
        )
        assert results[0] == results[1]
        assert len(await one.requests()) == 1


async def test_get_gives_state_times_and_event_log(tmp_path: Path) -> None:
    async with api_on(tmp_path) as api:
        created = (await api.post({"number": NUMBER, "queue": "support"})).json()
        await api.rig.until(created["id"], lambda r: r.state is State.WAITING, "waiting")
        got = await api.client.get(f"/api/callbacks/{created['id']}", headers=auth("read-token"))
        assert got.status_code == 200
        detail = got.json()
        assert detail["state"] == "waiting" and detail["source"] == "api"
        assert [e["event"] for e in detail["events"]][:1] == ["requested"]
        assert "Placed" in [e["event"] for e in detail["events"]]
        assert detail["requested_at"] == created["requested_at"]


async def test_delete_cancels_a_waiting_one_and_withdraws_its_placeholder(tmp_path: Path) -> None:
    async with api_on(tmp_path) as api:
        created = (await api.post({"number": NUMBER, "queue": "support"})).json()
        await api.rig.until(created["id"], lambda r: r.state is State.WAITING, "waiting")
        assert len(api.rig.pbx.waiting()) == 1
        gone = await api.client.delete(f"/api/callbacks/{created['id']}", headers=auth())
        assert gone.status_code == 200, gone.text
        assert (gone.json()["state"], gone.json()["call_outcome"]) == ("done", "Cancelled")
        assert api.rig.pbx.waiting() == []
        events = await api.rig.store.events(created["id"])
        assert any(e.detail.get("by") == "crm" for e in events)
        again = await api.client.delete(f"/api/callbacks/{created['id']}", headers=auth())
        assert again.status_code == 200  # cancelled already: the same outcome


async def test_delete_is_refused_once_an_agent_took_it(tmp_path: Path) -> None:
    async with api_on(tmp_path) as api:
        created = (await api.post({"number": NUMBER, "queue": "support"})).json()
        request = await api.rig.until(created["id"], lambda r: r.state is State.WAITING, "waiting")
        api.rig.pbx.answer(request.id, request.attempt, "PJSIP/agent1")
        await api.rig.until(request.id, lambda r: r.state is State.DIALING, "dialing")
        before = api.rows()
        refused = await api.client.delete(f"/api/callbacks/{request.id}", headers=auth())
        assert refused.status_code == 409
        assert "cannot be cancelled" in refused.json()["message"]
        assert (await api.rig.get(request.id)).state is State.DIALING
        assert api.rows()["requests"] == before["requests"]


async def test_a_scheduled_request_waits_in_the_store_until_its_time(tmp_path: Path) -> None:
    async with api_on(tmp_path) as api:
        at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
        answer = await api.post(
            {"number": NUMBER, "queue": "support", "at": at.astimezone().isoformat()}
        )
        assert answer.status_code == 201, answer.text
        stored = await api.rig.get(answer.json()["id"])
        assert (stored.not_before, stored.scheduled_for) == (at, at)
        assert stored.expires_at == at + timedelta(seconds=api.rig.settings.api_max_wait)
        assert datetime.fromisoformat(answer.json()["scheduled_for"]) == at
        # One asked for now after it is placed; the scheduled one is not.
        now = await api.post({"number": "+15551230102", "queue": "support"})
        await api.rig.until_placed(1)
        assert [p.request_id for p in api.rig.pbx.placed] == [now.json()["id"]]
        assert (await api.rig.get(stored.id)).state is State.PENDING
