"""The behaviour every RequestStore must have (agi_app.store.port), run against each one:
the SQLite store on a real file, the PostgreSQL one on a throwaway server
(tests/support/postgres.py), and the in-memory one the serving unit tests use.

What only SQLite has (WAL, file modes, damaged files, migrations) is in test_store.py.
"""

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.domain.errors import RateLimited, StoreUnavailable
from agi_app.domain.offer import OfferCheck, Reason
from agi_app.domain.request import CallbackRequest, RateLimits, State
from agi_app.store.open import ServiceStore
from agi_app.store.port import (
    REPEAT_NOTED_EVERY,
    IdempotencyKey,
    KeptAnswer,
    RequestStore,
    StaleUpdate,
    WebhookAttempt,
)
from tests.support.store_samples import NOW, REQUEST, nth
from tests.support.webhook_store import OutboxStore


@pytest.fixture
def store(each_store: ServiceStore) -> RequestStore:
    return each_store


async def test_request_round_trips_with_an_event(store: RequestStore) -> None:
    assert await store.add(REQUEST) == REQUEST
    assert await store.get("r1") == REQUEST
    events = await store.events("r1")
    assert [(e.event, e.state, e.at, e.detail) for e in events] == [
        ("requested", "pending", NOW, {})
    ]


async def test_unknown_requests_have_nothing(store: RequestStore) -> None:
    assert await store.get("nobody") is None
    assert await store.events("nobody") == []
    assert await store.requests() == []


async def test_every_field_round_trips(store: RequestStore) -> None:
    full = replace(
        REQUEST,
        state=State.DONE,
        position=None,
        extension=None,
        timeout_prompt=None,
        attempt=3,
        placement_failures=2,
        agent="PJSIP/agent1",
        declined_by=frozenset({"PJSIP/agent2", "PJSIP/agent3"}),
        agent_answered_at=NOW + timedelta(minutes=1),
        customer_dialed_at=NOW + timedelta(minutes=2),
        customer_answered_at=NOW + timedelta(minutes=3),
        customer_ended_at=NOW + timedelta(minutes=4),
        server="b",
        language="es_MX",
        customer_hours="08:00-12:00/14:00-21:00",
        preferred_agent="PJSIP/agent2",
        affinity_timeout=45,
        affinity="over",
    )
    await store.add(full)
    assert await store.get(full.id) == full


async def test_same_channel_is_stored_once(store: RequestStore) -> None:
    await store.add(REQUEST)
    again = await store.add(replace(REQUEST, id="r2", position=7))
    assert again == REQUEST
    assert [r.id for r in await store.requests()] == ["r1"]
    assert [e.event for e in await store.events("r1")] == ["requested"]  # no "repeated"


async def test_same_channel_is_stored_once_even_when_done(store: RequestStore) -> None:
    await store.add(REQUEST)
    await store.save(REQUEST, replace(REQUEST, state=State.DONE), "LeftQueue", NOW)
    again = await store.add(replace(REQUEST, id="r2"))
    assert again.id == "r1" and again.state is State.DONE
    assert [r.id for r in await store.requests()] == ["r1"]


async def test_one_active_callback_per_number_and_queue(store: RequestStore) -> None:
    repeat = replace(REQUEST, id="r2", channel="other-call", position=9, dialed_number="5001")
    other_queue = replace(REQUEST, id="r3", channel="c3", queue="sales")
    await store.add(REQUEST)
    assert await store.add(repeat) == REQUEST  # the original place is kept
    assert await store.add(other_queue) == other_queue
    assert sorted(r.id for r in await store.requests()) == ["r1", "r3"]
    events = await store.events("r1")
    assert [(e.event, e.state, e.at) for e in events] == [
        ("requested", "pending", NOW),
        ("repeated", "pending", NOW),
    ]
    assert events[1].detail == {"channel": "other-call", "dialed_number": "5001"}
    # Once done, the same number may ask again.
    done = replace(REQUEST, state=State.DONE)
    await store.save(REQUEST, done, "LeftQueue", NOW)
    assert await store.add(repeat) == repeat


