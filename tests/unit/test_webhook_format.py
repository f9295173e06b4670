"""The webhook body, its signature and the subscription settings (no network)."""

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from agi_app.config.settings import Settings
from agi_app.config.webhooks import WebhookSubscription
from agi_app.domain.event_log import Event, LoggedEvent
from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State
from agi_app.domain.webhook import encode, payload, signature, verify, wanted
from agi_app.serving.backoff import Backoff
from tests.support import http_receiver

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
SECRET = "s3cret-s3cret-s3cret"
REQUEST = CallbackRequest(
    id="r1",
    channel="1795650000.1",
    state=State.DONE,
    queue="support",
    priority=5,
    position=2,
    caller_name="Ann Smith",
    caller_number="+15551230001",
    callback_number="+15551230002",
    extension="12",
    dialed_number="5000",
    queue_entered_at=NOW - timedelta(seconds=90),
    requested_at=NOW,
    expires_at=NOW + timedelta(seconds=1800),
    timeout_prompt="callback/timeout",
    agent="PJSIP/agent1",
    call_outcome=CallOutcome.ANSWERED,
    contact_outcome=ContactOutcome.ANSWERED,
    language="es",
)


def logged(event: str, state: str, seq: int = 7) -> LoggedEvent:
    return LoggedEvent(seq, Event("r1", NOW, event, state, {"agent": "PJSIP/agent1"}))


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id":7}'
    header = signature(SECRET.encode(), 1795650000, body)
    # The known answer (Python's hmac over b"1795650000." + body, computed once by hand).
    assert header == (
        "t=1795650000,v1=e85784982a0a1093fed036fcb7340f80412e54a1afd7417a4f57ccaccc5d1a29"
    )
    assert verify(SECRET.encode(), header, body, now=1795650000)
    # The docs' snippet (docs/how-to/webhooks.md, as the test receiver uses it) agrees with
    # the product.
    now_header = signature(SECRET.encode(), int(datetime.now(UTC).timestamp()), body)
    assert http_receiver.verify(SECRET, now_header, body)


@pytest.mark.parametrize(
    "change",
    ["body", "secret", "timestamp", "old", "future", "no-v1", "garbage"],
)
def test_a_signature_that_does_not_match_is_refused(change: str) -> None:
    body, key, at = b'{"id":7}', SECRET.encode(), 1795650000
    header = signature(key, at, body)
    match change:
        case "body":
            assert not verify(key, header, b'{"id":8}', now=at)
        case "secret":
            assert not verify(b"another-secret-of-16", header, body, now=at)
        case "timestamp":  # the timestamp is signed: moving it breaks the signature
            moved = header.replace(f"t={at}", f"t={at + 1}")
            assert not verify(key, moved, body, now=at)
        case "old":
            assert not verify(key, header, body, now=at + 301)
        case "future":
            assert not verify(key, header, body, now=at - 301)
        case "no-v1":
            assert not verify(key, f"t={at}", body, now=at)
        case "garbage":
            assert not verify(key, "nonsense", body, now=at)


def test_the_body_is_the_row_as_stored_with_the_outcome_once_done() -> None:
    body = json.loads(encode(payload(logged("CallEnded", "done"), REQUEST)))
    assert body == {
        "id": 7,
        "event": "CallEnded",
        "at": NOW.isoformat(),
        "request_id": "r1",
        "state": "done",
        "detail": {"agent": "PJSIP/agent1"},
        "outcome": {"call": "Answered Call", "contact": "Answered Contact"},
        "request": {
            "id": "r1",
            "source": "phone",
            "server": "default",
            "queue": "support",
            "priority": 5,
            "caller_name": "Ann Smith",
            "caller_number": "+15551230001",
            "callback_number": "+15551230002",
            "extension": "12",
            "dialed_number": "5000",
            "voice_message": False,
            "queue_entered_at": (NOW - timedelta(seconds=90)).isoformat(),
            "requested_at": NOW.isoformat(),
            "scheduled_for": None,
            "language": "es",
        },
    }
    # Nothing the Live view does not show (and the language the customer is spoken to in):
    # no channel, prompts, expiry or internal counters.
    assert set(body["request"]) <= {
        "id", "source", "server", "queue", "priority", "caller_name", "caller_number",
        "callback_number", "extension", "dialed_number", "queue_entered_at", "requested_at",
        "scheduled_for", "voice_message",
        "language",
    }  # fmt: skip


def test_an_event_before_the_end_carries_no_outcome() -> None:
    body = payload(logged("Offered", "offered"), replace(REQUEST, state=State.OFFERED))
    assert body["outcome"] is None
    # An event stays what it was when logged, even once the request has moved on.
    assert payload(logged("Offered", "offered"), REQUEST)["outcome"] is None


