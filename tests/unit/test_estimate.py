"""The expected wait of a queue, the offer decision, and what the report makes of checks."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from agi_app.domain.errors import InvalidOptions
from agi_app.domain.estimate import (
    HISTORY,
    MAX_SAMPLES,
    Estimate,
    QueueFigures,
    Source,
    expected_wait,
    recent_waits,
)
from agi_app.domain.hours import Schedule
from agi_app.domain.offer import (
    OfferCheck,
    OfferOptions,
    Reason,
    decide,
    parse_offer_options,
    summarize_offers,
)
from agi_app.domain.report import report
from tests.support.samples import NOON, OFFICE, PENDING, T0, served

# ---- the estimate -----------------------------------------------------------------------


def test_a_free_agent_for_every_call_ahead_means_no_wait() -> None:
    assert expected_wait(QueueFigures(callers=1, staffed=3, free=2, talk_time=300)) == Estimate(
        0, Source.FREE_AGENT
    )


def test_staffed_agents_share_the_calls_ahead() -> None:
    # 5 calls ahead and this one, 2 agents busy, 4 minutes a call: 6 * 240 / 2.
    figures = QueueFigures(callers=4, held=1, staffed=2, free=0, talk_time=240)
    assert expected_wait(figures) == Estimate(720, Source.QUEUE)


def test_a_free_agent_takes_one_of_the_calls_ahead_at_once() -> None:
    figures = QueueFigures(callers=3, staffed=2, free=1, talk_time=100)
    assert expected_wait(figures) == Estimate(150, Source.QUEUE)  # (3 + 1 - 1) * 100 / 2


def test_nobody_staffed_falls_back_to_recent_served_callbacks() -> None:
    figures = QueueFigures(callers=2, staffed=0, talk_time=200, recent_waits=(100, 400, 250))
    assert expected_wait(figures) == Estimate(250, Source.HISTORY)


def test_too_few_served_callbacks_fall_back_to_asterisks_hold_time() -> None:
    figures = QueueFigures(recent_waits=(100, 400), hold_time=95.4)
    assert expected_wait(figures) == Estimate(95, Source.ASTERISK)


def test_nothing_to_go_on_gives_no_estimate() -> None:
    assert expected_wait(QueueFigures(callers=3)) == Estimate(None, Source.NONE)


def test_recent_waits_are_the_queues_latest_served_within_the_window() -> None:
    requests = [
        served(1, 100, ago=30),
        served(2, 200, ago=10),
        served(3, 999, ago=HISTORY.total_seconds() + 1),  # too old
        served(4, 888, queue="sales"),
        replace(PENDING, id="w"),  # not served
        served(5, 300, ago=-5),  # after now: a clock step, not history
    ]
    assert recent_waits(requests, "support", T0) == (200, 100)


def test_recent_waits_keep_the_latest_few() -> None:
    requests = [served(i, i, ago=i) for i in range(1, 50)]
    waits = recent_waits(requests, "support", T0)
    assert waits == tuple(float(i) for i in range(1, MAX_SAMPLES + 1))


# ---- the decision -----------------------------------------------------------------------

OPTIONS = OfferOptions(queue="support", max_wait=1800, min_wait=60, margin=60, max_callbacks=5)


def verdict(
    seconds: int | None,
    *,
    waiting: int = 0,
    schedule: Schedule | None = None,
    now: datetime = NOON,
    options: OfferOptions = OPTIONS,
) -> Reason:
    estimate = Estimate(seconds, Source.HISTORY if seconds is not None else Source.NONE)
    decision = decide(options, estimate, waiting=waiting, schedule=schedule, now=now)
    assert decision.expected_wait == seconds
    return decision.reason


def test_a_long_wait_served_in_time_is_offered() -> None:
    assert verdict(600, schedule=OFFICE) is Reason.WORTH


def test_a_short_wait_is_not_offered() -> None:
    assert verdict(59) is Reason.SHORT_WAIT
    assert verdict(60) is Reason.WORTH


def test_not_served_within_max_wait_with_the_margin_is_not_offered() -> None:
    assert verdict(1740) is Reason.WORTH  # 1740 + 60 = max_wait
    assert verdict(1741) is Reason.OVER_MAX_WAIT


def test_closed_hours_are_never_offered_whatever_the_wait() -> None:
    assert verdict(600, schedule=OFFICE, now=NOON.replace(hour=18)) is Reason.CLOSED
    assert verdict(None, schedule=OFFICE, now=NOON + timedelta(days=1)) is Reason.CLOSED


def test_not_served_before_closing_is_not_offered() -> None:
    before_closing = NOON.replace(hour=16, minute=50)  # 10 minutes left
    assert verdict(540, schedule=OFFICE, now=before_closing) is Reason.WORTH  # 540 + 60
    assert verdict(541, schedule=OFFICE, now=before_closing) is Reason.CLOSING


def test_at_the_cap_of_waiting_callbacks_nothing_more_is_offered() -> None:
    assert verdict(600, waiting=4) is Reason.WORTH
    assert verdict(600, waiting=5) is Reason.AT_CAP
    no_cap = OPTIONS.model_copy(update={"max_callbacks": 0})
    assert verdict(600, waiting=10_000, options=no_cap) is Reason.WORTH


def test_without_an_estimate_it_is_offered_as_without_the_check() -> None:
    assert verdict(None) is Reason.NO_ESTIMATE
    assert verdict(None, waiting=5) is Reason.AT_CAP


def test_the_checks_options_and_the_requests_are_read_the_rest_ignored() -> None:
    args = ["queue=support", "priority=3", "offer=callback/ivr-offer", "max_wait=900", "", "x="]
    with pytest.raises(InvalidOptions, match="x"):
        parse_offer_options(args)
    options = parse_offer_options([*args[:-1], "min_wait=120", "max_callbacks=2"])
    assert (options.queue, options.max_wait, options.min_wait) == ("support", 900, 120)
    assert (options.margin, options.max_callbacks, options.schedule) == (60, 2, None)


@pytest.mark.parametrize(
    "bad",
    ["min_wait=-1", "margin=1e9", "max_callbacks=lots", "queue=sup port", "schedule=../x"],
)
def test_bad_options_are_refused(bad: str) -> None:
    with pytest.raises(InvalidOptions):
        parse_offer_options(["queue=support", bad] if "queue" not in bad else [bad])


# ---- the report -------------------------------------------------------------------------


def check(channel: str, reason: Reason, wait: int | None = 300, queue: str = "support"):  # type: ignore[no-untyped-def]
    return OfferCheck(channel, queue, T0, reason, wait)


def test_acceptance_and_the_estimates_error() -> None:
    checks = [
        check("c1", Reason.WORTH, 300),  # accepted, waited 360: off by 60
        check("c2", Reason.WORTH, 300),  # accepted, waited 200: off by 100
        check("c3", Reason.NO_ESTIMATE, None),  # accepted, no estimate to compare
        check("c4", Reason.WORTH, 300),  # declined: no request on c4
        check("c5", Reason.AT_CAP, 300),  # not offered
        check("c6", Reason.CLOSED, 300),  # not offered
    ]
    requests = [
        served(1, 360, ago=-400),
        served(2, 200, ago=-300),
        replace(PENDING, id="p3", channel="c3"),  # waiting still
        served(9, 50, ago=-100, queue="sales"),
    ]
    summary = summarize_offers(checks, requests)
    assert (summary.offers, summary.offers_accepted, summary.not_offered) == (4, 3, 2)
    assert summary.acceptance == 0.75
    assert (summary.estimate_error_p50_s, summary.estimated) == (80, 2)


def test_the_report_has_a_row_for_a_day_of_offers_without_requests() -> None:
    rows = report([], [check("c1", Reason.WORTH), check("c2", Reason.SHORT_WAIT)])
    assert [(r.queue, r.requests, r.offers, r.not_offered) for r in rows] == [("support", 0, 1, 1)]
    assert rows[0].offer_acceptance == 0.0 and rows[0].estimate_error_p50_s is None


def test_the_report_row_carries_the_offer_figures() -> None:
    (row,) = report([served(1, 360, ago=-400)], [check("c1", Reason.WORTH, 300)])
    assert (row.offers, row.offers_accepted, row.offer_acceptance) == (1, 1, 1.0)
    assert row.estimate_error_p50_s == 60
    (plain,) = report([served(1, 360, ago=-400)])
    assert (plain.offers, plain.offer_acceptance, plain.estimate_error_p50_s) == (0, None, None)