async def test_each_asterisk_server_has_its_own_active_callbacks(store: RequestStore) -> None:
    """Two servers may each have a queue of the same name: a caller's request on the second
    is its own, kept with the server that took it."""
    on_b = replace(REQUEST, id="r2", channel="b-1795650000.1", server="b")
    await store.add(REQUEST)
    assert await store.add(on_b) == on_b
    assert await store.get("r2") == on_b
    assert [e.event for e in await store.events("r1")] == ["requested"]  # no "repeated"
    again_on_b = replace(on_b, id="r3", channel="b-1795650000.2")
    assert await store.add(again_on_b) == on_b  # a repeat within its own server


async def test_a_channel_of_another_server_is_refused_not_taken_for_a_repeat(
    store: RequestStore,
) -> None:
    """Two servers without distinct uniqueids (Asterisk's systemname): the second request is
    refused (the caller hears the error prompt) rather than answered with the first's."""
    clash = replace(REQUEST, id="r2", callback_number="+15551230002", server="b")
    await store.add(REQUEST)
    with pytest.raises(StoreUnavailable):
        await store.add(clash)
    assert [r.id for r in await store.requests()] == ["r1"]
    assert [e.event for e in await store.events("r1")] == ["requested"]


async def test_active_requests_are_found_by_caller_or_callback_number(
    store: RequestStore,
) -> None:
    """What the caller's status check looks up: a queue's requests not done yet, asked from
    the number or calling it back, in serving order."""
    mine = nth(1, caller="+15551230001", callback="+15551230001")
    for_me = replace(nth(2, caller="+15551239999", callback="+15551230001"), queue="sales")
    other_number = replace(nth(3, caller="+15551230001", callback="+15551230002"), priority=1)
    someone_else = nth(4, caller="+15551230003", callback="+15551230003")
    withheld = nth(5, caller="", callback="+15551230004")
    for request in (mine, for_me, other_number, someone_else, withheld):
        await store.add(request)
    found = await store.active_for("+15551230001", "support")
    assert [r.id for r in found] == ["r3", "r1"]  # level 1 first
    assert [r.id for r in await store.active_for("+15551230001", "sales")] == ["r2"]
    assert await store.active_for("", "support") == []  # withheld is nobody in particular
    assert await store.active_for("+15551230001", "nosuch") == []
    await store.save(mine, replace(mine, state=State.DONE), "Cancelled", NOW, {"by": "ann"})
    assert [r.id for r in await store.active_for("+15551230001", "support")] == ["r3"]
    assert await store.events("r1") != []  # done requests are kept, just not active


async def test_the_last_agent_is_of_the_newest_answered_callback_to_the_number(
    store: RequestStore,
) -> None:
    """Agent affinity's `last`: done, an agent answered, calling back that number (any queue);
    the newest answer wins."""

    def handled(n: int, agent: str, minutes: int | None, callback: str) -> CallbackRequest:
        request = nth(n, caller="+15551239999", callback=callback)
        answered = NOW - timedelta(minutes=minutes) if minutes is not None else None
        return replace(request, state=State.DONE, agent=agent, agent_answered_at=answered)

    for done in (
        handled(1, "PJSIP/agent1", 30, "+15551230001"),
        replace(handled(2, "PJSIP/agent2", 10, "+15551230001"), queue="sales"),
        handled(3, "PJSIP/agent3", None, "+15551230001"),  # offered, never answered
        handled(4, "PJSIP/agent4", 1, "+15551230002"),  # another number
    ):
        await store.add(done)
    waiting = replace(nth(5, caller="+15551230001", callback="+15551230001"), agent="PJSIP/x")
    await store.add(waiting)
    assert await store.last_agent("+15551230001") == "PJSIP/agent2"
    assert await store.last_agent("+15551230002") == "PJSIP/agent4"
    assert await store.last_agent("+15551230009") is None


