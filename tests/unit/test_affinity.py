"""Agent affinity in the domain: the options, the request, the lifecycle of the preferred
agent's ring (serving on the fake PBX: tests/unit/serving/test_serving_affinity.py)."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from agi_app.domain import lifecycle as lc
from agi_app.domain.affinity import last_agent, waits_for_preferred
from agi_app.domain.errors import InvalidOptions
from agi_app.domain.options import parse_options
from agi_app.domain.request import CallbackRequest, CallOutcome, State, build_request
from tests.support.samples import PENDING, T0
from tests.unit.test_request import FACTS, NOW, RULES, build


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_preferred_agent_is_kept_with_its_timeout() -> None:
    request = build(FACTS, "queue=support", "preferred_agent=PJSIP/agent2", "affinity_timeout=20")
    assert (request.preferred_agent, request.affinity_timeout, request.affinity) == (
        "PJSIP/agent2", 20, ""
    )  # fmt: skip
    assert waits_for_preferred(request)
    assert build(FACTS, "queue=support", "preferred_agent=last").preferred_agent == "last"
    plain = build(FACTS, "queue=support")
    assert (plain.preferred_agent, plain.affinity_timeout) == ("", 0)
    assert not waits_for_preferred(plain)


def test_a_preferred_agent_from_the_flows_variable() -> None:
    args = ("queue=support", "preferred_agent_var=CRM_AGENT")
    crm = replace(FACTS, preferred_agent_value=" PJSIP/agent2 ")
    assert build(crm, *args).preferred_agent == "PJSIP/agent2"
    assert build(FACTS, *args).preferred_agent == ""  # the lookup found nobody
    hostile = replace(FACTS, preferred_agent_value="PJSIP/agent1&PJSIP/agent2")
    with pytest.raises(InvalidOptions, match="CRM_AGENT"):
        build(hostile, *args)


@pytest.mark.parametrize(
    "args",
    [
        ("preferred_agent=PJSIP/agent1&PJSIP/agent2",),  # two devices for Dial()
        ("preferred_agent=PJSIP/agent1,t",),
        ("preferred_agent=${EVIL}",),
        ("preferred_agent=agent2",),
        ("preferred_agent=PJSIP/agent2", "preferred_agent_var=CRM_AGENT"),
        ("preferred_agent=PJSIP/agent2", "affinity_timeout=4"),
        ("preferred_agent=PJSIP/agent2", "affinity_timeout=601"),
        ("preferred_agent=PJSIP/agent2", "mode=customer_first"),
    ],
)
def test_refused_options(args: tuple[str, ...]) -> None:
    with pytest.raises(InvalidOptions):
        parse_options(["queue=support", *args])


def waiting(agent: str = "PJSIP/agent2") -> CallbackRequest:
    request = replace(PENDING, preferred_agent=agent, affinity_timeout=30)
    request, _ = lc.transition(request, lc.PlacementDue(at(1)))
    request, _ = lc.transition(request, lc.Joined(1, at(1)))
    return request


def test_at_its_turn_the_preferred_agent_is_rung_on_the_next_attempt() -> None:
    rung, commands = lc.transition(waiting(), lc.PreferredDue(1, "PJSIP/agent2", 30, at(5)))
    assert (rung.state, rung.attempt, rung.agent, rung.affinity) == (
        State.OFFERED, 2, "PJSIP/agent2", "ringing"
    )  # fmt: skip
    assert commands == [
        lc.RingPreferred(rung, "PJSIP/agent2", 30), lc.ScreenPop(rung, "PJSIP/agent2")
    ]  # fmt: skip
    answered, commands = lc.transition(rung, lc.AgentAnswered(2, "PJSIP/agent2", at(9)))
    assert (answered.state, answered.affinity) == (State.DIALING, "over")
    (unplace,) = commands
    assert isinstance(unplace, lc.Unplace) and unplace.request.attempt == 1  # the placeholder


def test_not_answered_it_is_placed_again_for_any_agent() -> None:
    rung, _ = lc.transition(waiting(), lc.PreferredDue(1, "PJSIP/agent2", 30, at(5)))
    over, commands = lc.transition(rung, lc.AffinityOver(2, "NOANSWER", at(35)))
    assert (over.state, over.agent, over.affinity) == (State.PENDING, None, "over")
    assert [(type(c), c.request.attempt) for c in commands] == [(lc.Unplace, 1)]
    placed, _ = lc.transition(over, lc.PlacementDue(at(36)))
    assert placed.attempt == 3 and not waits_for_preferred(placed)


def test_given_up_before_any_ring_its_placeholder_goes() -> None:
    over, commands = lc.transition(waiting(), lc.AffinityOver(1, "not a member", at(5)))
    assert (over.state, over.affinity) == (State.PENDING, "over")
    assert commands == [lc.Unplace(waiting())]


def test_cancelled_while_the_preferred_agent_rings() -> None:
    """The Unplace names the ringing request: the adapter hangs up the ring and the
    placeholder of the attempt before (agi_app/serving/pbx.py unplace)."""
    rung, _ = lc.transition(waiting(), lc.PreferredDue(1, "PJSIP/agent2", 30, at(5)))
    done, commands = lc.transition(rung, lc.Cancelled("supervisor", at(6)))
    assert done.call_outcome is CallOutcome.CANCELLED
    assert commands == [lc.Unplace(rung)]
    # Late news of the ring changes nothing.
    assert lc.transition(done, lc.AffinityOver(2, "CANCEL", at(7))) == (done, [])


def test_events_of_the_placeholder_keeping_the_place_are_ignored_while_it_rings() -> None:
    rung, _ = lc.transition(waiting(), lc.PreferredDue(1, "PJSIP/agent2", 30, at(5)))
    for event in (lc.PlaceholderLost(1, at(6)), lc.Offered(1, "PJSIP/agent1", at(6))):
        assert lc.transition(rung, event) == (rung, [])


def test_last_agent_is_the_newest_answered_callback_to_the_number() -> None:
    def handled(agent: str, minutes: int, number: str = "+15551230001") -> CallbackRequest:
        return replace(
            PENDING, id=agent + number, state=State.DONE, agent=agent, callback_number=number,
            agent_answered_at=NOW - timedelta(minutes=minutes),
        )  # fmt: skip

    history = [
        handled("PJSIP/agent1", 5, "+15559990000"),  # another number
        handled("PJSIP/agent2", 30),
        handled("PJSIP/agent3", 20),
        replace(handled("PJSIP/agent4", 1), agent_answered_at=None),  # nobody answered
    ]
    assert last_agent(history, "+15551230001") == "PJSIP/agent3"
    assert last_agent(history, "+15550000000") is None


def test_build_request_keeps_no_timeout_without_a_preferred_agent() -> None:
    options = parse_options(["queue=support", "affinity_timeout=90"])
    request = build_request(FACTS, options, RULES, request_id="r1", now=NOW)
    assert request.affinity_timeout == 0
