"""The do-not-call list over the request API (its own scope), on both stores: an entry
added refuses a request for the number (error ``do-not-call``, nothing stored) and ends a
callback already waiting for it without a dial; a bad entry changes nothing. And the queue's
customer hours kept with an API request."""

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
from openapi_spec_validator import validate

from agi_app.api.openapi import PATH
from agi_app.config.credentials import ApiCredential, digest
from agi_app.domain.request import CallOutcome, State
from tests.integration.api_rig import Api, api_on, auth, credentials
from tests.integration.test_api_openapi import check

NUMBER = "+15551230101"
LISTS = ApiCredential.model_validate(
    {"name": "lists", "token_sha256": digest("dnc-token"), "scopes": ["do-not-call"]}
)


def on(
    tmp_path: Path, store_url: str | None, *, login: bool = True, **values: object
) -> AbstractAsyncContextManager[Api]:
    credentials_too = {"api_credentials": [*credentials(), LISTS]}
    return api_on(tmp_path, login=login, store_url=store_url, **(credentials_too | values))


async def add(api: Api, entry: str, token: str = "dnc-token") -> httpx.Response:
    return await api.client.post("/api/do-not-call", json={"entry": entry}, headers=auth(token))


async def test_a_listed_number_is_refused_until_removed(
    tmp_path: Path, store_url: str | None
) -> None:
    async with on(tmp_path, store_url, login=False) as api:
        added = await add(api, "+1 555 123 0101")
        assert added.status_code == 201, added.text
        assert added.json()["entry"] == NUMBER and added.json()["added_by"] == "api:lists"
        assert (await add(api, NUMBER)).status_code == 200  # listed already
        before = api.rows()
        refused = await api.post({"number": NUMBER, "queue": "support"})
        assert refused.status_code == 422
        assert refused.json()["error"] == "do-not-call"
        assert api.rows() == before  # nothing stored
        listed = await api.client.get("/api/do-not-call", headers=auth("dnc-token"))
        assert [e["entry"] for e in listed.json()["added"]] == [NUMBER]
        removed = await api.client.delete(f"/api/do-not-call/{NUMBER}", headers=auth("dnc-token"))
        assert removed.status_code == 200
        assert (await api.post({"number": NUMBER, "queue": "support"})).status_code == 201


async def test_the_list_needs_its_own_scope_and_a_valid_entry(
    tmp_path: Path, store_url: str | None
) -> None:
    async with on(tmp_path, store_url, login=False) as api:
        assert (await add(api, NUMBER, token="all-token")).status_code == 403
        got = await api.client.get("/api/do-not-call", headers=auth("all-token"))
        assert got.status_code == 403
        for bad in ["+1555*0", "555; DROP", "+", 15551230101]:
            answer = await api.client.post(
                "/api/do-not-call", json={"entry": bad}, headers=auth("dnc-token")
            )
            assert answer.status_code == 422, bad
            assert answer.json()["error"] == "invalid-entry"
        assert await api.rig.store.do_not_call() == []
        gone = await api.client.delete("/api/do-not-call/+15551230199", headers=auth("dnc-token"))
        assert gone.status_code == 404


async def test_a_number_listed_while_its_callback_waits_ends_it_undialed(
    tmp_path: Path, store_url: str | None
) -> None:
    async with on(tmp_path, store_url) as api:
        created = (await api.post({"number": NUMBER, "queue": "support"})).json()
        await api.rig.until(created["id"], lambda r: r.state is State.WAITING, "waiting")
        assert (await add(api, "+1555123*")).status_code == 201
        ended = await api.rig.until(created["id"], lambda r: r.state is State.DONE, "ended")
        assert ended.call_outcome is CallOutcome.CANCELLED
        events = (await api.client.get(f"/api/callbacks/{ended.id}", headers=auth())).json()
        names = [e["event"] for e in events["events"]]
        assert names[-2:] == ["DoNotCall", "Cancelled"]


async def test_an_api_request_keeps_its_queues_customer_hours(
    tmp_path: Path, store_url: str | None
) -> None:
    rules = {"customer_hours": {"support": "08:00-21:00"}}
    async with on(tmp_path, store_url, login=False, calling_rules=rules) as api:
        created = (await api.post({"number": NUMBER, "queue": "support"})).json()
        sales = (await api.post({"number": NUMBER, "queue": "sales"})).json()
        assert (await api.rig.get(created["id"])).customer_hours == "08:00-21:00"
        assert (await api.rig.get(sales["id"])).customer_hours == ""


async def test_its_answers_match_the_openapi_document(
    tmp_path: Path, store_url: str | None
) -> None:
    async with on(tmp_path, store_url, login=False) as api:
        document = (await api.client.get(PATH)).json()
        validate(document)
        listing, one = "/api/do-not-call", "/api/do-not-call/{entry}"
        got = [
            (listing, await add(api, NUMBER)),  # 201
            (listing, await add(api, NUMBER)),  # 200
            (listing, await add(api, "nope")),  # 422
            (listing, await add(api, NUMBER, token="all-token")),  # 403
            (listing, await api.client.get(listing, headers=auth("dnc-token"))),
            (one, await api.client.delete(f"{listing}/{NUMBER}", headers=auth("dnc-token"))),
            (one, await api.client.delete(f"{listing}/{NUMBER}", headers=auth("dnc-token"))),
        ]
    assert [a.status_code for _, a in got] == [201, 200, 422, 403, 200, 200, 404]
    for template, answer in got:
        check(document, template, answer)