async def test_a_save_that_would_make_a_second_active_request_is_refused(
    store: RequestStore,
) -> None:
    other = replace(REQUEST, id="r2", channel="c2", queue="sales")
    await store.add(REQUEST)
    await store.add(other)
    with pytest.raises(StoreUnavailable):
        await store.save(other, replace(other, queue="support"), "Moved", NOW)
    assert await store.get("r2") == other
    assert [e.event for e in await store.events("r2")] == ["requested"]


async def test_requests_are_listed_in_serving_order(store: RequestStore) -> None:
    late_urgent = replace(REQUEST, id="a", channel="c1", priority=1, callback_number="+1555")
    early = replace(
        REQUEST,
        id="b",
        channel="c2",
        callback_number="+1556",
        queue_entered_at=NOW - timedelta(hours=1),
    )
    asked_later = replace(
        REQUEST, id="c", channel="c3", callback_number="+1557", requested_at=NOW + timedelta(1)
    )
    for request in (asked_later, REQUEST, late_urgent, early):
        await store.add(request)
    assert [r.id for r in await store.requests(State.PENDING)] == ["a", "b", "r1", "c"]


async def test_requests_are_chosen_by_state(store: RequestStore) -> None:
    waiting = replace(
        REQUEST, id="w", channel="c1", callback_number="+1555", requested_at=NOW + timedelta(1)
    )
    offered = replace(REQUEST, id="o", channel="c2", callback_number="+1556", priority=1)
    for request in (REQUEST, waiting, offered):
        await store.add(request)
    await store.save(waiting, replace(waiting, state=State.WAITING), "Joined", NOW)
    await store.save(offered, replace(offered, state=State.OFFERED), "Offered", NOW)
    assert [r.id for r in await store.requests(State.WAITING, State.OFFERED)] == ["o", "w"]
    assert [r.id for r in await store.requests(State.DONE)] == []
    assert [r.id for r in await store.requests()] == ["o", "r1", "w"]


async def test_save_writes_the_request_and_its_event(store: RequestStore) -> None:
    await store.add(REQUEST)
    after = replace(REQUEST, state=State.WAITING, attempt=1)
    later = NOW + timedelta(seconds=5)
    await store.save(REQUEST, after, "Placed", later, {"ahead": 3})
    assert await store.get("r1") == after
    logged = (await store.events("r1"))[-1]
    assert (logged.event, logged.state, logged.at, logged.detail) == (
        "Placed",
        "waiting",
        later,
        {"ahead": 3},
    )


@pytest.mark.parametrize(
    "changed", [{"state": State.WAITING}, {"attempt": 1}], ids=["state", "attempt"]
)
async def test_a_save_from_a_stale_read_changes_nothing(
    store: RequestStore, changed: dict[str, object]
) -> None:
    await store.add(REQUEST)
    meanwhile = replace(REQUEST, **changed)  # type: ignore[arg-type]
    await store.save(REQUEST, meanwhile, "Meanwhile", NOW)
    with pytest.raises(StaleUpdate):
        await store.save(REQUEST, replace(REQUEST, state=State.DONE), "Late", NOW)
    assert await store.get("r1") == meanwhile
    assert [e.event for e in await store.events("r1")] == ["requested", "Meanwhile"]


async def test_a_save_of_an_unknown_request_is_stale(store: RequestStore) -> None:
    with pytest.raises(StaleUpdate):
        await store.save(REQUEST, replace(REQUEST, state=State.DONE), "Late", NOW)
    assert await store.requests() == []


async def test_a_note_logs_without_changing_the_request(store: RequestStore) -> None:
    await store.add(REQUEST)
    detail = {"ahead": 2, "window": [1, 2]}
    await store.note(REQUEST, "placement", NOW, detail)
    detail["ahead"] = 99  # the store kept what it was given, not the caller's dict
    assert await store.get("r1") == REQUEST
    logged = (await store.events("r1"))[-1]
    assert (logged.event, logged.state, logged.detail) == (
        "placement",
        "pending",
        {"ahead": 2, "window": [1, 2]},
    )


