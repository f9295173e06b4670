"""API tokens (scopes, hashes, apart from the web's roles) and how an API request is built by
the phone's rules: its facts, scheduled times and calling hours."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from agi_app.api.config import ApiConfig
from agi_app.api.intake import InvalidTime, build_api_request
from agi_app.api.limits import TokenLimits
from agi_app.api.models import CallbackIn
from agi_app.config.credentials import (
    ApiCredential,
    ApiCredentials,
    ApiPrincipal,
    Credentials,
    Scope,
    WebCredential,
    digest,
)
from agi_app.config.settings import ScheduleSettings, Settings
from agi_app.domain.errors import UnknownQueue
from agi_app.domain.request import CallbackRequest, State

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")


def api_credential(name: str, token: str, scopes: list[str]) -> ApiCredential:
    return ApiCredential.model_validate(
        {"name": name, "token_sha256": digest(token), "scopes": scopes}
    )


def test_api_tokens_are_known_by_hash_with_their_scopes() -> None:
    known = ApiCredentials(
        [
            api_credential("crm", "crm-token", ["request", "read"]),
            api_credential("x", "t", ["cancel"]),
        ]
    )
    assert known.identify("Bearer crm-token") == ApiPrincipal(
        "crm", frozenset({Scope.REQUEST, Scope.READ})
    )
    for refused in ("", "Bearer", "Bearer crm-tokenx", "Basic crm-token", "crm-token"):
        assert known.identify(refused) is None


def test_web_and_api_tokens_are_apart() -> None:
    web = Credentials(
        [
            WebCredential.model_validate(
                {"name": "ann", "role": "supervisor", "token_sha256": digest("b")}
            )
        ],
        None,
    )
    api = ApiCredentials([api_credential("crm", "crm-token", ["request"])])
    assert web.identify("Bearer crm-token") is None
    assert api.identify("Bearer b") is None


def test_api_credentials_need_a_scope_known_scopes_and_distinct_names() -> None:
    with pytest.raises(ValidationError):
        api_credential("crm", "t", [])
    with pytest.raises(ValidationError):
        api_credential("crm", "t", ["admin"])
    twice = [api_credential("crm", "a", ["read"]), api_credential("crm", "b", ["request"])]
    with pytest.raises(ValidationError, match="used twice: crm"):
        Settings(api_credentials=twice)


def test_the_generator_prints_a_token_and_its_entry() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agi_app.config.credentials", "crm", "api", "request,read"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    token = out.split("it is not stored): ")[1].split()[0]
    assert f'token_sha256 = "{digest(token)}"' in out
    assert 'scopes = ["read", "request"]' in out


def settings(**values: object) -> Settings:
    office = ScheduleSettings(timezone="Europe/Paris", hours={"mon": "09:00-17:00"})
    base: dict[str, object] = {
        "api_queues": ["support"],
        "allowed_number_prefixes": ["+1555"],
        "schedules": {"office": office},
        "queue_schedules": {"sales": "office"},
    }
    return Settings(**(base | values))  # type: ignore[arg-type]


def build(now: datetime = MONDAY_9, **fields: object) -> CallbackRequest:
    """As the API reads it: from JSON (strict: times are ISO 8601 text there)."""
    body = {"number": "+15551230701", "queue": "support"} | fields
    payload = CallbackIn.model_validate_json(json.dumps(body))
    return build_api_request(payload, ApiConfig.of(settings()), request_id="r1", now=now)


def test_an_api_request_has_the_facts_of_a_request_without_a_call() -> None:
    request = build(caller_name="Ann\x07 \u202e Smith", extension="12#", priority=3)
    assert request == build_api_request(
        CallbackIn(number="+15551230701", queue="support", caller_name="Ann\x07 \u202e Smith",
                   extension="12#", priority=3),
        ApiConfig.of(settings()), request_id="r1", now=MONDAY_9,
    )  # fmt: skip
    assert request.channel == "api-r1" and request.source == "api"
    assert request.state is State.PENDING and request.position is None
    assert (request.caller_number, request.callback_number) == ("+15551230701", "+15551230701")
    assert request.caller_name == "Ann Smith"  # control and bidi characters go
    assert (request.extension, request.priority, request.dialed_number) == ("12#", 3, "")
    assert request.queue_entered_at == request.requested_at == MONDAY_9
    assert request.expires_at == MONDAY_9 + timedelta(seconds=1800)


def test_queues_with_calling_hours_are_known_others_not() -> None:
    at = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday 11:00 in Paris: open
    request = build(queue="sales", at=at.isoformat())
    assert (request.schedule, request.not_before, request.scheduled_for) == ("office", at, at)
    with pytest.raises(UnknownQueue, match="known: sales, support"):
        build(queue="billing")


def test_a_time_outside_calling_hours_is_refused_with_the_next_opening() -> None:
    at = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # Monday 18:30 in Paris: closed
    with pytest.raises(InvalidTime, match=r"outside the calling hours of 'office'.*2026-12-07"):
        build(queue="sales", at=at.isoformat())
    # Without a schedule any future time will do; the past and far ahead will not.
    assert build(at=at.isoformat()).not_before == at
    with pytest.raises(InvalidTime, match="not in the future"):
        build(at=MONDAY_9.isoformat())
    with pytest.raises(InvalidTime, match="30 days"):
        build(at=(MONDAY_9 + timedelta(days=31)).isoformat())


def test_a_token_has_so_many_requests_in_any_hour() -> None:
    now = [0.0]
    limits = TokenLimits(3, clock=lambda: now[0])
    for at in (0.0, 10.0, 20.0):
        now[0] = at
        assert limits.retry_after("crm") is None
    now[0] = 30.0
    assert limits.retry_after("crm") == 3570  # until the first leaves the hour
    assert limits.retry_after("app") is None  # per token
    now[0] = 3600.0  # the first has left: one more, then the second must leave
    assert limits.retry_after("crm") is None
    assert limits.retry_after("crm") == 10
    now[0] = 3600.5
    assert limits.retry_after("crm") == 10  # whole seconds, rounded up
    assert all(TokenLimits(0).retry_after("crm") is None for _ in range(1000))  # 0: none


def test_an_api_request_may_name_its_preferred_agent() -> None:
    """Agent affinity by the API, checked as the component's option is."""
    request = build(preferred_agent="PJSIP/agent2", affinity_timeout=20)
    assert (request.preferred_agent, request.affinity_timeout) == ("PJSIP/agent2", 20)
    assert build(preferred_agent="last").preferred_agent == "last"
    assert (build().preferred_agent, build().affinity_timeout) == ("", 0)
    for hostile in ("PJSIP/agent1&PJSIP/agent2", "PJSIP/a,t", "agent2", "${X}"):
        with pytest.raises(ValidationError):
            build(preferred_agent=hostile)
    with pytest.raises(ValidationError):
        build(preferred_agent="PJSIP/agent2", affinity_timeout=1)
