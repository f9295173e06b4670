"""The supervisor's line: live callers and callbacks in the order agents will meet them."""

from dataclasses import replace
from datetime import timedelta

import pytest

from agi_app.domain.channel_ids import Leg, channel_id
from agi_app.domain.options import Mode
from agi_app.domain.priority import queue_prio
from agi_app.domain.request import CallbackRequest, State
from agi_app.domain.serving_order import Entry, Part, serving_order
from tests.support.samples import PENDING, T0

NOW = T0 + timedelta(minutes=10)


def request(n: int, minute: int, **changes: object) -> CallbackRequest:
    rid = f"{n:08d}-0000-4000-8000-000000000000"
    return replace(
        PENDING,
        id=rid,
        channel=f"ch{n}",
        callback_number=f"+1555123000{n}",
        queue_entered_at=T0 + timedelta(minutes=minute),
        **changes,  # type: ignore[arg-type]
    )


def placeholder(r: CallbackRequest, position: int) -> Entry:
    wait = int((NOW - T0).total_seconds())
    return Entry(
        position, channel_id(r.id, r.attempt, Leg.PLACEHOLDER), queue_prio(r.priority), wait
    )


def live(position: int, uniqueid: str, minute: int, level: int = 5) -> Entry:
    wait = int((NOW - T0 - timedelta(minutes=minute)).total_seconds())
    return Entry(position, uniqueid, queue_prio(level), wait, number=f"+1{uniqueid}")


def test_live_callers_and_placeholders_keep_asterisks_order_with_exact_entry_times() -> None:
    placed = request(1, 2, state=State.WAITING, attempt=1)
    rows = serving_order(
        [live(2, "1.20", 3), placeholder(placed, 1), live(3, "1.30", 4)],
        [placed],
        held=set(),
        joined_at=lambda u: T0 + timedelta(minutes=3, seconds=0.5) if u == "1.20" else None,
        now=NOW,
    )
    assert [(r.kind, r.id[:8], r.position, r.state) for r in rows] == [
        ("callback", "00000001", 1, "waiting"),
        ("live", "1.20", 2, "waiting"),
        ("live", "1.30", 3, "waiting"),
    ]
    assert rows[1].entered_at == T0 + timedelta(minutes=3, seconds=0.5)  # AMI's join time
    assert rows[2].waited_s(NOW) == 6 * 60  # from Asterisk's whole seconds
    assert rows[0].waited_s(NOW) == 8 * 60  # since the original entry, not the placement


def test_held_and_unplaced_callbacks_at_their_true_place() -> None:
    early_held = request(1, 1)  # ahead of the live caller who entered at minute 3
    late_held = request(2, 5)
    urgent = request(3, 8, priority=1)  # level 1 outranks every level 5 call
    rows = serving_order(
        [live(1, "1.20", 3), live(2, "1.30", 6)],
        [late_held, urgent, early_held],
        held={early_held.id, late_held.id},
        joined_at=lambda _u: None,
        now=NOW,
    )
    assert [(r.id[:8], r.position, r.state) for r in rows] == [
        ("00000003", 1, "placing"),
        ("00000001", 2, "held"),
        ("1.20", 3, "waiting"),
        ("00000002", 4, "held"),
        ("1.30", 5, "waiting"),
    ]


def test_ringing_in_service_and_later_callbacks() -> None:
    ringing = request(1, 1, state=State.OFFERED, agent="PJSIP/agent1", attempt=1)
    talking = request(2, 0, state=State.CONNECTED, agent="PJSIP/agent2", attempt=1)
    dialing = request(3, 0, state=State.DIALING, agent="PJSIP/agent3", attempt=1)
    retry = request(4, 0, customer_attempts=1, not_before=NOW + timedelta(minutes=5))
    scheduled = request(5, 0, not_before=NOW + timedelta(hours=2), scheduled_for=NOW)
    ended = request(6, 0, state=State.DONE)
    rows = serving_order(
        [placeholder(ringing, 1), placeholder(ended, 2)],  # a placeholder on its way out
        [scheduled, retry, talking, dialing, ringing, ended],
        held=set(),
        joined_at=lambda _u: None,
        now=NOW,
    )
    assert [(r.id[:8], r.part, r.position, r.state, r.agent) for r in rows] == [
        ("00000001", Part.IN_LINE, 1, "ringing", "PJSIP/agent1"),
        ("00000002", Part.IN_SERVICE, None, "talking", "PJSIP/agent2"),
        ("00000003", Part.IN_SERVICE, None, "dialing", "PJSIP/agent3"),
        ("00000004", Part.LATER, None, "retry", None),
        ("00000005", Part.LATER, None, "scheduled", None),
    ]
    assert rows[3].not_before == NOW + timedelta(minutes=5)


def test_a_caller_asking_for_a_callback_is_listed_once() -> None:
    asked = request(1, 1)  # stored; its caller's channel is still in the queue for a moment
    rows = serving_order(
        [live(1, asked.channel, 1)], [asked], held=set(), joined_at=lambda _u: None, now=NOW
    )
    assert [(r.kind, r.position) for r in rows] == [("callback", 1)]


def test_an_empty_queue() -> None:
    assert serving_order([], [], held=set(), joined_at=lambda _u: None, now=NOW) == []


def test_an_agent_on_an_answering_machine_is_shown_so() -> None:
    """amd=yes and AMD() heard a machine: the supervisor sees it is not a conversation."""
    machine = replace(
        request(1, 0, state=State.CONNECTED, agent="PJSIP/agent1", attempt=1),
        amd=True,
        amd_status="MACHINE",
    )
    (row,) = serving_order([], [machine], held=set(), joined_at=lambda _u: None, now=NOW)
    assert (row.part, row.state) == (Part.IN_SERVICE, "machine")


@pytest.mark.parametrize(
    ("mode", "status", "key", "verdict"),
    [
        (Mode.AGENT_FIRST, "", "", ""),
        (Mode.AGENT_FIRST, "MACHINE", "", "answering machine"),
        (Mode.AGENT_FIRST, "HUMAN", "", "a person"),
        (Mode.CUSTOMER_FIRST, "HUMAN", "1", "a person, pressed 1"),
        (Mode.CUSTOMER_FIRST, "NOTSURE", "", "not sure, maybe a person, no key pressed"),
        (Mode.CUSTOMER_FIRST, "MACHINE", "", "answering machine"),
        (Mode.CUSTOMER_FIRST, "HANGUP", "", "hung up during detection"),
    ],
)
def test_a_callbacks_mode_and_last_verdict_are_on_its_row(
    mode: Mode, status: str, key: str, verdict: str
) -> None:
    """The supervisor sees who is called first and what the last call found."""
    judged = replace(request(1, 0), mode=mode, amd_status=status, customer_key=key)
    (row,) = serving_order([], [judged], held=set(), joined_at=lambda _u: None, now=NOW)
    assert (row.mode, row.verdict) == (mode.value, verdict)