async def test_concurrent_writers_do_not_collide(store: RequestStore) -> None:
    requests = [
        replace(REQUEST, id=f"r{n}", channel=f"c{n}", callback_number=f"+1555123{n:04d}")
        for n in range(40)
    ]
    await asyncio.gather(*(store.add(r) for r in requests))
    stored = await store.requests()
    await asyncio.gather(
        *(store.save(r, replace(r, state=State.WAITING), "Joined", NOW) for r in stored)
    )
    assert len(await store.requests(State.WAITING)) == 40


# Rate limits: new requests per window from one caller number and to one callback number.


async def test_one_caller_cannot_ask_for_callbacks_to_many_numbers(store: RequestStore) -> None:
    limits = RateLimits(per_caller=3, per_destination=0)
    for n in range(3):
        await store.add(nth(n, caller="+15551230001", callback=f"+1555124000{n}"), limits)
    with pytest.raises(RateLimited, match="from this caller"):
        await store.add(nth(3, caller="+15551230001", callback="+15551240003"), limits)
    assert len(await store.requests()) == 3
    # Another caller is not affected, and an hour later the first may ask again.
    await store.add(nth(4, caller="+15551230002", callback="+15551240004"), limits)
    later = nth(5, caller="+15551230001", callback="+15551240005", minutes=61)
    assert await store.add(later, limits) == later


async def test_the_window_counts_requests_strictly_within_it(store: RequestStore) -> None:
    limits = RateLimits(per_caller=1, per_destination=0)
    await store.add(nth(0, caller="+15551230001", callback="+15551240000"), limits)
    with pytest.raises(RateLimited):
        await store.add(nth(1, caller="+15551230001", callback="+15551240001", minutes=59), limits)
    exactly_an_hour = nth(2, caller="+15551230001", callback="+15551240002", minutes=60)
    assert await store.add(exactly_an_hour, limits) == exactly_an_hour


async def test_finished_requests_still_count(store: RequestStore) -> None:
    limits = RateLimits(per_caller=0, per_destination=1)
    first = await store.add(nth(0, caller="+15551230001", callback="+15551249999"), limits)
    await store.save(first, replace(first, state=State.DONE), "LeftQueue", NOW)
    with pytest.raises(RateLimited, match="to this number"):
        await store.add(nth(1, caller="+15551230002", callback="+15551249999"), limits)


async def test_many_callers_cannot_pump_calls_to_one_number(store: RequestStore) -> None:
    limits = RateLimits(per_caller=0, per_destination=2)
    target = "+15551249999"
    await store.add(nth(0, caller="+15551230001", callback=target, queue="support"), limits)
    await store.add(nth(1, caller="+15551230002", callback=target, queue="sales"), limits)
    with pytest.raises(RateLimited, match="to this number"):
        await store.add(nth(2, caller="+15551230003", callback=target, queue="billing"), limits)
    assert {r.id for r in await store.requests()} == {"r0", "r1"}


async def test_a_repeat_of_an_active_request_is_answered_even_at_the_limit(
    store: RequestStore,
) -> None:
    limits = RateLimits(per_caller=1, per_destination=1)
    first = await store.add(nth(0, caller="+15551230001", callback="+15551230001"), limits)
    again = nth(1, caller="+15551230001", callback="+15551230001", minutes=1)
    assert await store.add(again, limits) == first
    assert await store.add(replace(first, id="retried"), limits) == first  # same channel
    assert [e.event for e in await store.events(first.id)] == ["requested", "repeated"]
    assert [r.state for r in await store.requests()] == [State.PENDING]


async def test_withheld_callers_are_not_counted_as_one_caller(store: RequestStore) -> None:
    limits = RateLimits(per_caller=1, per_destination=0)
    for n in range(3):
        await store.add(nth(n, caller="", callback=f"+1555124000{n}"), limits)
    assert len(await store.requests()) == 3


