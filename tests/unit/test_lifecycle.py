from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from agi_app.domain import lifecycle as lc
from agi_app.domain.options import Mode
from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State
from tests.support.samples import PENDING, T0

AGENTS = frozenset({"PJSIP/agent1", "PJSIP/agent2"})


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(request: CallbackRequest, *events: lc.Event) -> tuple[CallbackRequest, list[lc.Command]]:
    commands: list[lc.Command] = []
    for event in events:
        request, new = lc.transition(request, event)
        commands += new
    return request, commands


def waiting() -> CallbackRequest:
    request, _ = run(PENDING, lc.PlacementDue(at(1)), lc.Joined(1, at(1)))
    assert request.state is State.WAITING
    return request


def test_placement_starts_an_attempt_and_places() -> None:
    request, commands = lc.transition(PENDING, lc.PlacementDue(at(1)))
    assert request.attempt == 1
    assert commands == [lc.Place(request)]
    assert request.state is State.PENDING  # until Asterisk reports the join


def test_answered_call_and_contact() -> None:
    request, commands = run(
        waiting(),
        lc.Offered(1, "PJSIP/agent1", at(10)),
        lc.AgentAnswered(1, "PJSIP/agent1", at(12)),
        lc.CustomerDialed(1, at(12)),
        lc.CustomerAnswered(1, at(15)),
        lc.CallEnded(1, at(75)),
    )
    assert [type(c) for c in commands] == [lc.ScreenPop]
    assert isinstance(commands[0], lc.ScreenPop) and commands[0].agent == "PJSIP/agent1"
    assert (request.state, request.call_outcome, request.contact_outcome) == (
        State.DONE,
        CallOutcome.ANSWERED,
        ContactOutcome.ANSWERED,
    )
    assert (
        request.customer_dialed_at,
        request.customer_answered_at,
        request.customer_ended_at,
    ) == (
        at(12),
        at(15),
        at(75),
    )
    assert request.agent == "PJSIP/agent1"


def test_customer_not_reached_is_missed_call_answered_contact() -> None:
    request, commands = run(
        waiting(),
        lc.Offered(1, "PJSIP/agent1", at(10)),
        lc.AgentAnswered(1, "PJSIP/agent1", at(12)),
        lc.CustomerDialed(1, at(12)),
        lc.CustomerUnreached(1, "NOANSWER", at(42)),
        lc.CallEnded(1, at(47)),
    )
    assert (request.call_outcome, request.contact_outcome) == (
        CallOutcome.MISSED,
        ContactOutcome.ANSWERED,
    )
    assert request.customer_ended_at == at(42)
    assert not any(isinstance(c, lc.Inform) for c in commands)


def test_every_available_agent_declining_withdraws_then_informs() -> None:
    request, commands = run(
        waiting(),
        lc.Offered(1, "PJSIP/agent1", at(10)),
        lc.Declined(1, "PJSIP/agent1", AGENTS, at(11)),
    )
    assert request.state is State.WAITING
    assert not any(isinstance(c, lc.Withdraw) for c in commands)
    request, commands = run(
        request,
        lc.Offered(1, "PJSIP/agent2", at(12)),
        lc.Declined(1, "PJSIP/agent2", AGENTS, at(13)),
    )
    assert (request.state, request.call_outcome, request.contact_outcome) == (
        State.DONE,
        CallOutcome.ABANDONED,
        ContactOutcome.MISSED,
    )
    withdraw, inform = commands[-2:]
    assert isinstance(withdraw, lc.Withdraw) and withdraw.request.attempt == 1
    assert inform == lc.Inform(request, "callback/timeout")
    # However its placeholder is then seen leaving, it is not placed again.
    for leaving in (lc.PlaceholderLost(1, at(14)), lc.LeftQueue(1, "WITHDRAW", at(14))):
        assert run(request, leaving, lc.PlacementDue(at(15))) == (request, [])


def test_no_available_agent_is_not_everyone_declining() -> None:
    _, commands = run(
        waiting(),
        lc.Offered(1, "PJSIP/agent1", at(10)),
        lc.Declined(1, "PJSIP/agent1", frozenset(), at(11)),
    )
    assert not any(isinstance(c, lc.Withdraw) for c in commands)


