"""Personal data (agi_app/domain/privacy.py, agi_app/serving/privacy.py): what a purge or an
erasure leaves of a request, the pseudonyms, the numbers ``forget`` looks for, and the purge
over a store: the reports give the same figures after it."""

import stat
from dataclasses import fields, replace
from datetime import timedelta
from pathlib import Path

import pytest

from agi_app.domain.errors import InvalidNumber
from agi_app.domain.numbers import NumberRules
from agi_app.domain.privacy import (
    PERSONAL_FIELDS,
    forget_numbers,
    keyed_pseudonym,
    random_pseudonym,
    scrub_detail,
    scrubbed,
)
from agi_app.domain.report import report
from agi_app.domain.request import CallbackRequest, CallOutcome, State
from agi_app.serving.privacy import pseudonym_key, purge
from agi_app.store.memory import MemoryStore
from tests.support.samples import PENDING, T0

KEY = b"k" * 32
FULL = replace(
    PENDING,
    caller_name="Ann Smith",
    caller_number="+15551230001",
    callback_number="+15551230009",
    extension="123#",
    dialed_number="+15550005000",
    consent="phone: the caller pressed the callback key in queue support, having called"
    " +15550005000",
    message=f"{PENDING.id}.wav",
)


def test_every_personal_field_is_a_field_of_a_request() -> None:
    assert set(PERSONAL_FIELDS) <= {f.name for f in fields(CallbackRequest)}


def test_a_scrubbed_request_keeps_what_reports_need_and_nothing_personal() -> None:
    clean, files = scrubbed(FULL, keyed_pseudonym(KEY))
    assert files == [f"{PENDING.id}.wav"] and clean.message == ""  # the recording deleted
    assert clean.caller_number.startswith("anon:") and clean.callback_number.startswith("anon:")
    assert clean.caller_number != clean.callback_number  # two numbers, two pseudonyms
    assert (clean.caller_name, clean.extension, clean.dialed_number) == ("", None, "")
    assert clean.consent == (
        "phone: the caller pressed the callback key in queue support, having called [removed]"
    )
    kept = {f.name for f in fields(CallbackRequest)} - set(PERSONAL_FIELDS)
    assert {n: getattr(clean, n) for n in kept} == {n: getattr(FULL, n) for n in kept}


def test_a_keyed_pseudonym_is_stable_and_needs_its_key() -> None:
    one, same, other_key = keyed_pseudonym(KEY), keyed_pseudonym(KEY), keyed_pseudonym(b"x" * 32)
    assert one("+15551230001") == same("+15551230001") != one("+15551230002")
    assert one("+15551230001") != other_key("+15551230001")
    assert one(one("+15551230001")) == one("+15551230001")  # a pseudonym stays as it is
    assert one("") == ""  # a withheld caller stays nobody


def test_an_erasure_pseudonym_links_to_nothing() -> None:
    first, second = random_pseudonym(), random_pseudonym()
    assert first("+15551230001") == first("+15551230001") != second("+15551230001")
    assert "5551230001" not in first("+15551230001")


def test_personal_details_are_removed_at_any_depth() -> None:
    detail = {
        "channel": "1795650000.2",
        "dialed_number": "5000",
        "nested": [{"callback_number": "+15551230001", "agent": "PJSIP/agent1"}],
    }
    assert scrub_detail(detail, keyed_pseudonym(KEY)) == {
        "channel": "1795650000.2",
        "dialed_number": "",
        "nested": [
            {"callback_number": keyed_pseudonym(KEY)("+15551230001"), "agent": "PJSIP/agent1"}
        ],
    }


def test_forget_looks_for_the_number_as_given_and_in_e164() -> None:
    rules = NumberRules(region="US")
    assert "+15551230001" in forget_numbers("(555) 123-0001", rules)
    assert forget_numbers("+1 555 123 0001", rules) == frozenset({"+15551230001"})
    for hostile in ("", "abc", "5551230001,Hangup", "5551230001\r\nAction: Originate"):
        with pytest.raises(InvalidNumber):
            forget_numbers(hostile, rules)


def test_the_key_is_made_once_private_and_then_read(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "pseudonym.key"
    key = pseudonym_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pseudonym_key(path) == key


def _done(n: int, number: str, days_ago: float, outcome: CallOutcome) -> CallbackRequest:
    at = T0 - timedelta(days=days_ago)
    return replace(
        FULL,
        id=f"r{n}",
        channel=f"c{n}",
        caller_number=number,
        callback_number=number,
        queue_entered_at=at - timedelta(seconds=30),
        requested_at=at,
        expires_at=at + timedelta(minutes=30),
        agent_answered_at=at + timedelta(seconds=40) if outcome is CallOutcome.ANSWERED else None,
    )


async def test_a_purge_keeps_the_reports_and_the_recent_data(tmp_path: Path) -> None:
    store = MemoryStore()
    olds = [
        _done(1, "+15551230001", 100, CallOutcome.ANSWERED),
        _done(2, "+15551230001", 99, CallOutcome.EXPIRED),
        _done(3, "+15551230002", 98, CallOutcome.ANSWERED),
    ]
    recent = _done(4, "+15551230003", 1, CallOutcome.ANSWERED)
    waiting = replace(_done(5, "+15551230004", 200, CallOutcome.EXPIRED), state=State.WAITING)
    for request in [*olds, recent]:
        await store.add(request)
        ended = replace(request, state=State.DONE, call_outcome=CallOutcome.ANSWERED)
        await store.save(request, ended, "CallEnded", request.requested_at + timedelta(minutes=5))
    await store.add(waiting)
    before = report(await store.requests(), now=T0)

    assert await purge(store, KEY, T0 - timedelta(days=90), tmp_path) == 3
    assert await purge(store, KEY, T0 - timedelta(days=90), tmp_path) == 0  # nothing left

    assert report(await store.requests(), now=T0) == before
    first, second, third = [await store.get(r.id) for r in olds]
    assert first and second and third
    assert first.callback_number == second.callback_number != third.callback_number
    assert (first.caller_name, first.extension) == ("", None)
    assert await store.get(recent.id) == replace(
        recent, state=State.DONE, call_outcome=CallOutcome.ANSWERED
    )
    assert await store.get(waiting.id) == waiting  # never a request still waiting
