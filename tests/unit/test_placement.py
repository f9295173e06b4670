from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agi_app.domain.placement import (
    HeldRequests,
    QueuedCall,
    QueueOrder,
    placement_position,
    serving_key,
)
from agi_app.domain.priority import queue_prio
from agi_app.domain.request import CallbackRequest
from tests.support.samples import PENDING

T0 = PENDING.queue_entered_at


def call(level: int, seconds: int) -> QueuedCall:
    return QueuedCall(queue_prio(level), T0 + timedelta(seconds=seconds))


def test_back_at_the_place_among_the_same_level() -> None:
    queued = [call(5, -60), call(5, +30), call(5, +90)]
    assert placement_position(PENDING, queued) == 2


def test_priority_outweighs_waiting_time() -> None:
    urgent = replace(PENDING, priority=1, queue_entered_at=T0 + timedelta(minutes=30))
    assert placement_position(urgent, [call(5, -1800), call(5, -60)]) == 1
    relaxed = replace(PENDING, priority=10, queue_entered_at=T0 - timedelta(hours=1))
    assert placement_position(relaxed, [call(5, 0), call(9, 10)]) == 3


def test_ties_go_behind_and_empty_queue_is_first() -> None:
    assert placement_position(PENDING, [call(5, 0)]) == 2
    assert placement_position(PENDING, []) == 1


@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(-3600, 3600)), max_size=30),
    st.integers(1, 10),
    st.integers(-3600, 3600),
)
def test_queue_order_agrees_with_placement_position(
    calls: list[tuple[int, int]], level: int, entered: int
) -> None:
    queued = [QueuedCall(prio, T0 + timedelta(seconds=s)) for prio, s in calls]
    request = replace(PENDING, priority=level, queue_entered_at=T0 + timedelta(seconds=entered))
    order = QueueOrder(queued)
    assert order.position(request) == placement_position(request, queued)
    order.add(request)
    later = replace(request, queue_entered_at=request.queue_entered_at + timedelta(seconds=1))
    assert order.position(later) == placement_position(later, [*queued, call_of(request)])


def call_of(request: CallbackRequest) -> QueuedCall:
    return QueuedCall(queue_prio(request.priority), request.queue_entered_at)


def held(rid: str, level: int, seconds: int, queue: str = "support") -> CallbackRequest:
    return replace(
        PENDING,
        id=rid,
        queue=queue,
        priority=level,
        queue_entered_at=T0 + timedelta(seconds=seconds),
    )


def test_held_requests_come_out_in_serving_order_per_queue() -> None:
    store = HeldRequests()
    late, early, urgent = held("late", 5, 60), held("early", 5, 0), held("urgent", 1, 300)
    other = held("other", 1, -900, queue="sales")
    for request in (late, early, urgent, other):
        store.hold(request)
    assert store.first("support", 2) == ["urgent", "early"]
    assert store.first("support", 10) == ["urgent", "early", "late"]
    assert store.ranks("support") == {"urgent": 0, "early": 1, "late": 2}
    assert store.ahead_of(held("new", 5, 30)) == 2  # urgent and early, not late
    assert sorted(store.queues()) == ["sales", "support"] and len(store) == 4
    assert store.counts() == {"support": 3, "sales": 1}


def test_held_request_released_and_reheld_at_its_new_level() -> None:
    store = HeldRequests()
    store.hold(held("a", 5, 0))
    store.hold(held("b", 5, 10))
    store.hold(held("b", 1, 10))  # reprioritized: one entry, at its new key
    assert store.first("support", 5) == ["b", "a"] and len(store) == 2
    store.release("b")
    store.release("a")
    assert "a" not in store and store.queues() == [] and store.first("support", 1) == []


@given(st.lists(st.tuples(st.integers(1, 10), st.integers(-3600, 3600)), max_size=40))
def test_held_order_is_the_serving_order(keys: list[tuple[int, int]]) -> None:
    requests = [held(f"r{i}", level, seconds) for i, (level, seconds) in enumerate(keys)]
    store = HeldRequests()
    for request in requests:
        store.hold(request)
    assert store.first("support", len(requests)) == [
        r.id for r in sorted(requests, key=serving_key)
    ]


def test_a_position_is_explained_by_the_calls_it_was_computed_from() -> None:
    live = [
        QueuedCall(queue_prio(5), T0, "live-a"),
        QueuedCall(queue_prio(1), T0 + timedelta(seconds=30), "live-b"),
        QueuedCall(queue_prio(5), T0 + timedelta(seconds=90), "live-c"),
    ]
    order = QueueOrder(live)
    request = replace(PENDING, priority=5, queue_entered_at=T0 + timedelta(seconds=60))
    explained: dict[str, Any] = order.explain(request)
    assert explained["position"] == order.position(request) == 3
    assert (explained["ahead"], explained["ahead_by_level"]) == (2, {"1": 1, "5": 1})
    assert [c["id"] for c in explained["nearest_ahead"]] == ["live-b", "live-a"]
    assert [c["id"] for c in explained["nearest_behind"]] == ["live-c"]
    order.add(request)
    later = replace(request, id="r2", queue_entered_at=T0 + timedelta(seconds=70))
    nearest: list[dict[str, object]] = order.explain(later)["nearest_ahead"]  # type: ignore[assignment]
    assert nearest[-1] == {
        "level": 5,
        "entered_at": request.queue_entered_at.isoformat(),
        "kind": "callback",
        "id": request.id,
    }
