"""Hostile and mistaken input to the request API: each gets a 4xx with a stable code and a
message that says what is wrong, and leaves the store as it was (its requests, event log and
idempotency keys, read from the file before and after)."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agi_app.config.credentials import WebCredential, digest
from agi_app.config.settings import ScheduleSettings
from tests.integration.api_rig import Api, api_on, auth

GOOD = {"number": "+15551230201", "queue": "support"}
NOW = datetime.now(UTC)
CLOSED = (NOW + timedelta(days=(1 - NOW.weekday()) % 7 or 7)).replace(hour=12)  # a Tuesday


@dataclass(frozen=True)
class Case:
    name: str
    status: int
    error: str
    says: str  # in the message
    body: Any = field(default_factory=lambda: dict(GOOD))
    raw: bytes | None = None  # sent as is instead of ``body``
    headers: dict[str, str] = field(default_factory=lambda: auth())
    method: str = "POST"
    path: str = "/api/callbacks"


def with_(**changes: Any) -> dict[str, Any]:
    return {k: v for k, v in (GOOD | changes).items() if v is not ...}


JSON = {"Content-Type": "application/json"}
CASES = [
    # Who: no token, a wrong one, a web token, a token without the scope.
    Case("no token", 401, "unauthorized", "token", headers={}),
    Case("wrong token", 401, "unauthorized", "token", headers=auth("guess")),
    Case("basic scheme", 401, "unauthorized", "token", headers={"Authorization": "Basic x"}),
    Case("web supervisor token", 401, "unauthorized", "token", headers=auth("boss-token")),
    Case("read-only token posts", 403, "forbidden", "request scope", headers=auth("read-token")),
    Case("request token reads", 403, "forbidden", "read scope", headers=auth("request-token"),
         method="GET", path="/api/callbacks/{existing}"),
    Case("request token cancels", 403, "forbidden", "cancel scope",
         headers=auth("request-token"), method="DELETE", path="/api/callbacks/{existing}"),
    # The body as bytes: not JSON, too big, not an object.
    Case("malformed JSON", 400, "malformed-json", "not JSON", raw=b'{"number": "+1555'),
    Case("empty body", 400, "malformed-json", "not JSON", raw=b""),
    Case("JSON array", 400, "malformed-json", "JSON object", raw=b'["+15551230201"]'),
    Case("JSON string", 400, "malformed-json", "JSON object", raw=b'"call me"'),
    Case("duplicate key", 400, "malformed-json", "twice",
         raw=b'{"number": "+15551230201", "queue": "support", "queue": "sales"}'),
    Case("not UTF-8", 400, "malformed-json", "not JSON", raw=b'{"number": "\xff\xfe"}'),
    Case("deeply nested", 400, "malformed-json", "not JSON", raw=b"[" * 5000 + b"]" * 5000),
    # A lone surrogate is valid JSON but no text, in any string: a value or a key.
    Case("lone surrogate in a name", 400, "malformed-json", "lone surrogate",
         raw=b'{"number": "+15551230201", "queue": "support", "caller_name": "Ann \\ud800"}'),
    Case("lone surrogate in a number", 400, "malformed-json", "lone surrogate",
         raw=b'{"number": "\\udfff", "queue": "support"}'),
    Case("lone surrogate in a key", 400, "malformed-json", "lone surrogate",
         raw=b'{"number": "+15551230201", "queue": "support", "\\ud800": 1}'),
    Case("huge body", 413, "body-too-large", "16384", raw=b" " * 20000 + json.dumps(GOOD).encode()),
    Case("text/plain", 415, "unsupported-media-type", "application/json",
         raw=json.dumps(GOOD).encode(), headers=auth(**{"Content-Type": "text/plain"})),
    # Fields: types (strict), ranges, unknown and missing ones.
    Case("number as integer", 422, "invalid-request", "number", body=with_(number=15551230201)),
    Case("number null", 422, "invalid-request", "number", body=with_(number=None)),
    Case("number missing", 422, "invalid-request", "number", body=with_(number=...)),
    Case("number with letters", 422, "invalid-request", "number", body=with_(number="555-CALL")),
    Case("number too short", 422, "invalid-request", "number", body=with_(number="12")),
    Case("queue missing", 422, "invalid-request", "queue", body=with_(queue=...)),
    Case("queue path", 422, "invalid-request", "queue", body=with_(queue="../etc")),
    Case("priority as text", 422, "invalid-request", "priority", body=with_(priority="5")),
    Case("priority as bool", 422, "invalid-request", "priority", body=with_(priority=True)),
    Case("priority as float", 422, "invalid-request", "priority", body=with_(priority=5.0)),
    Case("priority 0", 422, "invalid-request", "priority", body=with_(priority=0)),
    Case("priority 11", 422, "invalid-request", "priority", body=with_(priority=11)),
    Case("unknown field", 422, "invalid-request", "channel", body=with_(channel="SIP/x")),
    Case("name too long", 422, "invalid-request", "caller_name", body=with_(caller_name="x" * 81)),
    Case("extension letters", 422, "invalid-request", "extension", body=with_(extension="12a")),
    Case("extension empty", 422, "invalid-request", "extension", body=with_(extension="")),
    Case("at without offset", 422, "invalid-request", "at", body=with_(at="2026-12-01T10:00:00")),
    Case("at not a time", 422, "invalid-request", "at", body=with_(at="tomorrow")),
    # The rules a phone request obeys too.
    Case("unknown queue", 422, "unknown-queue", "billing", body=with_(queue="billing")),
    Case("premium rate", 422, "blocked-number", "PREMIUM_RATE", body=with_(number="+19005550123")),
    Case("emergency", 422, "blocked-number", "emergency", body=with_(number="911")),
    Case("other region", 422, "blocked-number", "region JM", body=with_(number="+18765551234")),
    Case("wrong length", 422, "invalid-number", "length", body=with_(number="+4412")),
    Case("at in the past", 422, "invalid-time", "not in the future",
         body=with_(at=(NOW - timedelta(minutes=5)).isoformat())),
    Case("at too far", 422, "invalid-time", "days ahead",
         body=with_(at=(NOW + timedelta(days=40)).isoformat())),
    Case("at outside hours", 422, "invalid-time", "outside the calling hours",
         body=with_(queue="office", at=CLOSED.isoformat())),
    Case("rate limited", 429, "rate-limited", "requests to this number",
         body=with_(number="+15551239999")),
    # Idempotency keys: reused for another body, malformed.
    Case("key reused, other body", 422, "idempotency-key-reused", "another body",
         body=with_(priority=1), headers=auth(**{"Idempotency-Key": "used"})),
    Case("key too long", 400, "invalid-idempotency-key", "255",
         headers=auth(**{"Idempotency-Key": "k" * 256})),
    Case("key with a tab", 400, "invalid-idempotency-key", "printable",
         headers=auth(**{"Idempotency-Key": "a\tb"})),
    # Callbacks that do not exist.
    Case("get unknown", 404, "not-found", "no callback", method="GET", path="/api/callbacks/nope"),
    Case("delete unknown", 404, "not-found", "no callback", method="DELETE",
         path="/api/callbacks/00000000-0000-0000-0000-000000000000"),
    Case("get odd id", 404, "not-found", "no callback", method="GET", path="/api/callbacks/a%20b"),
]  # fmt: skip


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    office = ScheduleSettings(timezone="UTC", hours={"mon": "09:00-10:00"})
    boss = WebCredential.model_validate(
        {"name": "ann", "role": "supervisor", "token_sha256": digest("boss-token")}
    )
    async with api_on(
        tmp_path,
        login=False,  # nothing placed: the store changes only by what the API does
        schedules={"office": office},
        queue_schedules={"office": "office"},
        rate_limit_per_destination=1,
        web_credentials=[boss],
    ) as running:
        existing = await running.post(GOOD, **{"Idempotency-Key": "used"})
        assert existing.status_code == 201
        other = await running.post({"number": "+15551239999", "queue": "sales"})
        assert other.status_code == 201
        running.existing = existing.json()["id"]
        yield running


def test_there_are_at_least_thirty() -> None:
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_input_is_refused_and_changes_nothing(api: Api, case: Case) -> None:
    before = api.rows()
    headers = dict(case.headers)
    if case.method == "POST":
        content = case.raw if case.raw is not None else json.dumps(case.body).encode()
        headers = JSON | headers
    else:
        content = None
    answer = await api.client.request(
        case.method, case.path.format(existing=api.existing), content=content, headers=headers
    )
    assert answer.status_code == case.status, answer.text
    refused = answer.json()
    assert refused["error"] == case.error
    assert case.says in refused["message"]
    assert api.rows() == before


async def test_a_chunked_body_is_cut_at_the_cap(api: Api) -> None:
    """No Content-Length to trust: the body is counted as it comes, and reading stops."""
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b" " * 1024

    before = api.rows()
    answer = await api.client.post("/api/callbacks", content=chunks(), headers=auth() | JSON)
    assert answer.status_code == 413
    assert answer.json()["error"] == "body-too-large"
    assert sent < 100
    assert api.rows() == before


async def test_another_host_is_refused_before_anything(api: Api) -> None:
    before = api.rows()
    answer = await api.post(GOOD, Host="evil.example")
    assert answer.status_code == 400
    assert api.rows() == before
