"""Requests for the webhook tests, and the log rows they make in the store."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agi_app.domain.request import CallbackRequest, State
from tests.support.webhook_store import OutboxStore

NOW = datetime.now(UTC)


def request(n: int) -> CallbackRequest:
    number = f"+1555123{n:04d}"
    return CallbackRequest(
        id=f"r{n}", channel=f"ch{n}", state=State.PENDING, queue="support", priority=5,
        position=None, caller_name="Ann Smith", caller_number=number, callback_number=number,
        extension=None, dialed_number="5000", queue_entered_at=NOW, requested_at=NOW,
        expires_at=NOW + timedelta(minutes=30), timeout_prompt=None,
    )  # fmt: skip


async def lifecycle(store: OutboxStore, n: int) -> None:
    """A request stored, then waiting, then offered: three rows of the log."""
    stored = await store.add(request(n))
    waiting = replace(stored, state=State.WAITING, attempt=1)
    await store.save(stored, waiting, "Joined", NOW, {"attempt": 1})
    offered = replace(waiting, state=State.OFFERED, agent="PJSIP/agent1")
    await store.save(waiting, offered, "Offered", NOW, {"agent": "PJSIP/agent1"})