@pytest.mark.parametrize(("prompt", "informs"), [("callback/timeout", True), (None, False)])
def test_max_wait_expires_with_or_without_message(prompt: str | None, informs: bool) -> None:
    request = replace(waiting(), timeout_prompt=prompt)
    request, commands = run(request, lc.LeftQueue(1, "TIMEOUT", at(1800)))
    assert (request.state, request.call_outcome, request.contact_outcome) == (
        State.DONE,
        CallOutcome.EXPIRED,
        ContactOutcome.MISSED,
    )
    assert bool(commands) is informs


def test_expired_before_placement() -> None:
    request, commands = lc.transition(PENDING, lc.PlacementDue(at(3600)))
    assert request.call_outcome is CallOutcome.EXPIRED
    assert commands == [lc.Inform(request, "callback/timeout")]


def test_lost_placeholder_goes_back_to_pending_and_old_attempts_are_ignored() -> None:
    request, _ = run(waiting(), lc.PlaceholderLost(1, at(20)))
    assert request.state is State.PENDING
    request, commands = run(request, lc.PlacementDue(at(21)))
    assert request.attempt == 2 and commands == [lc.Place(request)]
    stale, _ = run(request, lc.Joined(1, at(22)), lc.LeftQueue(1, "TIMEOUT", at(23)))
    assert stale == request


def test_too_many_refused_placements_end_in_error() -> None:
    request = PENDING
    for n in range(lc.MAX_ATTEMPTS):
        request, _ = run(request, lc.PlacementDue(at(n)), lc.PlaceholderLost(n + 1, at(n), True))
    assert request.placement_failures == lc.MAX_ATTEMPTS
    request, _ = lc.transition(request, lc.PlacementDue(at(30)))
    assert (request.call_outcome, request.contact_outcome) == (
        CallOutcome.ERROR,
        ContactOutcome.MISSED,
    )


def test_the_pbx_faults_cost_no_attempts() -> None:
    """Placeholders lost to Asterisk restarts, or placements it could not take while down,
    never end a request: only refusals that concern the request count."""
    request = PENDING
    for n in range(3 * lc.MAX_ATTEMPTS):
        request, commands = run(request, lc.PlacementDue(at(n)))
        assert commands == [lc.Place(request)]
        request, _ = run(request, lc.Joined(n + 1, at(n)), lc.PlaceholderLost(n + 1, at(n)))
    assert (request.state, request.attempt, request.placement_failures) == (
        State.PENDING,
        3 * lc.MAX_ATTEMPTS,
        0,
    )


def test_done_requests_ignore_everything_and_repeats_are_harmless() -> None:
    done, _ = run(waiting(), lc.LeftQueue(1, "TIMEOUT", at(10)))
    for event in (
        lc.PlacementDue(at(11)),
        lc.Joined(1, at(11)),
        lc.AgentAnswered(1, "PJSIP/agent1", at(11)),
        lc.CallEnded(1, at(11)),
    ):
        assert lc.transition(done, event) == (done, [])
    once, _ = run(waiting(), lc.Offered(1, "PJSIP/agent1", at(5)))
    twice, commands = run(once, lc.Joined(1, at(6)))
    assert twice == once and commands == []


def test_cancel_while_waiting_unplaces_and_ends() -> None:
    request, commands = lc.transition(waiting(), lc.Cancelled("supervisor", at(30)))
    assert (request.state, request.call_outcome, request.contact_outcome) == (
        State.DONE,
        CallOutcome.CANCELLED,
        ContactOutcome.MISSED,
    )
    assert [type(c) for c in commands] == [lc.Unplace]


def test_cancel_is_too_late_once_an_agent_answered() -> None:
    dialing, _ = run(waiting(), lc.AgentAnswered(1, "PJSIP/agent1", at(9)))
    assert dialing.agent_answered_at == at(9)
    assert lc.transition(dialing, lc.Cancelled("supervisor", at(10))) == (dialing, [])


