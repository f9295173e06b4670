"""Who did it is always recorded: the credential that acted is stored with every web and API
action, apart from the free text ``by`` a supervisor may give, so that a supervisor writing
``by: "caller:+1555..."`` cannot pass for the caller's own cancel (credential ``phone``).
On both stores."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agi_app.config.credentials import WebCredential, digest
from agi_app.domain.request import State
from tests.integration.api_rig import Api, api_on, auth

NUMBER = "+15551230601"


@pytest.fixture
async def api(tmp_path: Path, store_url: str | None) -> AsyncIterator[Api]:
    supervisor = WebCredential(name="ann", role="supervisor", token_sha256=digest("ann-token"))
    async with api_on(
        tmp_path, login=False, store_url=store_url, web_credentials=[supervisor]
    ) as running:
        yield running


async def details(api: Api, request_id: str, event: str) -> list[dict[str, object]]:
    return [e.detail for e in await api.rig.store.events(request_id) if e.event == event]


async def test_an_api_request_and_cancel_keep_the_token_that_acted(api: Api) -> None:
    made = await api.post({"number": NUMBER, "queue": "support"}, "request-token")
    request_id = made.json()["id"]
    stored = await api.rig.store.get(request_id)
    assert stored is not None and stored.requested_by == "api:form"
    assert await details(api, request_id, "requested") == [{"credential": "api:form"}]
    gone = await api.client.delete(f"/api/callbacks/{request_id}", headers=auth("cancel-token"))
    assert gone.status_code == 200
    (cancelled,) = await details(api, request_id, "Cancelled")
    assert cancelled["credential"] == "api:undo"


async def test_a_supervisor_cannot_pass_for_the_caller(api: Api) -> None:
    made = await api.post({"number": NUMBER, "queue": "support"})
    request_id = made.json()["id"]
    forged = f"caller:{NUMBER}"
    answer = await api.client.post(
        f"/api/callbacks/{request_id}/cancel", json={"by": forged}, headers=auth("ann-token")
    )
    assert answer.status_code == 200, answer.text
    (cancelled,) = await details(api, request_id, "Cancelled")
    assert (cancelled["by"], cancelled["credential"]) == (forged, "web:ann")


async def test_a_reprioritization_keeps_the_supervisor_that_did_it(api: Api) -> None:
    made = await api.post({"number": NUMBER, "queue": "support", "priority": 5})
    request_id = made.json()["id"]
    answer = await api.client.post(
        f"/api/callbacks/{request_id}/priority",
        json={"level": 1, "by": "the shift lead"},
        headers=auth("ann-token"),
    )
    assert answer.status_code == 200, answer.text
    moved = await api.rig.store.get(request_id)
    assert moved is not None and moved.priority == 1 and moved.state is not State.DONE
    (change,) = await details(api, request_id, "Reprioritized")
    assert (change["by"], change["credential"]) == ("the shift lead", "web:ann")


async def test_the_read_scope_sees_who_asked(api: Api) -> None:
    made = await api.post({"number": NUMBER, "queue": "support"}, "request-token")
    read = await api.client.get(made.headers["location"], headers=auth("read-token"))
    assert read.json()["requested_by"] == "api:form"
    assert read.json()["consent"] == "api: asked by api:form"  # how they agreed