async def test_callers_arriving_together_cannot_all_slip_under_the_limit(
    store: RequestStore,
) -> None:
    limits = RateLimits(per_caller=0, per_destination=3)
    together = [
        nth(n, caller=f"+1555123000{n}", callback="+15551249999", queue=f"q{n}") for n in range(10)
    ]
    results = await asyncio.gather(
        *(store.add(r, limits) for r in together), return_exceptions=True
    )
    assert sum(isinstance(r, RateLimited) for r in results) == 7
    assert len(await store.requests()) == 3


# Idempotency keys (the request API): one answer per credential and key, kept with the request.


def keyed(credential: str = "crm", key: str = "k1", body: str = "a" * 64) -> IdempotencyKey:
    return IdempotencyKey(credential, key, body)


async def test_a_keyed_request_is_stored_with_its_answer(store: RequestStore) -> None:
    assert await store.kept_answer("crm", "k1") is None
    stored, kept = await store.add_once(REQUEST, None, keyed())
    assert stored == REQUEST
    assert kept == KeptAnswer("a" * 64, REQUEST.id, 201, REQUEST.requested_at)
    assert await store.kept_answer("crm", "k1") == kept
    assert await store.kept_answer("other", "k1") is None  # keys are per credential


async def test_a_kept_key_adds_nothing_whatever_its_body(store: RequestStore) -> None:
    first, kept = await store.add_once(REQUEST, None, keyed())
    other = nth(2, caller="+15551230002", callback="+15551230002", minutes=1)
    again, kept_again = await store.add_once(other, None, keyed(body="b" * 64))
    assert (again, kept_again) == (first, kept)  # the caller compares the body's hash
    assert [r.id for r in await store.requests()] == [REQUEST.id]
    assert [e.event for e in await store.events(REQUEST.id)] == ["requested"]


async def test_a_keyed_repeat_of_an_active_request_is_answered_200(store: RequestStore) -> None:
    await store.add(REQUEST)
    repeat = nth(2, caller=REQUEST.caller_number, callback=REQUEST.callback_number, minutes=1)
    stored, kept = await store.add_once(repeat, None, keyed())
    assert (stored.id, kept.status, kept.request_id) == (REQUEST.id, 200, REQUEST.id)
    assert len(await store.requests()) == 1


async def test_concurrent_requests_with_one_key_store_one_request(store: RequestStore) -> None:
    together = [
        nth(n, caller=f"+1555123000{n}", callback=f"+1555124000{n}", queue=f"q{n}")
        for n in range(10)
    ]
    results = await asyncio.gather(*(store.add_once(r, None, keyed()) for r in together))
    assert len({stored.id for stored, _ in results}) == 1
    assert len({kept for _, kept in results}) == 1
    assert len(await store.requests()) == 1


async def test_a_refused_request_keeps_no_key(store: RequestStore) -> None:
    limits = RateLimits(per_caller=0, per_destination=1)
    await store.add(nth(0, caller="+15551230001", callback="+15551249999", queue="sales"))
    refused = nth(1, caller="+15551230002", callback="+15551249999")
    with pytest.raises(RateLimited):
        await store.add_once(refused, limits, keyed())
    assert await store.kept_answer("crm", "k1") is None
    assert len(await store.requests()) == 1


