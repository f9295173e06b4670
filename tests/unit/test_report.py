from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from agi_app.domain.options import Mode
from agi_app.domain.report import percentile, report
from agi_app.domain.request import CallOutcome, ContactOutcome, State
from tests.support.samples import PENDING, T0


def done(i: int, call: CallOutcome, contact: ContactOutcome, waited: int | None = None):  # type: ignore[no-untyped-def]
    return replace(
        PENDING,
        id=f"r{i}",
        state=State.DONE,
        call_outcome=call,
        contact_outcome=contact,
        agent_answered_at=None if waited is None else T0 + timedelta(seconds=waited),
    )


def test_per_queue_and_day_with_outcomes_and_waits() -> None:
    requests = [
        done(1, CallOutcome.ANSWERED, ContactOutcome.ANSWERED, 30),
        done(2, CallOutcome.ANSWERED, ContactOutcome.ANSWERED, 90),
        done(3, CallOutcome.MISSED, ContactOutcome.ANSWERED, 60),
        done(4, CallOutcome.ABANDONED, ContactOutcome.MISSED),
        done(5, CallOutcome.EXPIRED, ContactOutcome.MISSED),
        replace(PENDING, id="r6"),
        replace(PENDING, id="r7", queue="sales"),
        replace(PENDING, id="r8", requested_at=T0 + timedelta(days=1)),
    ]
    rows = report(requests)
    assert [(r.queue, r.day.isoformat(), r.requests) for r in rows] == [
        ("sales", "2026-11-26", 1),
        ("support", "2026-11-26", 6),
        ("support", "2026-11-27", 1),
    ]
    support = rows[1]
    assert (support.answered_calls, support.missed_calls, support.abandoned_calls) == (2, 1, 1)
    assert (support.expired, support.answered_contacts, support.missed_contacts) == (1, 3, 2)
    assert support.open == 1
    assert (support.wait_p50_s, support.wait_p90_s, support.wait_p99_s) == (60, 90, 90)
    assert rows[0].wait_p50_s is None


def test_nearest_rank_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 99) == 5.0
    assert percentile([float(v) for v in range(1, 101)], 90) == 90.0


def test_dials_retries_and_carried_over() -> None:
    once = replace(PENDING, id="a", customer_answered_at=T0)
    reached_later = replace(PENDING, id="b", customer_attempts=2, customer_answered_at=T0)
    never = replace(PENDING, id="c", customer_attempts=3, carried_over=1, scheduled_for=T0)
    (row,) = report([once, reached_later, never])
    assert (row.customer_dials, row.retried, row.reached_on_retry, row.carried_over) == (
        1 + 3 + 3, 2, 1, 1
    )  # fmt: skip
    assert row.scheduled == 1


def test_days_are_the_centres() -> None:
    """00:10 in Paris is 23:10 UTC the day before: the centre's day counts it as the new day."""
    late = replace(PENDING, id="late", requested_at=datetime(2026, 11, 26, 23, 10, tzinfo=UTC))
    (utc,) = report([late])
    (paris,) = report([late], zone=ZoneInfo("Europe/Paris"))
    assert (utc.day.isoformat(), paris.day.isoformat()) == ("2026-11-26", "2026-11-27")


def test_machine_calls_and_the_machine_rate() -> None:
    """Of the answers machine detection judged (amd=yes), the share that were machines."""
    judged = replace(PENDING, amd=True, state=State.DONE, contact_outcome=ContactOutcome.ANSWERED)
    group = [
        replace(judged, id="m1", amd_status="MACHINE", call_outcome=CallOutcome.MACHINE),
        replace(judged, id="p1", amd_status="HUMAN", call_outcome=CallOutcome.ANSWERED),
        replace(judged, id="p2", amd_status="NOTSURE", call_outcome=CallOutcome.ANSWERED),
        replace(judged, id="u1", amd_status="", call_outcome=CallOutcome.MISSED),  # no answer
        replace(PENDING, id="x1", state=State.DONE, call_outcome=CallOutcome.ANSWERED),  # no amd
    ]
    (row,) = report(group)
    assert (row.machine_calls, row.machine_rate) == (1, 1 / 3)
    (none,) = report(group[3:])
    assert (none.machine_calls, none.machine_rate) == (0, None)


def test_customer_first_human_checks_and_waits_on_the_line() -> None:
    """Of the people asked to press 1, the share who did; the wait after pressing it, and
    how many waited past the bound (customer first's own failure)."""
    first = replace(PENDING, mode=Mode.CUSTOMER_FIRST, state=State.DONE, amd_status="HUMAN")
    joined = T0 + timedelta(minutes=1)
    group = [
        replace(first, id="a", customer_key="1", customer_joined_at=joined,
                agent_answered_at=joined + timedelta(seconds=20)),
        replace(first, id="b", customer_key="1", customer_joined_at=joined,
                agent_answered_at=joined + timedelta(seconds=90)),  # past the 60 s bound
        replace(first, id="c", customer_key=""),  # asked, no key
        replace(first, id="d", amd_status="MACHINE"),  # never asked
        replace(PENDING, id="e", amd=True, amd_status="HUMAN", state=State.DONE),  # agent first
    ]  # fmt: skip
    (row,) = report(group)
    assert row.human_check_rate == 2 / 3
    assert (row.customer_wait_p50_s, row.customer_waits_over_bound) == (20, 1)
    (strict,) = report(group, customer_wait_bound_s=10)
    assert strict.customer_waits_over_bound == 2


def test_missed_calls_called_back_are_counted_apart() -> None:
    group = [replace(PENDING, id="m", source="missed"), replace(PENDING, id="p")]
    (row,) = report(group)
    assert (row.requests, row.missed_call_callbacks) == (2, 1)


def test_the_wrap_up_codes_of_the_day() -> None:
    group = [replace(PENDING, id=str(i), disposition=code)
             for i, code in enumerate(["sale", "no_sale", "sale", ""])]  # fmt: skip
    (row,) = report(group)
    assert row.dispositions == "no_sale:1 sale:2"


def test_languages_and_the_preferred_agent_of_the_day() -> None:
    answered = replace(PENDING, agent_answered_at=T0, agent="PJSIP/agent2")
    group = [
        replace(PENDING, id="a", message="a.wav", language="es"),
        replace(PENDING, id="b", language="es"),
        replace(PENDING, id="c", language="fr_CA"),
        replace(answered, id="d", preferred_agent="PJSIP/agent2", affinity="ringing"),
        replace(answered, id="e", preferred_agent="PJSIP/agent2", affinity="over"),
        replace(PENDING, id="f", preferred_agent="last"),  # not served yet
    ]
    (row,) = report(group)
    assert row.languages == "es:2 fr_CA:1"
    # The preferred agent answered one; the other went to any agent once affinity was over.
    assert (row.preferred_agent_requests, row.preferred_agent_answered) == (3, 1)
