"""The request API leaks nothing and cannot be used to flood: a token without the read scope
learns nothing of a callback but its id and state; repeats add no rows; idempotency keys
expire and are purged; each token has an hourly rate; the event log is read a page at a
time. On both stores where the store takes part."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agi_app.api.config import ApiConfig
from agi_app.api.intake import build_api_request
from agi_app.api.models import CallbackIn
from agi_app.config.settings import Settings
from agi_app.domain.request import State
from agi_app.store.port import REPEAT_NOTED_EVERY
from tests.integration.api_rig import Api, api_on, auth

NUMBER = "+15551230501"
KEY = "Idempotency-Key"


@pytest.fixture
async def api(tmp_path: Path, store_url: str | None) -> AsyncIterator[Api]:
    """Nothing placed (no login): the store changes only by what the API does."""
    async with api_on(
        tmp_path, login=False, store_url=store_url, api_rate_limit_per_hour=10_000
    ) as running:
        yield running


def events_named(api: Api, name: str) -> int:
    return sum(row[3] == name for row in api.rows()["request_events"])


# 1. Only the read scope reads a record.


async def test_a_request_token_learns_only_id_and_state_of_a_waiting_callback(
    tmp_path: Path, store_url: str | None
) -> None:
    async with api_on(tmp_path, store_url=store_url) as api:  # placed, then taken by an agent
        made = await api.post({"number": NUMBER, "queue": "support", "caller_name": "Ann Smith"})
        waiting = await api.rig.until(made.json()["id"], lambda r: r.state is State.WAITING, "w")
        api.rig.pbx.answer(waiting.id, waiting.attempt, "PJSIP/agent1")
        await api.rig.until(waiting.id, lambda r: r.state is State.DIALING, "dialing")
        body = {"number": NUMBER, "queue": "support"}
        for headers in ({}, {KEY: "form-1"}, {KEY: "form-1"}):  # a repeat, then a replay
            answer = await api.post(body, "request-token", **headers)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"id": waiting.id, "state": "dialing"}
            assert answer.headers["location"] == f"/api/callbacks/{waiting.id}"
        # A token with the read scope keeps the whole record.
        full = await api.post(body)
        assert full.status_code == 200
        assert (full.json()["caller_name"], full.json()["agent"]) == ("Ann Smith", "PJSIP/agent1")


async def test_a_replay_or_a_cancel_shows_no_outcome_without_the_read_scope(api: Api) -> None:
    mine = await api.post({"number": NUMBER, "queue": "sales"}, "request-token", **{KEY: "k"})
    assert mine.status_code == 201
    assert set(mine.json()) == {"id", "state"}
    cancelled = await api.client.delete(mine.headers["location"], headers=auth("cancel-token"))
    assert cancelled.status_code == 200
    assert cancelled.json() == {"id": mine.json()["id"], "state": "done"}
    replayed = await api.post({"number": NUMBER, "queue": "sales"}, "request-token", **{KEY: "k"})
    assert replayed.status_code == 201
    assert replayed.json() == {"id": mine.json()["id"], "state": "done"}
    read = await api.client.get(mine.headers["location"], headers=auth("read-token"))
    assert read.json()["call_outcome"] == "Cancelled"


# 2. A repeat adds no row; idempotency keys expire.


async def test_repeats_in_a_loop_add_one_repeated_event_and_no_rows(api: Api) -> None:
    body = {"number": NUMBER, "queue": "support"}
    first = await api.post(body)
    assert (await api.post(body)).status_code == 200  # noted: a "repeated" event
    assert (await api.post(body, **{KEY: "same"})).status_code == 200  # its key kept
    before = api.rows()
    answers = await asyncio.gather(
        *(api.post(body) for _ in range(300)),
        *(api.post(body, **{KEY: "same"}) for _ in range(300)),
    )
    assert {(a.status_code, a.json()["id"]) for a in answers} == {(200, first.json()["id"])}
    assert api.rows() == before
    assert events_named(api, "repeated") == 1
    # Once the last one is older than the window, a repeat is noted again.
    settings = Settings(api_queues=["support"], allowed_number_prefixes=["+1555"])
    later = datetime.now(UTC) + REPEAT_NOTED_EVERY + timedelta(seconds=1)
    again = build_api_request(
        CallbackIn(number=NUMBER, queue="support"),
        ApiConfig.of(settings),
        request_id=str(uuid.uuid4()),
        now=later,
    )
    assert (await api.rig.store.add(again)).id == first.json()["id"]
    assert events_named(api, "repeated") == 2


async def test_idempotency_keys_expire_and_are_purged(api: Api) -> None:
    hours = api.rig.settings.api_idempotency_hours
    assert hours == 24  # the default
    kept = await api.post({"number": NUMBER, "queue": "support"}, **{KEY: "k1"})
    await api.post({"number": "+15551230502", "queue": "support"}, **{KEY: "k2"})
    api.age_keys(hours - 1)  # not yet expired: replayed
    again = await api.post({"number": NUMBER, "queue": "support"}, **{KEY: "k1"})
    assert (again.status_code, again.json()["id"]) == (201, kept.json()["id"])
    api.age_keys(2)  # now older than the hours: free again, for another body too
    other = await api.post({"number": "+15551230503", "queue": "support"}, **{KEY: "k1"})
    assert other.status_code == 201 and other.json()["id"] != kept.json()["id"]
    keys = api.rows()["idempotency_keys"]
    assert [(row[0], row[1], row[3]) for row in keys] == [("crm", "k1", other.json()["id"])]


# 5. The event log a page at a time.


async def test_get_pages_the_event_log(api: Api) -> None:
    made = (await api.post({"number": NUMBER, "queue": "support"})).json()
    request = await api.rig.get(made["id"])
    for n in range(250):
        await api.rig.store.note(request, "Checked", datetime.now(UTC), {"n": n})
    logged = [e.event for e in await api.rig.store.events(request.id)]
    assert len(logged) > 250
    url = f"/api/callbacks/{request.id}"
    first = (await api.client.get(url, headers=auth())).json()
    assert len(first["events"]) == 100 and first["events_next"] == first["events"][-1]["id"]
    seen: list[dict[str, Any]] = []
    after: int | None = 0
    pages = 0
    while after is not None:
        page = await api.client.get(f"{url}?events_after={after}&events_limit=60", headers=auth())
        assert page.status_code == 200, page.text
        seen += page.json()["events"]
        after, pages = page.json()["events_next"], pages + 1
    assert [e["event"] for e in seen] == logged and pages == -(-len(logged) // 60)
    whole = (await api.client.get(f"{url}?events_limit=1000", headers=auth())).json()
    assert whole["events"] == seen and whole["events_next"] is None
    for query in ("events_limit=1001", "events_limit=0", "events_after=-1", "events_after=x"):
        refused = await api.client.get(f"{url}?{query}", headers=auth())
        assert (refused.status_code, refused.json()["error"]) == (422, "invalid-request"), query
        assert query.split("=")[0] in refused.json()["message"]


# 3. An hourly rate per token (in memory: the store takes no part).


async def test_a_token_over_its_hourly_rate_is_refused_with_retry_after(tmp_path: Path) -> None:
    assert Settings().api_rate_limit_per_hour == 600  # the default
    async with api_on(tmp_path, login=False, api_rate_limit_per_hour=3) as api:
        made = await api.post({"number": NUMBER, "queue": "support"})
        assert made.status_code == 201
        assert (await api.client.get(made.headers["location"], headers=auth())).status_code == 200
        assert (await api.post({"number": "911", "queue": "support"})).status_code == 422
        before = api.rows()
        for call in (
            api.post({"number": "+15551230502", "queue": "support"}),
            api.client.get(made.headers["location"], headers=auth()),
            api.client.delete(made.headers["location"], headers=auth()),
        ):
            refused = await call
            assert refused.status_code == 429, refused.text
            assert 3590 <= int(refused.headers["retry-after"]) <= 3600
            assert refused.json()["error"] == "too-many-requests"
            assert "3 requests within the hour" in refused.json()["message"]
        assert api.rows() == before
        # Per token: another has its own count; no token is no one's.
        other = await api.post({"number": "+15551230502", "queue": "support"}, "other-token")
        assert other.status_code == 201
        assert (await api.post({}, "nobody")).status_code == 401