def test_reprioritize_moves_it_by_placing_it_again() -> None:
    request, commands = lc.transition(waiting(), lc.Reprioritized(1, "supervisor", at(30)))
    assert request.priority == 1 and request.state is State.WAITING
    assert [type(c) for c in commands] == [lc.Unplace]
    lost, _ = lc.transition(request, lc.PlaceholderLost(1, at(31)))
    again, commands = lc.transition(lost, lc.PlacementDue(at(32)))
    assert again.priority == 1 and commands == [lc.Place(again)]
    with pytest.raises(ValueError):
        lc.transition(waiting(), lc.Reprioritized(11, "supervisor", at(30)))


def test_a_retry_holds_the_request_until_its_interval_then_places_it_again() -> None:
    request = replace(waiting(), retries=1, retry_interval=300)
    held, commands = run(
        request,
        lc.AgentAnswered(1, "PJSIP/agent1", at(10)),
        lc.CustomerDialed(1, at(10)),
        lc.CustomerUnreached(1, "NOANSWER", at(40)),
    )
    assert commands == [] and held.state is State.PENDING and held.call_outcome is None
    assert (held.customer_attempts, held.not_before) == (1, at(340))
    assert held.expires_at == at(340) + timedelta(minutes=30)  # max_wait again from then
    # The old placeholder's end changes nothing; no placement before the interval.
    assert run(held, lc.PlaceholderLost(1, at(41)), lc.LeftQueue(1, "", at(41)))[0] == held
    assert run(held, lc.PlacementDue(at(339)))[0] == held
    placed, commands = lc.transition(held, lc.PlacementDue(at(340)))
    assert placed.attempt == 2 and placed.not_before is None and commands == [lc.Place(placed)]
    done, _ = run(
        placed,
        lc.Joined(2, at(341)),
        lc.AgentAnswered(2, "PJSIP/agent2", at(350)),
        lc.CustomerUnreached(2, "BUSY", at(380)),
    )
    assert done.state is State.DONE and done.call_outcome is CallOutcome.MISSED
    assert done.customer_attempts == 2


def test_no_retry_by_default_and_none_once_the_customer_answered() -> None:
    missed, _ = run(
        waiting(),
        lc.AgentAnswered(1, "PJSIP/agent1", at(10)),
        lc.CustomerUnreached(1, "BUSY", at(20)),
    )
    assert missed.call_outcome is CallOutcome.MISSED and missed.not_before is None
    answered, _ = run(
        replace(waiting(), retries=3),
        lc.AgentAnswered(1, "PJSIP/agent1", at(10)),
        lc.CustomerAnswered(1, at(20)),
        lc.CallEnded(1, at(30)),
    )
    assert answered.call_outcome is CallOutcome.ANSWERED and answered.customer_attempts == 0


def test_closing_carries_a_waiting_callback_to_the_opening_with_its_wait_paused() -> None:
    request = waiting()
    opening = at(3600 * 16)
    carried, commands = lc.transition(request, lc.HoursClosed(opening, expire=False, at=at(60)))
    assert commands == [lc.Unplace(request)]
    assert (carried.state, carried.not_before, carried.call_outcome) == (
        State.PENDING, opening, None
    )  # fmt: skip
    assert carried.expires_at == request.expires_at + (opening - at(60))
    # Its placeholder's end is no loss; nothing is placed before the opening; twice is once.
    assert run(carried, lc.PlaceholderLost(1, at(61)), lc.PlacementDue(at(62)))[0] == carried
    assert lc.transition(carried, lc.HoursClosed(opening, expire=False, at=at(70)))[0] == carried
    placed, commands = lc.transition(carried, lc.PlacementDue(opening))
    assert placed.attempt == 2 and commands == [lc.Place(placed)]


def test_closing_expires_by_option_and_informs() -> None:
    request = waiting()
    done, commands = lc.transition(request, lc.HoursClosed(at(900), expire=True, at=at(60)))
    assert done.call_outcome is CallOutcome.EXPIRED
    assert commands == [lc.Unplace(request), lc.Inform(done, "callback/timeout")]
    never, _ = lc.transition(PENDING, lc.HoursClosed(None, expire=False, at=at(60)))
    assert never.call_outcome is CallOutcome.EXPIRED  # a schedule that never opens again


