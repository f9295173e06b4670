"""The store's side of personal data removed (agi_app.store.port.PersonalData), run against
each store: SQLite on a real file, PostgreSQL, and the in-memory one (as
test_store_contract.py)."""

from dataclasses import replace
from datetime import timedelta

import pytest

from agi_app.domain.privacy import keyed_pseudonym, scrub_detail, scrubbed
from agi_app.domain.request import CallOutcome, State
from agi_app.serving.privacy import PrivacyStore
from agi_app.store.open import ServiceStore
from agi_app.store.port import IdempotencyKey, StaleUpdate
from tests.support.store_samples import NOW, REQUEST, nth

PSEUDONYM = keyed_pseudonym(b"k" * 32)


@pytest.fixture
def store(each_store: ServiceStore) -> PrivacyStore:
    return each_store


async def _done(store: PrivacyStore, n: int, minutes: int, *, number: str) -> None:
    """Request n, asked at NOW + minutes and done (cancelled) a minute later."""
    request = nth(n, caller=number, callback=number, minutes=minutes)
    await store.add(request)
    done = replace(request, state=State.DONE, call_outcome=CallOutcome.CANCELLED)
    await store.save(request, done, "Cancelled", request.requested_at + timedelta(minutes=1))


async def test_done_requests_are_found_by_their_last_change(store: PrivacyStore) -> None:
    await _done(store, 1, 0, number="+15551230001")
    await _done(store, 2, 10, number="+15551230002")
    await store.add(nth(3, caller="+15551230003", callback="+15551230003", minutes=-60))
    assert [r.id for r in await store.done_before(NOW + timedelta(minutes=5), 10)] == ["r1"]
    found = await store.done_before(NOW + timedelta(hours=1), 10)
    assert [r.id for r in found] == ["r1", "r2"]  # oldest change first; r3 is not done
    assert [r.id for r in await store.done_before(NOW + timedelta(hours=1), 1)] == ["r1"]


async def test_a_purged_request_is_not_found_again(store: PrivacyStore) -> None:
    await _done(store, 1, 0, number="+15551230001")
    (request,) = await store.done_before(NOW + timedelta(hours=1), 10)
    await store.rewrite_personal(request, scrubbed(request, PSEUDONYM)[0], {})
    assert await store.done_before(NOW + timedelta(hours=1), 10) == []


async def test_requests_are_found_by_either_number(store: PrivacyStore) -> None:
    await store.add(nth(1, caller="+15551230001", callback="+15551230009"))
    await store.add(nth(2, caller="", callback="+15551230001", queue="sales", minutes=1))
    await _done(store, 3, 2, number="+15551230001")
    await store.add(nth(4, caller="+15551230004", callback="+15551230004", minutes=3))
    found = await store.of_numbers(frozenset({"+15551230001", "0555"}))
    assert [r.id for r in found] == ["r1", "r2", "r3"]  # any state, any queue
    assert await store.of_numbers(frozenset({"+15550000000"})) == []


async def test_a_rewrite_replaces_the_request_its_details_and_keys(store: PrivacyStore) -> None:
    kept = IdempotencyKey("crm", "k1", "a" * 64)
    await store.add_once(REQUEST, None, kept)
    repeat = nth(2, caller=REQUEST.caller_number, callback=REQUEST.callback_number, minutes=1)
    await store.add(repeat)  # a "repeated" event naming the number it dialed
    other = nth(5, caller="+15551230005", callback="+15551230005", minutes=2)
    await store.add(other)
    await store.note(other, "note", NOW, {"dialed_number": "5000"})
    logged = await store.request_events(REQUEST.id, 0, 100)
    assert [e.event.event for e in logged] == ["requested", "repeated"]
    others = await store.request_events(other.id, 0, 100)
    clean, _ = scrubbed(REQUEST, PSEUDONYM)
    details = {e.seq: scrub_detail(e.event.detail, PSEUDONYM) for e in logged}
    details[others[-1].seq] = {"changed": "not mine"}  # another request's row: left alone
    await store.rewrite_personal(REQUEST, clean, details, ("Erased", NOW, {"by": "api:dpo"}))

    assert await store.get(REQUEST.id) == clean
    assert clean.callback_number.startswith("anon:") and clean.caller_name == ""
    after = await store.request_events(REQUEST.id, 0, 100)
    assert [(e.event.event, e.event.detail) for e in after] == [
        ("requested", {}),
        ("repeated", {"channel": repeat.channel, "dialed_number": ""}),
        ("Erased", {"by": "api:dpo"}),
    ]
    assert (await store.request_events(other.id, 0, 100))[-1].event.detail == {
        "dialed_number": "5000"
    }
    assert await store.kept_answer("crm", "k1") is None  # its idempotency key is gone
    assert await store.get(other.id) == other


async def test_a_stale_rewrite_changes_nothing(store: PrivacyStore) -> None:
    await store.add(REQUEST)
    waiting = replace(REQUEST, state=State.WAITING, attempt=1)
    await store.save(REQUEST, waiting, "Joined", NOW)
    logged = await store.request_events(REQUEST.id, 0, 100)
    details = {logged[0].seq: {"x": 1}}
    with pytest.raises(StaleUpdate):
        await store.rewrite_personal(REQUEST, scrubbed(REQUEST, PSEUDONYM)[0], details)
    assert await store.get(REQUEST.id) == waiting
    assert await store.request_events(REQUEST.id, 0, 100) == logged
