"""``agi-callback webhooks``: what an admin reads about each subscription."""

import json
from datetime import UTC, datetime

from agi_app.config.webhooks import WebhookSubscription
from agi_app.store.memory import MemoryStore
from agi_app.store.port import WebhookAttempt
from agi_app.webhooks.status import status_text, webhook_status
from tests.support.webhook_log import lifecycle

AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def sub(name: str, **values: object) -> WebhookSubscription:
    url = f"https://{name}.example.com/hook"
    return WebhookSubscription.model_validate(
        {"name": name, "url": url, "secret": "x" * 16} | values
    )


async def test_cursor_backlog_and_latest_attempts_per_subscription() -> None:
    store = MemoryStore()
    await lifecycle(store, 1)  # rows 1..3: requested, Joined, Offered
    await store.start_webhook("crm", 0)
    await store.record_webhook_attempt(WebhookAttempt("crm", 1, AT, "delivered", 204))
    await store.record_webhook_attempt(
        WebhookAttempt("crm", 2, AT, "failed", None, "ConnectError: refused")
    )
    subs = [
        sub("crm"),
        sub("offers", events=["Offered"], start="beginning"),  # never started: from row 1
        sub("late"),  # never started, from now: nothing pending
    ]
    shown = await webhook_status(store, subs, attempts=5)
    assert [(s["name"], s["cursor"], s["pending"]) for s in shown] == [
        ("crm", 1, 2),
        ("offers", None, 1),
        ("late", None, 0),
    ]
    assert shown[0]["attempts"] == [
        {
            "at": AT.isoformat(),
            "event_id": 2,
            "outcome": "failed",
            "status": None,
            "error": "ConnectError: refused",
        },
        {"at": AT.isoformat(), "event_id": 1, "outcome": "delivered", "status": 204, "error": None},
    ]
    assert json.loads(status_text(shown, as_json=True)) == shown
    text = status_text(shown, as_json=False)
    assert "crm  https://crm.example.com/hook  events: *" in text
    assert "delivered or given up: after event 1; pending: 2" in text
    assert "event 2  failed     -  ConnectError: refused" in text
    assert "event 1  delivered  204" in text
    assert "offers  https://offers.example.com/hook  events: Offered" in text
    assert "not started; pending: 1" in text
    assert status_text([], as_json=False) == "no webhooks configured"