async def test_keys_expire_and_each_keyed_add_purges_the_expired(store: RequestStore) -> None:
    _, kept = await store.add_once(REQUEST, None, keyed())
    later = nth(2, caller="+15551230002", callback="+15551230002", minutes=1)
    await store.add_once(later, None, keyed(key="k2"))
    since = REQUEST.requested_at + timedelta(seconds=1)  # k1 is older: expired, k2 is not
    assert await store.kept_answer("crm", "k1", since) is None
    assert await store.kept_answer("crm", "k1") == kept  # not purged yet
    assert (await store.kept_answer("crm", "k2", since)) is not None
    third = nth(3, caller="+15551230003", callback="+15551230003", minutes=2)
    stored, answer = await store.add_once(third, None, keyed(key="k3"), since)
    assert (stored, answer.status) == (third, 201)
    assert await store.kept_answer("crm", "k1") is None  # purged
    assert await store.kept_answer("crm", "k2") is not None
    # An expired key is free again, whatever body it had.
    fourth = nth(4, caller="+15551230004", callback="+15551230004", minutes=3)
    after_k2 = NOW + timedelta(minutes=2)
    stored, answer = await store.add_once(fourth, None, keyed(key="k2", body="b" * 64), after_k2)
    assert (stored.id, answer.request_id, answer.body_sha256) == ("r4", "r4", "b" * 64)


async def test_a_repeat_is_noted_once_within_the_window(store: RequestStore) -> None:
    await store.add(REQUEST)
    for n in range(2, 6):  # four repeats within the window
        repeat = replace(nth(n, caller="+15551239999", callback=REQUEST.callback_number),
                         requested_at=NOW + timedelta(seconds=n))  # fmt: skip
        assert await store.add(repeat) == REQUEST
    assert [e.event for e in await store.events("r1")] == ["requested", "repeated"]
    late = nth(9, caller="+15551239999", callback=REQUEST.callback_number, minutes=1)
    late = replace(late, requested_at=NOW + REPEAT_NOTED_EVERY + timedelta(seconds=3))
    await store.add(late)  # the last noted is older than the window now
    events = await store.events("r1")
    assert [e.event for e in events] == ["requested", "repeated", "repeated"]
    assert events[2].detail["channel"] == late.channel


async def test_a_requests_log_is_read_a_page_at_a_time(store: RequestStore) -> None:
    await store.add(REQUEST)
    other = nth(2, caller="+15551230002", callback="+15551230002")
    await store.add(other)
    for n in range(5):
        await store.note(REQUEST, "Checked", NOW, {"n": n})
        await store.note(other, "Checked", NOW, {"n": n})
    page = await store.request_events("r1", 0, 4)
    assert [(e.event.request_id, e.event.event) for e in page] == [
        ("r1", "requested"),
        *[("r1", "Checked")] * 3,
    ]
    rest = await store.request_events("r1", page[-1].seq, 100)
    assert [e.event.detail for e in rest] == [{"n": 3}, {"n": 4}]
    assert [e.event for e in page + rest] == await store.events("r1")
    assert await store.request_events("r1", rest[-1].seq, 100) == []
    assert await store.request_events("nobody", 0, 100) == []


# The webhooks' outbox (store_port.WebhookOutbox): the event log read in seq order, each
# subscription's cursor, its attempts.


@pytest.fixture
def outbox(each_store: ServiceStore) -> OutboxStore:
    return each_store


async def test_the_log_is_read_in_order_after_a_place(outbox: OutboxStore) -> None:
    assert (await outbox.last_event_seq(), await outbox.events_after(0, 10)) == (0, [])
    await outbox.add(REQUEST)
    await outbox.save(REQUEST, replace(REQUEST, state=State.WAITING), "Joined", NOW, {"a": 1})
    await outbox.add(nth(2, caller="+15551230002", callback="+15551230002"))
    log = await outbox.events_after(0, 10)
    assert [(e.event.request_id, e.event.event, e.event.state, e.event.detail) for e in log] == [
        ("r1", "requested", "pending", {}),
        ("r1", "Joined", "waiting", {"a": 1}),
        ("r2", "requested", "pending", {}),
    ]
    seqs = [e.seq for e in log]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert await outbox.last_event_seq() == seqs[-1]
    assert await outbox.events_after(seqs[0], 1) == log[1:2]
    assert await outbox.events_after(seqs[-1], 10) == []
    assert await outbox.count_events_after(seqs[0]) == 2
    assert await outbox.count_events_after(0, frozenset({"requested"})) == 2
    assert await outbox.count_events_after(seqs[0], frozenset({"Joined", "CallEnded"})) == 1


