"""A sample request and times for the domain tests: PENDING, asked for at T0 (Thursday
2026-11-26 09:00 UTC), served() callbacks of before T0, and an office open 09:00-17:00 on
Thursdays with its NOON."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from agi_app.domain.hours import Schedule, parse_periods
from agi_app.domain.request import CallbackRequest, State

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PENDING = CallbackRequest(
    id="r1",
    channel="c1",
    state=State.PENDING,
    queue="support",
    priority=5,
    position=2,
    caller_name="Ann",
    caller_number="+15551230001",
    callback_number="+15551230001",
    extension=None,
    dialed_number="5000",
    queue_entered_at=T0,
    requested_at=T0,
    expires_at=T0 + timedelta(minutes=30),
    timeout_prompt="callback/timeout",
)


def served(i: int, waited: float, *, ago: float = 60, queue: str = "support") -> CallbackRequest:
    """Answered by an agent ``ago`` seconds before T0, after waiting ``waited`` seconds."""
    answered = T0 - timedelta(seconds=ago)
    return replace(
        PENDING,
        id=f"s{i}",
        channel=f"c{i}",
        queue=queue,
        state=State.DONE,
        queue_entered_at=answered - timedelta(seconds=waited),
        requested_at=answered - timedelta(seconds=waited),
        agent_answered_at=answered,
    )


# Open 09:00-17:00 UTC on Thursdays (T0 is Thursday 2026-11-26 09:00 UTC).
OFFICE = Schedule(
    "office",
    ZoneInfo("UTC"),
    tuple(parse_periods("09:00-17:00" if day == 3 else "") for day in range(7)),
)
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