def test_closing_leaves_a_call_in_progress_alone() -> None:
    dialing, _ = run(waiting(), lc.AgentAnswered(1, "PJSIP/agent1", at(10)))
    assert lc.transition(dialing, lc.HoursClosed(at(900), expire=True, at=at(60))) == (
        dialing, []
    )  # fmt: skip


def _machine_answers(
    request: CallbackRequest, status: str = "MACHINE"
) -> tuple[CallbackRequest, list[lc.Command]]:
    return run(
        request,
        lc.Offered(1, "PJSIP/agent1", at(10)),
        lc.AgentAnswered(1, "PJSIP/agent1", at(12)),
        lc.CustomerDialed(1, at(12)),
        lc.AmdVerdict(1, status, "MAXWORDS-3-3", at(16)),
        lc.CustomerAnswered(1, at(16)),
    )


def test_a_machine_is_kept_and_ends_machine_answered() -> None:
    """amd=yes: the verdict is kept, the call goes on (the agent may leave a message), and
    it ends Machine Answered, not Answered Call."""
    connected, commands = _machine_answers(replace(waiting(), amd=True))
    assert connected.state is State.CONNECTED
    assert (connected.amd_status, connected.amd_cause) == ("MACHINE", "MAXWORDS-3-3")
    assert [type(c) for c in commands] == [lc.ScreenPop]  # the dialplan told the agent
    done, _ = lc.transition(connected, lc.CallEnded(1, at(40)))
    assert (done.state, done.call_outcome, done.contact_outcome) == (
        State.DONE,
        CallOutcome.MACHINE,
        ContactOutcome.ANSWERED,
    )


def test_a_machine_is_retried_like_an_unanswered_call() -> None:
    connected, _ = _machine_answers(replace(waiting(), amd=True, retries=1, retry_interval=300))
    retried, _ = lc.transition(connected, lc.CallEnded(1, at(40)))
    assert (retried.state, retried.customer_attempts) == (State.PENDING, 1)
    assert retried.not_before == at(340)
    again, _ = lc.transition(retried, lc.PlacementDue(at(340)))
    assert (again.attempt, again.amd_status, again.amd_cause) == (2, "", "")  # a new verdict


@pytest.mark.parametrize("status", ["HUMAN", "NOTSURE", "HANGUP"])
def test_a_person_or_no_verdict_is_an_answered_call(status: str) -> None:
    connected, _ = _machine_answers(replace(waiting(), amd=True), status)
    done, _ = lc.transition(connected, lc.CallEnded(1, at(40)))
    assert (done.call_outcome, done.amd_status) == (CallOutcome.ANSWERED, status)


def test_a_verdict_of_another_attempt_or_state_changes_nothing() -> None:
    request = replace(waiting(), amd=True)
    assert lc.transition(request, lc.AmdVerdict(1, "MACHINE", "", at(5))) == (request, [])
    stale, _ = run(request, lc.Offered(1, "PJSIP/agent1", at(10)),
                   lc.AgentAnswered(1, "PJSIP/agent1", at(12)))  # fmt: skip
    assert lc.transition(stale, lc.AmdVerdict(0, "MACHINE", "", at(16))) == (stale, [])


def customer_first(**fields: object) -> CallbackRequest:
    return replace(waiting(), mode=Mode.CUSTOMER_FIRST, **fields)  # type: ignore[arg-type]