async def test_a_subscription_starts_once_and_keeps_its_cursor(outbox: OutboxStore) -> None:
    assert await outbox.webhook_cursor("crm") is None
    assert await outbox.start_webhook("crm", 5) == 5
    assert await outbox.start_webhook("crm", 9) == 5  # a restart goes on where it was
    await outbox.advance_webhook("crm", 7)
    await outbox.advance_webhook("crm", 6)  # never backwards
    assert await outbox.webhook_cursor("crm") == 7
    assert await outbox.webhook_cursor("other") is None


async def test_only_a_delivery_or_a_give_up_moves_the_cursor(outbox: OutboxStore) -> None:
    await outbox.start_webhook("crm", 0)
    at = NOW + timedelta(seconds=1)
    failed = WebhookAttempt("crm", 1, NOW, "failed", None, "ConnectError: refused")
    await outbox.record_webhook_attempt(failed)
    assert await outbox.webhook_cursor("crm") == 0
    delivered = WebhookAttempt("crm", 1, at, "delivered", 204)
    await outbox.record_webhook_attempt(delivered)
    assert await outbox.webhook_cursor("crm") == 1
    gave_up = WebhookAttempt("crm", 2, at, "gave_up", 503, "HTTP 503")
    await outbox.record_webhook_attempt(gave_up)
    assert await outbox.webhook_cursor("crm") == 2
    await outbox.record_webhook_attempt(WebhookAttempt("other", 9, at, "delivered", 200))
    assert await outbox.webhook_cursor("crm") == 2
    assert await outbox.webhook_attempts("crm", 10) == [gave_up, delivered, failed]
    assert await outbox.webhook_attempts("crm", 1) == [gave_up]


async def test_only_the_latest_attempts_are_kept(outbox: OutboxStore) -> None:
    """A receiver down for long: the table keeps a subscription's latest ``keep`` attempts
    (and a tenth more at most), never another subscription's."""
    other = WebhookAttempt("other", 1, NOW, "failed", 503, "HTTP 503")
    await outbox.record_webhook_attempt(other, keep=20)
    tries = [WebhookAttempt("crm", 1, NOW + timedelta(seconds=n), "failed", 503) for n in range(60)]
    for attempt in tries:
        await outbox.record_webhook_attempt(attempt, keep=20)
    kept = await outbox.webhook_attempts("crm", 100)
    assert 20 <= len(kept) <= 22 and kept[:20] == tries[::-1][:20]
    assert await outbox.webhook_attempts("other", 100) == [other]


async def test_offer_checks_are_kept_in_order_and_read_since_a_time(store: RequestStore) -> None:
    checks = [
        OfferCheck("1795650000.1", "support", NOW, Reason.WORTH, 600),
        OfferCheck("1795650000.2", "support", NOW + timedelta(minutes=1), Reason.AT_CAP, None),
    ]
    for check in checks:
        await store.record_offer_check(check)
    assert await store.offer_checks() == checks
    assert await store.offer_checks(NOW + timedelta(seconds=30)) == checks[1:]


async def test_do_not_call_entries_are_added_once_listed_and_removed(
    store: RequestStore,
) -> None:
    first = DoNotCallEntry("+441632960001", NOW, "api:crm")
    prefix = DoNotCallEntry("+3361*", NOW + timedelta(seconds=5), "cli:admin")
    assert await store.do_not_call() == []
    assert await store.add_do_not_call(first)
    assert await store.add_do_not_call(prefix)
    # Added again: kept as it was (its first time and author).
    assert not await store.add_do_not_call(replace(first, added_by="api:other"))
    assert await store.do_not_call() == [prefix, first]  # by entry
    assert await store.remove_do_not_call(first.entry)
    assert not await store.remove_do_not_call(first.entry)
    assert await store.do_not_call() == [prefix]
