"""The request the store tests store, every field set (a quote in the caller's name, an
extension), at NOW; nth() makes more of it, one per channel."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agi_app.domain.request import CallbackRequest, State

NOW = datetime(2026, 11, 26, 9, 30, 0, 123456, tzinfo=UTC)
REQUEST = CallbackRequest(
    id="r1",
    channel="1795650000.1",
    state=State.PENDING,
    queue="support",
    priority=5,
    position=2,
    caller_name='Ann "Quote" Smith',
    caller_number="+15551230001",
    callback_number="+15551230001",
    extension="123#",
    dialed_number="5000",
    queue_entered_at=NOW - timedelta(seconds=90),
    requested_at=NOW,
    expires_at=NOW + timedelta(seconds=1800),
    timeout_prompt="callback/timeout",
)


def nth(
    n: int, *, caller: str, callback: str, queue: str = "support", minutes: int = 0
) -> CallbackRequest:
    return replace(
        REQUEST,
        id=f"r{n}",
        channel=f"1795650000.{n}",
        caller_number=caller,
        callback_number=callback,
        queue=queue,
        requested_at=NOW + timedelta(minutes=minutes),
    )