def test_customer_first_calls_the_customer_when_its_turn_comes_and_no_agent_before() -> None:
    request, commands = run(
        customer_first(),
        lc.CustomerDue(1, at(20)),
        lc.CustomerAnswered(1, at(25)),
        lc.AmdVerdict(1, "HUMAN", "HUMAN-800-800", at(27)),
        lc.HumanCheck(1, "1", at(33)),
    )
    assert request.state is State.CALLING and request.agent is None
    assert [type(c) for c in commands] == [lc.CallCustomer]
    assert (request.customer_dialed_at, request.customer_answered_at) == (at(20), at(25))
    assert request.customer_key == "1"
    joined, unplace = lc.transition(request, lc.CustomerJoined(1, at(34)))
    assert (joined.state, joined.customer_joined_at) == (State.QUEUED, at(34))
    assert unplace == [lc.Unplace(request)]  # the placeholder leaves as they join
    # Its placeholder ending now changes nothing: the customer holds the place.
    assert lc.transition(joined, lc.PlaceholderLost(1, at(35))) == (joined, [])
    assert lc.transition(joined, lc.LeftQueue(1, "WITHDRAW", at(35))) == (joined, [])
    done, commands = run(
        joined,
        lc.Offered(1, "PJSIP/agent2", at(40)),
        lc.Declined(1, "PJSIP/agent2", AGENTS, at(50)),  # the customer stays, the next agent
        lc.Offered(1, "PJSIP/agent1", at(51)),
        lc.AgentAnswered(1, "PJSIP/agent1", at(53)),
        lc.CallEnded(1, at(200)),
    )
    assert [type(c) for c in commands] == [lc.ScreenPop, lc.ScreenPop]
    assert (done.call_outcome, done.contact_outcome, done.agent) == (
        CallOutcome.ANSWERED,
        ContactOutcome.ANSWERED,
        "PJSIP/agent1",
    )
    assert done.agent_answered_at == at(53)


def test_customer_first_ignores_the_turn_in_agent_first_and_out_of_turn() -> None:
    assert lc.transition(waiting(), lc.CustomerDue(1, at(20))) == (waiting(), [])
    calling, _ = lc.transition(customer_first(), lc.CustomerDue(1, at(20)))
    assert lc.transition(calling, lc.CustomerDue(1, at(21))) == (calling, [])


@pytest.mark.parametrize(
    ("events", "outcome"),
    [
        ([lc.CustomerUnreached(1, "NOANSWER", at(50))], CallOutcome.MISSED),
        (
            [lc.CustomerAnswered(1, at(25)), lc.AmdVerdict(1, "MACHINE", "", at(27)),
             lc.CallEnded(1, at(40))],
            CallOutcome.MACHINE,
        ),
        (
            [lc.CustomerAnswered(1, at(25)), lc.AmdVerdict(1, "HUMAN", "", at(27)),
             lc.HumanCheck(1, "", at(35)), lc.CallEnded(1, at(36))],
            CallOutcome.MISSED,
        ),
    ],
)  # fmt: skip
def test_customer_first_not_reached_a_machine_or_no_key_is_retried_then_ends(
    events: list[lc.Event], outcome: CallOutcome
) -> None:
    calling, _ = lc.transition(
        customer_first(retries=1, retry_interval=60), lc.CustomerDue(1, at(20))
    )
    retried, commands = run(calling, *events)
    assert (retried.state, retried.customer_attempts, retried.not_before) == (
        State.PENDING,
        1,
        events[-1].at + timedelta(seconds=60),
    )
    assert [type(c) for c in commands] == [lc.Unplace]  # the turn is given up meanwhile
    done, _ = run(replace(calling, customer_attempts=1, retries=1), *events)  # none left
    assert (done.state, done.call_outcome, done.contact_outcome) == (
        State.DONE,
        outcome,
        ContactOutcome.MISSED,
    )


def test_customer_first_customer_hanging_up_while_waiting_is_abandoned() -> None:
    queued, _ = run(
        customer_first(),
        lc.CustomerDue(1, at(20)),
        lc.HumanCheck(1, "1", at(30)),
        lc.CustomerJoined(1, at(31)),
    )
    done, _ = lc.transition(queued, lc.CallEnded(1, at(90)))
    assert (done.call_outcome, done.contact_outcome) == (
        CallOutcome.ABANDONED,
        ContactOutcome.MISSED,
    )


def test_a_disposition_needs_an_agent_who_answered_and_the_last_one_holds() -> None:
    assert lc.transition(waiting(), lc.Disposed("sale", "a1", at(5))) == (waiting(), [])
    done, _ = run(
        waiting(),
        lc.Offered(1, "PJSIP/agent1", at(10)),
        lc.AgentAnswered(1, "PJSIP/agent1", at(12)),
        lc.CustomerAnswered(1, at(15)),
        lc.CallEnded(1, at(75)),
        lc.Disposed("sale", "a1", at(80)),  # after the call: done, yet it takes it
        lc.Disposed("follow_up", "ann", at(90)),
    )
    assert (done.state, done.disposition) == (State.DONE, "follow_up")
