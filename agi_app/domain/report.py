"""Reports: per queue and per day, what became of the callback requests.

The wait is from the caller's original queue entry to an agent answering the callback
(requests no agent answered have no wait); percentiles are nearest-rank.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from agi_app.domain.affinity import OVER
from agi_app.domain.offer import OfferCheck, summarize_offers
from agi_app.domain.options import Mode
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
    # Retries and calling hours: dials of customers, requests dialed more than once, those
    # of them a later dial reached, and requests carried over a closing.
    customer_dials: int = 0
    retried: int = 0
    reached_on_retry: int = 0
    carried_over: int = 0
    # The offer check: offers made, those a request followed (acceptance = accepted / offers),
    # checks that did not offer, and the estimate's median absolute error (seconds) over the
    # answered requests that followed an offer.
    offers: int = 0
    offers_accepted: int = 0
    offer_acceptance: float | None = None
    not_offered: int = 0
    estimate_error_p50_s: float | None = None
    scheduled: int = 0  # for a later time the caller chose (the rest: as soon as possible)
    # Machine detection (amd=yes): requests that ended with a machine on the line, and the
    # share of the detected answers that were machines (None: no answer was judged).
    machine_calls: int = 0
    machine_rate: float | None = None
    # Customer first: of the people asked to press 1, the share who did; how long those who
    # did waited on the line for an agent (median), and how many waited past the bound
    # (customer first's own failure: called back, then kept waiting).
    missed_call_callbacks: int = 0  # made for live callers who hung up (missed_call_queues)
    dispositions: str = ""  # the agents' wrap-up codes and how many of each: "sale:3 no_sale:1"
    human_check_rate: float | None = None
    customer_wait_p50_s: float | None = None
    customer_waits_over_bound: int = 0
    languages: str = ""  # the callers' languages other than the default: "es:2"
    # Agent affinity: requests with a preferred agent, and those that agent answered.
    preferred_agent_requests: int = 0
    preferred_agent_answered: int = 0


def _counts(values: Iterable[str]) -> str:
    """Each value given and how many times, by value: "sale:3 no_sale:1" ("" none)."""
    return " ".join(f"{v}:{n}" for v, n in sorted(Counter(v for v in values if v).items()))


def _preferred_answered(request: CallbackRequest) -> bool:
    """Its preferred agent answered it: an agent answered before the affinity was over."""
    return (
        bool(request.preferred_agent)
        and request.agent_answered_at is not None
        and request.affinity != OVER
    )


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def dials(request: CallbackRequest) -> int:
    """How many times its customer was dialed: the unanswered dials, and the answered one."""
    return request.customer_attempts + (request.customer_answered_at is not None)


# Customer first: a customer who pressed 1 and waits longer than this for an agent is
# customer first's own failure, counted (report, metrics).
CUSTOMER_WAIT_BOUND_S = 60.0


def customer_wait(request: CallbackRequest, now: datetime) -> float:
    """Customer first: seconds the customer waited on the line after pressing 1, until an
    agent answered, they hung up, or ``now``."""
    assert request.customer_joined_at is not None
    end = request.agent_answered_at or request.customer_ended_at or now
    return max(0.0, (end - request.customer_joined_at).total_seconds())


def _human_check_rate(group: list[CallbackRequest]) -> float | None:
    """Customer first: of the people asked to press 1 (on each request's last call), the
    share who did."""
    asked = [r for r in group if r.mode is Mode.CUSTOMER_FIRST and _asked(r)]
    if not asked:
        return None
    return sum(r.customer_key == "1" for r in asked) / len(asked)


def _asked(request: CallbackRequest) -> bool:
    """Asked to press 1: a person or not sure by AMD, with the check over (a key, or none
    and the call ended)."""
    checked = request.customer_key != "" or request.state is not State.CALLING
    return request.amd_status in ("HUMAN", "NOTSURE") and checked


def _machine_rate(group: list[CallbackRequest]) -> float | None:
    judged = [r for r in group if r.amd and r.state is State.DONE and r.amd_status]
    if not judged:
        return None
    return sum(r.call_outcome is CallOutcome.MACHINE for r in judged) / len(judged)


def day_of(at: datetime, zone: tzinfo) -> date:
    """The centre's calendar day of an instant (a request at 23:30 in Paris is that day's,
    whatever the UTC date)."""
    return at.astimezone(zone).date()


def report(
    requests: Iterable[CallbackRequest],
    offer_checks: Iterable[OfferCheck] = (),
    zone: tzinfo = UTC,
    *,
    customer_wait_bound_s: float = CUSTOMER_WAIT_BOUND_S,
    now: datetime | None = None,
) -> list[ReportRow]:
    """One row per queue and day, days in the centre's time zone."""
    now = now or datetime.now(UTC)
    requests = list(requests)
    groups: dict[tuple[str, date], list[CallbackRequest]] = defaultdict(list)
    for request in requests:
        groups[(request.queue, day_of(request.requested_at, zone))].append(request)
    checks: dict[tuple[str, date], list[OfferCheck]] = defaultdict(list)
    for check in offer_checks:
        checks[(check.queue, day_of(check.at, zone))].append(check)
        groups.setdefault((check.queue, day_of(check.at, zone)), [])
    rows = []
    for (queue, day), group in sorted(groups.items()):
        offers = summarize_offers(checks.get((queue, day), []), requests)
        calls = [r.call_outcome for r in group]
        contacts = [r.contact_outcome for r in group]
        waits = [
            (r.agent_answered_at - r.queue_entered_at).total_seconds()
            for r in group
            if r.agent_answered_at is not None
        ]
        customer_waits = [customer_wait(r, now) for r in group if r.customer_joined_at]
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
                customer_dials=sum(dials(r) for r in group),
                retried=sum(dials(r) > 1 for r in group),
                reached_on_retry=sum(
                    r.customer_attempts > 0 and r.customer_answered_at is not None for r in group
                ),
                carried_over=sum(r.carried_over > 0 for r in group),
                offers=offers.offers,
                offers_accepted=offers.offers_accepted,
                offer_acceptance=offers.acceptance,
                not_offered=offers.not_offered,
                estimate_error_p50_s=offers.estimate_error_p50_s,
                scheduled=sum(r.scheduled_for is not None for r in group),
                machine_calls=calls.count(CallOutcome.MACHINE),
                machine_rate=_machine_rate(group),
                missed_call_callbacks=sum(r.source == "missed" for r in group),
                dispositions=_counts(r.disposition for r in group),
                human_check_rate=_human_check_rate(group),
                customer_wait_p50_s=percentile(customer_waits, 50),
                customer_waits_over_bound=sum(w > customer_wait_bound_s for w in customer_waits),
                languages=_counts(r.language for r in group),
                preferred_agent_requests=sum(bool(r.preferred_agent) for r in group),
                preferred_agent_answered=sum(_preferred_answered(r) for r in group),
            )
        )
    return rows