def test_the_same_event_encodes_to_the_same_bytes() -> None:
    first = encode(payload(logged("Joined", "waiting"), REQUEST))
    assert first == encode(payload(logged("Joined", "waiting"), REQUEST))
    assert b" " not in first.replace(b"Ann Smith", b"")  # compact


def test_a_subscription_gets_the_events_it_names_or_all() -> None:
    assert wanted(None, "Joined")
    assert wanted(frozenset({"Joined"}), "Joined")
    assert not wanted(frozenset({"CallEnded"}), "Joined")


def test_full_jitter_draws_within_the_doubling_delay() -> None:
    backoff = Backoff(1.0, 4.0)
    assert [backoff.jittered(lambda: 0.5) for _ in range(4)] == [0.5, 1.0, 2.0, 2.0]
    assert Backoff(1.0, 4.0).jittered(lambda: 0.0) == 0.0


def sub(**values: object) -> WebhookSubscription:
    return WebhookSubscription.model_validate(
        {"name": "crm", "url": "https://crm.example.com/hook", "secret": SECRET} | values
    )


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ({"url": "ftp://crm.example.com/hook"}, "not an http(s) URL"),
        ({"url": "file:///etc/passwd"}, "not an http(s) URL"),
        ({"url": "crm.example.com/hook"}, "not an http(s) URL"),
        ({"url": "http://crm.example.com/hook"}, "loopback address only"),
        ({"url": "http://10.0.0.5/hook"}, "loopback address only"),
        ({"url": "https://user:pw@crm.example.com/hook"}, "must not hold credentials"),
        ({"url": "https://crm.example.com/hook#x"}, "no fragment"),
        ({"secret": "short"}, "16+ characters"),
        ({"secret": None}, "either secret or secret_file"),
        ({"secret_file": "/x"}, "either secret or secret_file"),
        ({"name": "bad name"}, "should match pattern"),
        ({"events": []}, "at least 1 item"),
        ({"events": ["CallEnded", "callended", "Expired"]}, "no event is named Expired, callended"),
        ({"timeout": 0}, "greater than 0"),
        ({"retry_initial": 10, "retry_max": 1}, "retry_max is below retry_initial"),
        ({"start": "yesterday"}, "'now' or 'beginning'"),
        ({"colour": "blue"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_subscriptions_are_refused(values: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(why)):
        sub(**values)


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/hook",
        "http://127.0.0.1:9000/h",
        "http://[::1]/h",
        "http://localhost/h",
    ],
)
def test_https_anywhere_and_http_to_this_machine_are_accepted(url: str) -> None:
    assert sub(url=url).url == url


def test_a_secret_file_is_read_at_start(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    assert sub(secret=None, secret_file=str(path)).key() == SECRET.encode()
    path.chmod(0o400)  # as systemd's LoadCredential hands it over
    assert sub(secret=None, secret_file=str(path)).key() == SECRET.encode()
    path.chmod(0o600)
    path.write_text("short")
    with pytest.raises(ValueError, match="16\\+ characters"):
        sub(secret=None, secret_file=str(path)).key()
    with pytest.raises(ValueError, match="cannot read secret_file"):
        sub(secret=None, secret_file=str(tmp_path / "missing")).key()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606], ids=lambda m: f"{m:04o}")
def test_a_secret_file_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "crm-webhook.secret"
    path.write_text(SECRET + "\n")
    path.chmod(mode)
    with pytest.raises(ValueError) as refused:
        sub(secret=None, secret_file=str(path)).key()
    message = str(refused.value)
    assert f"secret_file {path} has mode {mode:04o}" in message
    assert f"chmod 0600 {path}" in message and SECRET not in message
    link = tmp_path / "link"  # the mode of the file read, not of a link to it
    link.symlink_to(path)
    with pytest.raises(ValueError, match=f"has mode {mode:04o}"):
        sub(secret=None, secret_file=str(link)).key()


def test_settings_take_subscriptions_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    hooks = [{"name": "crm", "url": "https://crm.example.com/h", "secret": SECRET}]
    monkeypatch.setenv("CALLBACK_WEBHOOKS", json.dumps(hooks))
    (crm,) = Settings().webhooks
    assert (crm.name, crm.events, crm.event_names(), crm.max_age) == ("crm", ["*"], None, 86400)
    monkeypatch.setenv("CALLBACK_WEBHOOKS", json.dumps(hooks * 2))
    with pytest.raises(ValidationError, match="webhook names must be unique: crm"):
        Settings()
