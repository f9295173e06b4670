"""Reports: per queue and per day, what became of the callback requests.

The wait is from the caller's original queue entry to an agent answering the callback
(requests no agent answered have no wait); percentiles are nearest-rank.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State


@dataclass(frozen=True)
class ReportRow:
    queue: str
    day: date
    requests: int
    answered_calls: int
    missed_calls: int
    abandoned_calls: int
    expired: int
    cancelled: int
    errors: int
    answered_contacts: int
    missed_contacts: int
    open: int  # not finished yet
    wait_p50_s: float | None
    wait_p90_s: float | None
    wait_p99_s: float | None


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def report(requests: Iterable[CallbackRequest]) -> list[ReportRow]:
    groups: dict[tuple[str, date], list[CallbackRequest]] = defaultdict(list)
    for request in requests:
        groups[(request.queue, request.requested_at.date())].append(request)
    rows = []
    for (queue, day), group in sorted(groups.items()):
        calls = [r.call_outcome for r in group]
        contacts = [r.contact_outcome for r in group]
        waits = [
            (r.agent_answered_at - r.queue_entered_at).total_seconds()
            for r in group
            if r.agent_answered_at is not None
        ]
        rows.append(
            ReportRow(
                queue=queue,
                day=day,
                requests=len(group),
                answered_calls=calls.count(CallOutcome.ANSWERED),
                missed_calls=calls.count(CallOutcome.MISSED),
                abandoned_calls=calls.count(CallOutcome.ABANDONED),
                expired=calls.count(CallOutcome.EXPIRED),
                cancelled=calls.count(CallOutcome.CANCELLED),
                errors=calls.count(CallOutcome.ERROR),
                answered_contacts=contacts.count(ContactOutcome.ANSWERED),
                missed_contacts=contacts.count(ContactOutcome.MISSED),
                open=sum(r.state is not State.DONE for r in group),
                wait_p50_s=percentile(waits, 50),
                wait_p90_s=percentile(waits, 90),
                wait_p99_s=percentile(waits, 99),
            )
        )
    return rows
