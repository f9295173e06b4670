"""The audit on hand-made queue_log lines and event logs: the ideal order, and each cause of
an inversion it names."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from agi_app.domain.audit import Audit, Cause, audit, explain_placements
from agi_app.domain.channel_ids import Leg, channel_id
from agi_app.domain.queue_day import Kind, parse_line
from agi_app.domain.request import CallbackRequest
from agi_app.store.sqlite.store import Event
from tests.support.samples import PENDING

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
EPOCH = int(T0.timestamp())
A1, A2 = "PJSIP/agent1", "PJSIP/agent2"
RA = "00000000-0000-4000-8000-00000000000a"
RB = "00000000-0000-4000-8000-00000000000b"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def log(seconds: int, uniqueid: str, event: str, *data: object, agent: str = "NONE") -> str:
    return "|".join([str(EPOCH + seconds), uniqueid, "support", agent, event, *map(str, data)])


def live(uid: str, entered: int, level: int | None = 5) -> list[str]:
    lines = [log(entered, uid, "CALLERLEVEL", level)] if level is not None else []
    return [*lines, log(entered, uid, "ENTERQUEUE", "", "+15550000", 1)]


def ph(request_id: str, attempt: int) -> str:
    return channel_id(request_id, attempt, Leg.PLACEHOLDER)


def request(rid: str, entered: float, **kw: Any) -> CallbackRequest:
    fields = {"channel": f"chan-{rid[-1]}", "requested_at": at(entered), **kw}
    return replace(PENDING, id=rid, queue_entered_at=at(entered), **fields)


def ev(rid: str, seconds: float, event: str, state: str, **detail: Any) -> Event:
    return Event(rid, at(seconds), event, state, detail)


def placed(rid: str, seconds: float, attempt: int, ahead: int, **detail: Any) -> list[Event]:
    return [
        ev(rid, seconds, "PlacementDue", "pending", attempt=attempt),
        ev(rid, seconds, "Placed", "pending", attempt=attempt, position=ahead + 1, ahead=ahead,
           **detail),
    ]  # fmt: skip


def run(
    lines: list[str],
    requests: list[CallbackRequest] = (),  # type: ignore[assignment]
    events: dict[str, list[Event]] | None = None,
    **kw: Any,
) -> Audit:
    parsed = [x for x in map(parse_line, lines) if x is not None]
    return audit(parsed, requests, events or {}, "support", **kw)


def only_cause(result: Audit) -> tuple[Cause, str]:
    (inversion,) = result.inversions
    return inversion.cause, inversion.explanation


def test_calm_day_offers_in_ideal_order_live_and_callbacks_alike() -> None:
    r = request(RA, 10)
    lines = [
        *live("1.1", 0),
        *live("1.2", 20, level=1),  # later, but level 1: first in the ideal order
        log(21, "1.2", "CONNECT", 1, "1.9", 1, agent=A1),
        log(40, "1.1", "RINGNOANSWER", 15000, agent=A1),  # rang out: still waits
        log(47, "1.1", "CONNECT", 47, "1.8", 2, agent=A1),
        log(50, ph(RA, 1), "ENTERQUEUE", "", "+1555", 1),
        log(61, ph(RA, 1), "CONNECT", 11, "1.7", 1, agent=A1),
    ]
    events = {RA: [ev(RA, 60, "Offered", "offered", attempt=1, agent=A1),
                   ev(RA, 61.2, "AgentAnswered", "dialing", attempt=1, agent=A1)]}  # fmt: skip
    result = run(lines, [r], events)
    assert [(c.kind, c.id, c.rank) for c in result.calls] == [
        (Kind.LIVE, "1.2", 1),
        (Kind.LIVE, "1.1", 2),
        (Kind.CALLBACK, RA, 3),
    ]
    assert [(o.start, o.agent, o.answered) for o in result.offers] == [
        (at(20), A1, True),  # CONNECT time minus its ring time
        (at(25), A1, False),  # RINGNOANSWER time minus its ring milliseconds
        (at(45), A1, True),
        (at(60), A1, True),  # the store's Offered time, exact
    ]
    assert result.inversions == []


def test_a_live_caller_without_a_usable_level_in_queue_log_counts_as_level_5() -> None:
    lines = [
        *live("1.1", 0, level=None),
        *live("1.2", 1, level=99),
        *live("1.3", 2, level="1;DROP"),  # type: ignore[arg-type]
        log(9, "1.3", "CONNECT", "nan", "1.5", "-inf", agent=A1),  # junk times: no ring time
    ]
    result = run(lines)
    assert [(c.id, c.level, c.level_known) for c in result.calls] == [
        ("1.1", 5, False),
        ("1.2", 5, False),
        ("1.3", 5, False),
    ]
    assert [o.start for o in result.offers] == [at(9)]


def test_placeholder_lost_and_placed_again() -> None:
    a, b = request(RA, 0), request(RB, 5)
    lines = [
        log(10, ph(RA, 1), "ENTERQUEUE", "", "+1", 1),
        log(11, ph(RB, 1), "ENTERQUEUE", "", "+1", 2),
        log(20, ph(RA, 1), "ABANDON", 1, 1, 10),  # hung up while the service was away
        log(22, ph(RB, 1), "CONNECT", 11, "1.5", 1, agent=A1),
        log(30, ph(RA, 2), "ENTERQUEUE", "", "+1", 1),
    ]
    events = {
        RA: [*placed(RA, 9, 1, 0), ev(RA, 10, "Joined", "waiting", attempt=1),
             ev(RA, 29, "PlaceholderLost", "pending", attempt=1), *placed(RA, 29, 2, 0)],
        RB: [*placed(RB, 10, 1, 1), ev(RB, 11, "Joined", "waiting", attempt=1)],
    }  # fmt: skip
    result = run(lines, [a, b], events)
    (inversion,) = result.inversions
    assert (inversion.ahead.id, inversion.behind.id) == (RA, RB)
    assert (inversion.offer.start, inversion.offer.agent) == (at(21), A1)
    assert inversion.cause is Cause.PLACEHOLDER_LOST
    assert inversion.explanation == (
        "A's placeholder (attempt 1) left the queue (ABANDON) at 09:00:20 and was being placed"
        " again; attempt 2 joined the queue at 09:00:30"
    )


def test_held_in_the_store_beyond_the_placement_window() -> None:
    a = request(RA, 0)
    lines = [*live("1.1", 5), log(11, "1.1", "CONNECT", 6, "1.5", 1, agent=A1)]
    cause, _ = only_cause(run(lines, [a], {RA: []}))
    assert cause is Cause.HELD_IN_STORE


def test_placement_under_way() -> None:
    a = request(RA, 0)
    lines = [*live("1.1", 5), log(11, "1.1", "CONNECT", 6, "1.5", 1, agent=A1)]
    cause, text = only_cause(run(lines, [a], {RA: placed(RA, 9, 1, 0)}))
    assert cause is Cause.PLACEMENT_UNDER_WAY
    assert "09:00:09" in text


def test_declined_by_that_agent_before() -> None:
    lines = [
        *live("1.1", 0),
        *live("1.2", 2),
        log(20, "1.1", "RINGNOANSWER", 15000, agent=A1),
        log(30, "1.2", "CONNECT", 30, "1.5", 2, agent=A1),
    ]
    cause, text = only_cause(run(lines))
    assert cause is Cause.DECLINED_BEFORE
    assert text == f"A was offered to {A1} at 09:00:05 and not taken (declined or rang out)"


def test_ringing_before_arrival_counts_only_when_the_agent_took_it() -> None:
    taken = [
        *live("1.1", 0),
        *live("1.2", 11, level=1),
        log(13, "1.1", "CONNECT", 13, "1.5", 3, agent=A1),  # rang from 10 on
    ]
    cause, _ = only_cause(run(taken))
    assert cause is Cause.RINGING_BEFORE_ARRIVAL
    rang_out = [*taken[:-1], log(13, "1.1", "RINGNOANSWER", 3000, agent=A1)]
    assert run(rang_out).inversions == []


def test_asking_for_a_callback() -> None:
    a = request(RA, 0, requested_at=at(11.5), channel="1.1")
    lines = [
        *live("1.1", 0),
        *live("1.2", 5),
        log(10, "1.1", "EXITWITHKEY", 1, 1, 1, 10),
        log(11, "1.2", "CONNECT", 6, "1.5", 0, agent=A1),
    ]
    result = run(lines, [a], {RA: []})
    assert [c.id for c in result.calls] == [RA, "1.2"]  # the caller who asked is the callback
    cause, _ = only_cause(result)
    assert cause is Cause.ASKING_FOR_CALLBACK


def test_placement_computed_from_a_queue_missing_calls() -> None:
    b = request(RB, 5)
    lines = [
        *live("1.1", 0),  # in the queue, but B's placement did not count it
        log(10, ph(RB, 1), "ENTERQUEUE", "", "+1", 1),
        log(12, ph(RB, 1), "CONNECT", 2, "1.5", 1, agent=A1),
    ]
    events = {RB: [*placed(RB, 9, 1, 0, nearest_ahead=[]), ev(RB, 10, "Joined", "waiting",
                                                              attempt=1)]}  # fmt: skip
    cause, text = only_cause(run(lines, [b], events))
    assert cause is Cause.PLACEMENT_MISCOUNTED
    assert text == (
        "B's placement (attempt 1 at 09:00:09, position 1) was computed from a queue missing"
        " calls: it counted 0 ahead, the queue held 1 ahead of it, A among them"
    )


def test_placement_that_counted_a_call_behind_as_ahead() -> None:
    a = request(RA, 0)
    lines = [
        *live("1.1", 5),
        log(10, ph(RA, 1), "ENTERQUEUE", "", "+1", 2),
        log(12, "1.1", "CONNECT", 7, "1.5", 1, agent=A1),
    ]
    behind = [{"level": 5, "entered_at": at(-3).isoformat(), "kind": "live", "id": "1.1"}]
    events = {RA: [*placed(RA, 9, 1, 1, nearest_ahead=behind),
                   ev(RA, 10, "Joined", "waiting", attempt=1)]}  # fmt: skip
    cause, text = only_cause(run(lines, [a], events))
    assert cause is Cause.PLACEMENT_MISCOUNTED
    assert text.endswith("counted 1 calls ahead of it, the queue held 0, B among them")


def test_unknown_when_the_records_do_not_tell() -> None:
    lines = [*live("1.1", 0), *live("1.2", 2), log(12, "1.2", "CONNECT", 10, "1.5", 1, agent=A2)]
    cause, _ = only_cause(run(lines))
    assert cause is Cause.UNKNOWN


def test_no_inversion_while_the_call_ahead_is_ringing_another_agent() -> None:
    lines = [
        *live("1.1", 0),
        *live("1.2", 2),
        log(12, "1.1", "RINGNOANSWER", 4000, agent=A1),  # rings 8..12
        log(12, "1.2", "CONNECT", 10, "1.5", 2, agent=A2),  # rings from 10
    ]
    assert run(lines).inversions == []


def test_same_second_in_queue_log_is_no_inversion() -> None:
    a = request(RA, 5.7)  # exact; the live caller entered within the same second
    lines = [*live("1.1", 5), log(9, "1.1", "CONNECT", 4, "1.5", 1, agent=A1)]
    assert run(lines, [a], {RA: []}).inversions == []


def test_since_leaves_out_earlier_calls_and_torn_lines_are_skipped() -> None:
    lines = [
        *live("1.1", 0),
        "garbage",
        "17956|torn",
        *live("1.2", 2),
        log(12, "1.2", "CONNECT", 10, "1.5", 1, agent=A2),
    ]
    result = run(lines, since=at(1))
    assert [(c.id, c.rank) for c in result.calls] == [("1.2", 1)]
    assert result.inversions == []


def test_show_explains_each_placement() -> None:
    events = [
        ev(RA, 0, "requested", "pending"),
        ev(RA, 1, "Placed", "pending", attempt=2, position=3, ahead=2,
           ahead_by_level={"5": 1, "1": 1},
           nearest_ahead=[{"level": 5, "entered_at": at(-30).isoformat(), "kind": "live",
                           "id": "1795.1"}],
           nearest_behind=[]),
    ]  # fmt: skip
    assert explain_placements(events) == [
        "attempt 2 placed at 09:00:01 at position 3: 2 calls ahead (level 1: 1, level 5: 1);"
        " nearest ahead: live caller 1795.1 (level 5, entered 08:59:30); behind: none"
    ]
