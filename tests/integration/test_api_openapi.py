"""The OpenAPI document is valid OpenAPI 3.1, served without a token, and every answer the
API really gives (successes and refusals) is documented for its path, method and status and
matches the schema documented for it."""

from pathlib import Path
from typing import Any

import httpx
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from agi_app.api.openapi import PATH
from agi_app.domain.request import State
from tests.integration.api_rig import Api, api_on, auth

NUMBER = "+15551230301"


def check(document: dict[str, Any], template: str, answer: httpx.Response) -> None:
    """``answer`` is documented for its operation and status, and matches the schema."""
    operation = document["paths"][template][answer.request.method.lower()]
    documented = operation["responses"].get(str(answer.status_code))
    assert documented is not None, f"{answer.status_code} undocumented for {template}"
    schema = documented["content"]["application/json"]["schema"]
    # The schema's $refs point into the document's components: resolve them from there.
    OAS31Validator({**schema, "components": document["components"]}).validate(answer.json())
    for header, spec in documented.get("headers", {}).items():
        assert header.lower() in answer.headers or spec.get("required") is False


async def answers(api: Api) -> list[tuple[str, httpx.Response]]:
    """One of each answer the API gives."""
    one = "/api/callbacks/{id}"
    created = await api.post({"number": NUMBER, "queue": "support", "extension": "12#"})
    url = created.headers["location"]
    request = await api.rig.until(created.json()["id"], lambda r: r.state is State.WAITING, "w")
    got = [
        ("/api/callbacks", created),
        ("/api/callbacks", await api.post({"number": NUMBER, "queue": "support"})),  # 200
        (
            "/api/callbacks",
            await api.post({"number": NUMBER, "queue": "support"}, "request-token"),
        ),  # 200, id and state only
        ("/api/callbacks", await api.post({"number": "x", "queue": "support"})),  # 422 fields
        ("/api/callbacks", await api.post({"number": "911", "queue": "support"})),  # 422 rules
        ("/api/callbacks", await api.post({}, "nobody")),  # 401
        ("/api/callbacks", await api.post({}, "read-token")),  # 403
        (
            "/api/callbacks",
            await api.client.post("/api/callbacks", content=b"{", headers=auth() | JSON),
        ),  # 400
        (
            "/api/callbacks",
            await api.client.post("/api/callbacks", content=b"x" * 20000, headers=auth() | JSON),
        ),  # 413
        ("/api/callbacks", await api.client.post("/api/callbacks", headers=auth())),  # 415
        (one, await api.client.get(url, headers=auth())),  # 200 with events
        (one, await api.client.get(f"{url}?events_limit=1", headers=auth())),  # events_next
        (one, await api.client.get(f"{url}?events_limit=0", headers=auth())),  # 422
        (one, await api.client.get("/api/callbacks/nope", headers=auth())),  # 404
        (one, await api.client.get(url, headers=auth("request-token"))),  # 403
    ]
    api.rig.pbx.answer(request.id, request.attempt, "PJSIP/agent1")
    await api.rig.until(request.id, lambda r: r.state is State.DIALING, "dialing")
    got.append((one, await api.client.delete(url, headers=auth())))  # 409
    second = await api.post({"number": "+15551230302", "queue": "support"})
    got.append((one, await api.client.delete(second.headers["location"], headers=auth())))
    return got


JSON = {"Content-Type": "application/json"}


async def test_real_answers_match_the_document(tmp_path: Path) -> None:
    async with api_on(tmp_path) as api:
        served = await api.client.get(PATH)  # no token: it holds no customer data
        assert served.status_code == 200
        document = served.json()
        validate(document)  # valid OpenAPI 3.1
        assert document["openapi"].startswith("3.1")
        got = await answers(api)
    statuses = {(template, a.request.method, a.status_code) for template, a in got}
    assert statuses >= {
        ("/api/callbacks", "POST", s) for s in (200, 201, 400, 401, 403, 413, 415, 422)
    }
    assert statuses >= {("/api/callbacks/{id}", "DELETE", s) for s in (200, 409)}
    assert statuses >= {("/api/callbacks/{id}", "GET", s) for s in (200, 403, 404, 422)}
    for template, answer in got:
        check(document, template, answer)


async def test_a_token_over_its_rate_is_answered_as_documented(tmp_path: Path) -> None:
    async with api_on(tmp_path, login=False, api_rate_limit_per_hour=1) as api:
        document = (await api.client.get(PATH)).json()
        created = await api.post({"number": NUMBER, "queue": "support"})
        for template, answer in [
            ("/api/callbacks", await api.post({"number": NUMBER, "queue": "support"})),
            (
                "/api/callbacks/{id}",
                await api.client.get(created.headers["location"], headers=auth()),
            ),
        ]:
            assert answer.status_code == 429
            check(document, template, answer)


async def test_an_undocumented_field_would_be_caught(tmp_path: Path) -> None:
    """The check is not vacuous: an answer with a field the document lacks fails it."""
    async with api_on(tmp_path, login=False) as api:
        document = (await api.client.get(PATH)).json()
        created = await api.post({"number": NUMBER, "queue": "support"})
    body = created.json() | {"secret": "x"}
    schema = document["paths"]["/api/callbacks"]["post"]["responses"]["201"]["content"]
    validator = OAS31Validator(
        {**schema["application/json"]["schema"], "components": document["components"]}
    )
    assert not validator.is_valid(body)
    assert validator.is_valid(created.json())
