"""The supervisor's agents: states, what each handles, and how long it has been so."""

from dataclasses import replace
from datetime import timedelta

from agi_app.domain.agent_board import AgentState, Member, StateClock, agent_board
from agi_app.domain.request import State
from tests.support.samples import PENDING, T0


def member(interface: str, status: str = "1", paused: bool = False, **kw: object) -> Member:
    return Member("support", interface, interface, status, paused, **kw)  # type: ignore[arg-type]


def test_each_state_and_what_it_handles() -> None:
    ringing_cb = replace(PENDING, id="a", state=State.OFFERED, agent="PJSIP/agent1")
    talking_cb = replace(PENDING, id="b", state=State.CONNECTED, agent="PJSIP/agent2")
    board = agent_board(
        [
            member("PJSIP/agent1", "6"),
            member("PJSIP/agent2", "2"),
            member("PJSIP/agent3", "2", paused=True),  # paused while on a live call
            member("PJSIP/agent4", "1", paused=True, paused_reason="lunch"),
            member("PJSIP/agent5", "5"),
            member("PJSIP/agent6", "1"),
            member("PJSIP/agent7", "6"),
        ],
        [ringing_cb, talking_cb],
        {"PJSIP/agent3": "+15551239999", "PJSIP/agent7": "+15551238888"},
        StateClock(),
        T0,
    )
    assert [(r.interface[6:], r.state, r.paused, r.callback_id, r.handling) for r in board] == [
        ("agent1", AgentState.RINGING, False, "a", PENDING.callback_number),
        ("agent2", AgentState.ON_CALLBACK, False, "b", PENDING.callback_number),
        ("agent3", AgentState.ON_CALL, True, None, "+15551239999"),
        ("agent4", AgentState.PAUSED, True, None, ""),
        ("agent5", AgentState.UNREACHABLE, False, None, ""),
        ("agent6", AgentState.FREE, False, None, ""),
        ("agent7", AgentState.RINGING, False, None, "+15551238888"),
    ]
    assert board[3].paused_reason == "lunch"


def test_time_in_state_restarts_at_each_change() -> None:
    clock = StateClock()
    paused_at = int((T0 - timedelta(minutes=7)).timestamp())
    first = member("PJSIP/agent1", paused=True, last_pause=paused_at)
    (row,) = agent_board([first], [], {}, clock, T0)
    assert row.since == T0 - timedelta(minutes=7)  # Asterisk's LastPause at first sight
    later = T0 + timedelta(minutes=1)
    (row,) = agent_board([first], [], {}, clock, later)
    assert row.since == T0 - timedelta(minutes=7)  # unchanged: the same clock
    (row,) = agent_board([member("PJSIP/agent1")], [], {}, clock, later)
    assert (row.state, row.since) == (AgentState.FREE, later)  # unpaused: a new clock
    (row,) = agent_board([member("PJSIP/agent1", "2")], [], {}, clock, later)
    assert (row.state, row.since) == (AgentState.ON_CALL, later)


def test_a_member_that_left_is_forgotten() -> None:
    clock = StateClock()
    agent_board([member("PJSIP/agent1", "2")], [], {}, clock, T0)
    agent_board([], [], {}, clock, T0)
    (row,) = agent_board([member("PJSIP/agent1", "2")], [], {}, clock, T0 + timedelta(hours=1))
    assert row.since == T0 + timedelta(hours=1)
