"""Today at a glance: counts as the CLI report has them, service level, waits and series."""

from dataclasses import replace
from datetime import timedelta

from agi_app.domain.day_figures import DayFigures, day_figures
from agi_app.domain.queue_day import build_calls, parse_line
from agi_app.domain.report import report
from agi_app.domain.request import CallbackRequest, CallOutcome, State
from tests.support.samples import PENDING, T0

START, END = T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1)


def cb(n: int, minute: int, **changes: object) -> CallbackRequest:
    entered = T0 + timedelta(minutes=minute)
    fields: dict[str, object] = {
        "id": f"{n:08d}-0000-4000-8000-000000000000",
        "channel": f"1795680000.{n}",
        "queue_entered_at": entered,
        "requested_at": entered + timedelta(seconds=20),
        **changes,
    }
    return replace(PENDING, **fields)  # type: ignore[arg-type]


def line(at_s: int, uniqueid: str, event: str, *data: str) -> str:
    return "|".join([str(int(T0.timestamp()) + at_s), uniqueid, "support", "NONE", event, *data])


def answered(n: int, minute: int, wait_s: int) -> CallbackRequest:
    entered = T0 + timedelta(minutes=minute)
    return cb(
        n,
        minute,
        state=State.DONE,
        call_outcome=CallOutcome.ANSWERED,
        agent_answered_at=entered + timedelta(seconds=wait_s),
    )


REQUESTS = [
    answered(1, 0, 40),  # within a 60 s threshold
    answered(2, 5, 200),
    cb(3, 10, state=State.DONE, call_outcome=CallOutcome.EXPIRED),
    cb(4, 12, state=State.DONE, call_outcome=CallOutcome.CANCELLED),
    cb(5, 40, state=State.WAITING),  # waiting now
    cb(6, 0, requested_at=T0 - timedelta(days=1)),  # another day's
]
LOG = [  # two live callers: one answered after 30 s, one hung up after 90 s
    line(0, "1.1", "ENTERQUEUE", "", "+15550001"),
    line(30, "1.1", "CONNECT", "30", "1.9", "2"),
    line(120, "1.2", "ENTERQUEUE", "", "+15550002"),
    line(210, "1.2", "ABANDON", "1", "1", "90"),
    line(600, "1795680000.3", "ENTERQUEUE", "", "+15550003"),  # callback 3's own caller
    line(620, "1795680000.3", "EXITWITHKEY", "1", "1"),
    line(900, "1.4", "ENTERQUEUE", "", "+15550004"),  # Asterisk stopped: no line of its end
    line(1500, "1.5", "ENTERQUEUE", "", "+15550005"),  # waiting now
]


def figures(now_minutes: int = 45) -> DayFigures:
    today = [r for r in REQUESTS if r.requested_at.date() == T0.date()]
    (row,) = [r for r in report(REQUESTS) if r.day == T0.date()]
    lines = [x for x in (parse_line(t) for t in LOG) if x is not None]
    calls = build_calls(lines, today, {}, "support")
    expired_at = {REQUESTS[2].id: REQUESTS[2].expires_at}
    return day_figures(
        "support",
        row,
        today,
        expired_at,
        calls,
        in_queue_now={"1.5"},
        start=START,
        end=END,
        now=T0 + timedelta(minutes=now_minutes),
        threshold_s=60,
    )


def test_counts_are_the_reports_and_the_service_level_counts_every_ended_wait() -> None:
    f = figures()
    assert (f.requested, f.served, f.expired, f.cancelled, f.open) == (5, 2, 1, 1, 1)
    # Ended waits: 2 answered callbacks, 1 expired, the live answered one and the one who
    # hung up; the caller who pressed 1 is callback 3, not a live caller of its own.
    assert (f.answered_within, f.waits_ended) == (2, 5)
    assert f.service_level == 2 / 5
    assert (f.avg_wait_callbacks_s, f.avg_wait_live_s) == (120.0, 30.0)
    assert (f.live_answered, f.live_unanswered) == (1, 1)


def test_series_waiting_over_time_per_half_hour_and_wait_distribution() -> None:
    f = figures()
    by_time = {w.at: (w.live, w.callbacks) for w in f.waiting}
    assert by_time[T0] == (1, 1)  # live 1.1, callback 1 (6 is another day's)
    assert by_time[T0 + timedelta(minutes=3)] == (1, 0)  # 1.2 waits, callback 1 answered
    assert by_time[T0 + timedelta(minutes=20)] == (0, 1)  # callback 3 until it expired
    assert by_time[T0 + timedelta(minutes=44)] == (1, 1)  # live 1.5 (not 1.4), callback 5
    assert f.waiting[-1].at == T0 + timedelta(minutes=45)  # the line ends at now
    assert [(h.start.minute, h.requested, h.served) for h in f.half_hours] == [
        (0, 4, 2),
        (30, 1, 0),
    ]
    assert dict((b, (c, live)) for b, c, live in f.wait_histogram)["30s-1m"] == (1, 1)
    assert dict((b, (c, live)) for b, c, live in f.wait_histogram)["2-5m"] == (1, 0)


def test_a_quiet_day() -> None:
    f = day_figures("support", None, [], {}, [], start=START, end=END, now=T0, threshold_s=60)
    assert (f.requested, f.service_level, f.avg_wait_live_s, f.half_hours) == (0, None, None, [])
    assert len(f.waiting) == 1 and f.waiting[0].live == 0
