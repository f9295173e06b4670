"""The call's wrap-up code (disposition_codes): the agent who answered a callback sets it
from the agent panel's endpoint, a supervisor may too; another agent learns nothing of the
callback, an unknown code is refused, and a callback no agent answered has none. On both
stores."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agi_app.config.credentials import WebCredential, digest
from agi_app.domain.request import State
from tests.integration.api_rig import Api, api_on, auth

NUMBER = "+15551230611"
CODES = ["sale", "no_sale", "follow_up"]


@pytest.fixture
async def api(tmp_path: Path, store_url: str | None) -> AsyncIterator[Api]:
    people = [
        WebCredential(name="ann", role="supervisor", token_sha256=digest("ann-token")),
        WebCredential(name="a1", role="agent", token_sha256=digest("a1-token"),
                      agent="PJSIP/agent1"),
        WebCredential(name="a2", role="agent", token_sha256=digest("a2-token"),
                      agent="PJSIP/agent2"),
    ]  # fmt: skip
    async with api_on(
        tmp_path, login=False, store_url=store_url, web_credentials=people,
        disposition_codes=CODES,
    ) as running:  # fmt: skip
        yield running


async def answered_by_agent1(api: Api) -> str:
    made = await api.post({"number": NUMBER, "queue": "support"})
    request_id = made.json()["id"]
    stored = await api.rig.store.get(request_id)
    assert stored is not None
    talking = replace(
        stored, state=State.CONNECTED, agent="PJSIP/agent1", agent_answered_at=datetime.now(UTC)
    )
    await api.rig.store.save(stored, talking, "Test", datetime.now(UTC))
    return str(request_id)


async def dispose(
    api: Api, request_id: str, token: str, code: str
) -> tuple[int, dict[str, object]]:
    answer = await api.client.post(
        f"/api/callbacks/{request_id}/disposition", json={"code": code}, headers=auth(token)
    )
    return answer.status_code, answer.json()


async def test_the_agent_who_answered_sets_the_code(api: Api) -> None:
    request_id = await answered_by_agent1(api)
    status, body = await dispose(api, request_id, "a1-token", "sale")
    assert (status, body["disposition"], body["id"]) == (200, "sale", request_id)
    stored = await api.rig.store.get(request_id)
    assert stored is not None and stored.disposition == "sale"
    (event, *_) = [
        e.detail for e in await api.rig.store.events(request_id) if e.event == "Disposed"
    ]
    assert (event["code"], event["credential"]) == ("sale", "web:a1")
    read = await api.client.get(f"/api/callbacks/{request_id}", headers=auth("read-token"))
    assert read.json()["disposition"] == "sale"  # the request API shows it
    # A supervisor may correct it; the last one holds.
    assert (await dispose(api, request_id, "ann-token", "follow_up"))[0] == 200
    stored = await api.rig.store.get(request_id)
    assert stored is not None and stored.disposition == "follow_up"


async def test_another_agent_an_unknown_code_or_no_answer_is_refused(api: Api) -> None:
    request_id = await answered_by_agent1(api)
    status, _ = await dispose(api, request_id, "a2-token", "sale")
    assert status == 404  # another agent's callback: as if there were none
    status, body = await dispose(api, request_id, "a1-token", "won")
    assert status == 400 and "known: sale, no_sale, follow_up" in str(body["error"])
    waiting = (await api.post({"number": "+15551230612", "queue": "support"})).json()["id"]
    status, _ = await dispose(api, waiting, "ann-token", "sale")
    assert status == 409  # no agent answered it: nothing to wrap up
    stored = await api.rig.store.get(request_id)
    assert stored is not None and stored.disposition == ""
