"""The trial checks on made-up observations: each defect the trials hunt is recognised."""

from tests.support.uas import Behaviour
from tests.trials.checks import (
    CallerSeen,
    FaultSeen,
    Findings,
    Observed,
    Offer,
    RequestSeen,
    check,
    hearing_announcement,
)
from tests.trials.scenario import FaultKind, generate
from tests.trials.sip_trace import Invite

NUMBERS = ("+15550000001", "+15550000002", "+15550000003")


def _observed(offers: list[tuple[float, str]], dials: list[tuple[float, str]]) -> Observed:
    """Three callbacks (level 5, joined at 1, 3, 5 s), pressed at once, waiting from 10 s,
    an Asterisk restart at 20-30 s, all served (Answered) by 60 s."""
    callers = {
        n: CallerSeen(n, 5, True, joined_at=1.0 + 2 * i, pressed_at=2.0 + 2 * i,
                      heard_success=True, ended_at=9.0)
        for i, n in enumerate(NUMBERS)
    }  # fmt: skip
    requests = [
        RequestSeen(f"id{i}", n, "done", "Answered Call", 2, 0, frozenset(), 10.0, 60.0)
        for i, n in enumerate(NUMBERS)
    ]
    scenario = generate(1)
    scenario = type(scenario)(1, scenario.callers, scenario.agents, Behaviour.ANSWER, ())
    return Observed(
        scenario=scenario,
        callers=callers,
        requests=requests,
        offers=[
            Offer(
                "PJSIP/agent1",
                Behaviour.ANSWER,
                Invite(at, n, "agent1", f"id{NUMBERS.index(n)}", f"c{at}"),
            )
            for at, n in offers
        ],
        dials=[Invite(at, "5000", n, "", f"d{at}") for at, n in dials],
        faults=[FaultSeen(FaultKind.ASTERISK_RESTART, 20.0, 30.0)],
        finished=True,
    )


def _run(offers: list[tuple[float, str]], dials: list[tuple[float, str]] | None = None) -> Findings:
    served = dials if dials is not None else [(at + 0.1, n) for at, n in offers]
    return check(_observed(offers, served))


def test_ideal_order_passes() -> None:
    findings = _run([(31.0, NUMBERS[0]), (35.0, NUMBERS[1]), (40.0, NUMBERS[2])])
    assert findings.ok, findings


def test_first_request_served_last_after_a_restart_is_an_inversion() -> None:
    findings = _run([(31.0, NUMBERS[1]), (35.0, NUMBERS[2]), (40.0, NUMBERS[0])])
    assert len(findings.order) == 2 and not findings.lost and not findings.doubled


def test_offers_within_the_slack_are_simultaneous() -> None:
    assert _run([(31.0, NUMBERS[1]), (31.5, NUMBERS[0]), (40.0, NUMBERS[2])]).ok


def test_a_second_dial_without_a_second_answer_is_doubled() -> None:
    offers = [(31.0, NUMBERS[0]), (35.0, NUMBERS[1]), (40.0, NUMBERS[2])]
    dials = [(at + 0.1, n) for at, n in offers] + [(45.0, NUMBERS[2])]
    findings = _run(offers, dials)
    assert len(findings.doubled) == 1 and not findings.order


def test_a_dial_before_any_agent_answered_counts() -> None:
    offers = [(31.0, NUMBERS[0]), (35.0, NUMBERS[1]), (40.0, NUMBERS[2])]
    dials = [(15.0, NUMBERS[0]), (35.1, NUMBERS[1]), (40.1, NUMBERS[2])]
    assert len(_run(offers, dials).doubled) == 1


def test_a_live_caller_hearing_the_periodic_announcement_may_be_passed() -> None:
    """Seed 1004's case: the head caller heard the offer at 30 s; the next took the agent."""
    assert hearing_announcement(596.35, 627.06)  # 30.7 s after joining: within the prompt
    assert not hearing_announcement(596.35, 640.0)  # 43.7 s: the prompt is long over
    assert not hearing_announcement(596.35, 620.0)  # before the first announcement


def test_a_call_displaced_by_a_better_arrival_in_the_same_instant_is_allowed() -> None:
    """Seed 2000's case: agents free, a better placeholder joins and takes an agent at the
    instant the next-but-one caller takes another; the caller between them waits."""
    seen = _observed([(31.0, NUMBERS[0]), (31.2, NUMBERS[2]), (38.0, NUMBERS[1])], [])
    better = "+15550000009"
    seen.callers[better] = CallerSeen(better, 1, True, 6.0, 7.0, True, ended_at=9.0)
    seen.requests.append(
        RequestSeen("id9", better, "done", "Answered Call", 1, 0, frozenset(), 31.0, 60.0)
    )
    seen.offers.append(
        Offer("PJSIP/agent2", Behaviour.ANSWER, Invite(31.0, better, "a2", "id9", "z"))
    )
    assert not check(seen).order, check(seen).order
    # The same without the arrival, or with it long before, is an inversion.
    seen.requests[-1] = RequestSeen(
        "id9", better, "done", "Answered Call", 1, 0, frozenset(), 12.0, 60.0
    )
    assert len(check(seen).order) == 1


def test_a_burst_cut_short_by_a_restart_is_judged_in_the_next_epoch() -> None:
    """Seed 885281's case: X offered 0.04 s before the restart (at 20 s), Y after it."""
    assert not _run([(19.96, NUMBERS[1]), (31.0, NUMBERS[0]), (40.0, NUMBERS[2])]).order
    assert _run([(18.0, NUMBERS[1]), (31.0, NUMBERS[0]), (40.0, NUMBERS[2])]).order


def test_a_request_placed_again_after_its_withdrawal_is_reported() -> None:
    """The big run's seed 1043: withdrawn as declined, then a second placeholder joined."""
    seen = _observed([(31.0, NUMBERS[0]), (35.0, NUMBERS[1]), (40.0, NUMBERS[2])], [])
    seen.requests = [
        RequestSeen("id0", NUMBERS[0], "done", "Abandoned Call", 2, 0, frozenset({"a"}), 10, 60)
    ]
    seen.queue_log = [
        ["12", "cb-id0-1-q", "support", "NONE", "ENTERQUEUE", "", NUMBERS[0], "1"],
        ["20", "cb-id0-1-q", "support", "NONE", "WITHDRAW", "1", "1", "8", "declined"],
        ["21", "cb-id0-2-q", "support", "NONE", "ENTERQUEUE", "", NUMBERS[0], "1"],
    ]
    assert len(check(seen).replaced) == 1
    seen.queue_log = seen.queue_log[:2]
    assert not check(seen).replaced


def _customer_first(
    turns: list[tuple[str, float]], offers: list[tuple[float, str]], live_joined: float = 3.0
) -> Observed:
    """A customer first callback (NUMBERS[0], level 5, joined at 1 s, pressed at 2 s, its
    placeholder in the queue from 10 s) with the states ``turns`` after that, and a live
    caller behind it (NUMBERS[1], level 5, joined at ``live_joined``); every offer answered,
    no fault, the customer answers and presses 1."""
    first, live = NUMBERS[0], NUMBERS[1]
    callers = {
        first: CallerSeen(first, 5, True, 1.0, 2.0, True, ended_at=9.0),
        live: CallerSeen(live, 5, False, live_joined, ended_at=90.0),
    }
    states = (("pending", 2.0), ("waiting", 10.0), *turns, ("connected", 70.0), ("done", 80.0))
    request = RequestSeen(
        "cf", first, "done", "Answered Call", 1, 0, frozenset(), 10.0, 80.0,
        customer_first=True, states=states,
    )  # fmt: skip
    scenario = generate(1)
    scenario = type(scenario)(1, scenario.callers, scenario.agents, Behaviour.PERSON_PRESSES_1, ())
    # One customer INVITE per turn (the state calling entered; it stays while AMD listens).
    calls = [t for i, (name, t) in enumerate(turns) if name == "calling" != turns[i - 1][0]]
    return Observed(
        scenario=scenario,
        callers=callers,
        requests=[request],
        offers=[
            Offer(
                "PJSIP/agent1",
                Behaviour.ANSWER,
                Invite(at, n, "agent1", "cf" if n == first else "", f"c{at}"),
            )
            for at, n in offers
        ],
        dials=[Invite(at + 0.05, "5000", first, "", f"d{at}") for at in calls],
        faults=[],
        finished=True,
    )


def test_customer_first_in_transit_from_its_turn_may_be_passed() -> None:
    """Exception 9: from its turn (the customer called, AMD, the greeting, the key) until its
    customer joins the queue, a customer first callback is in transit, as after a key press;
    an agent beside the one its turn counted on takes the live caller behind it."""
    turns = [("calling", 30.5), ("calling", 34.0), ("queued", 45.0)]  # answered, AMD, key
    seen = _customer_first(turns, [(31.0, NUMBERS[1]), (46.0, NUMBERS[0])])
    assert check(seen).ok, check(seen)
    # Its placeholder waiting before its turn (the turn noticed only at 40 s) gets no such
    # allowance: the live caller behind it was offered first.
    late = [("calling", 40.0), ("queued", 45.0)]
    findings = check(_customer_first(late, [(31.0, NUMBERS[1]), (46.0, NUMBERS[0])]))
    assert len(findings.order) == 1 and not findings.doubled and not findings.lost, findings


def test_customer_first_turn_noticed_within_the_slack_counts() -> None:
    """The service reads the queue once a second: app_queue may ring the caller behind in the
    second before the service records the turn."""
    turns = [("calling", 32.0), ("queued", 45.0)]
    assert check(_customer_first(turns, [(31.0, NUMBERS[1]), (46.0, NUMBERS[0])])).ok


def test_a_customer_who_pressed_1_rejoins_at_the_head_of_their_level() -> None:
    """The customer joins ahead of a caller of their level who joined before them (Queue()'s
    position 1); a caller of their level offered while the customer waits is a violation."""
    turns = [("calling", 30.0), ("queued", 40.0)]
    # The live caller joined before the callback: the customer, rejoined, goes first.
    seen = _customer_first(turns, [(41.0, NUMBERS[0]), (50.0, NUMBERS[1])], live_joined=0.5)
    assert check(seen).ok, check(seen)
    # Seed 28's race: app_queue rang an agent for the customer 2 ms before the service
    # recorded the join (QueueCallerJoin); the offer is the customer's, at the head.
    seen = _customer_first(turns, [(39.998, NUMBERS[0]), (50.0, NUMBERS[1])], live_joined=0.5)
    assert check(seen).ok, check(seen)
    # The live caller offered while the customer waits in the queue: an inversion.
    seen = _customer_first(turns, [(42.0, NUMBERS[1]), (50.0, NUMBERS[0])], live_joined=0.5)
    assert len(check(seen).order) == 1


def test_customer_first_retry_waits_at_its_place_without_the_allowance() -> None:
    """No answer: held for the retry (in transit), then its placeholder waits again at its
    original place, and a caller behind it offered then is a violation."""
    turns = [("calling", 30.0), ("pending", 35.0), ("waiting", 40.5), ("calling", 50.0),
             ("queued", 60.0)]  # fmt: skip
    assert check(_customer_first(turns, [(38.0, NUMBERS[1]), (61.0, NUMBERS[0])])).ok
    findings = check(_customer_first(turns, [(45.0, NUMBERS[1]), (61.0, NUMBERS[0])]))
    assert len(findings.order) == 1


def test_a_customer_first_placeholder_offered_to_an_agent_is_reported() -> None:
    turns = [("calling", 30.0), ("queued", 45.0)]
    findings = check(_customer_first(turns, [(20.0, NUMBERS[0]), (46.0, NUMBERS[1])]))
    assert any("before its customer joined" in f for f in findings.order), findings


def test_a_customer_first_dial_without_its_turn_is_doubled() -> None:
    turns = [("calling", 30.0), ("queued", 45.0)]
    seen = _customer_first(turns, [(46.0, NUMBERS[0]), (50.0, NUMBERS[1])])
    assert check(seen).ok, check(seen)
    seen.dials.append(Invite(20.0, "5000", NUMBERS[0], "", "early"))  # while it waited
    assert len(check(seen).doubled) == 1


def test_a_customer_first_customer_called_again_after_an_agent_answered_is_doubled() -> None:
    """Seed 4128's case: an agent talked to the customer while the service was blind (AMI
    frozen, then killed); the service took the call for unanswered and called again."""
    turns = [("calling", 30.0), ("pending", 40.0), ("waiting", 45.0), ("calling", 50.0),
             ("queued", 60.0)]  # fmt: skip
    seen = _customer_first(turns, [(36.0, NUMBERS[0]), (61.0, NUMBERS[0]), (70.0, NUMBERS[1])])
    assert any("after an agent answered" in d for d in check(seen).doubled), check(seen)


def _preferred(affinity_until: float | None, offers: list[tuple[float, str]]) -> Observed:
    """A callback with a preferred agent (NUMBERS[0], level 5, joined at 1 s, its placeholder
    in the queue from 10 s), a live caller behind it (NUMBERS[1], joined at 3 s)."""
    seen = _customer_first([], offers)
    (request,) = seen.requests
    seen.requests = [
        RequestSeen(
            "cf", request.callback_number, "done", "Answered Call", 3, 0, frozenset(), 10.0,
            80.0, preferred=True, affinity_until=affinity_until,
            states=(("pending", 2.0), ("waiting", 10.0), ("pending", 40.0), ("waiting", 41.0),
                    ("connected", 70.0), ("done", 80.0)),
        )
    ]  # fmt: skip
    seen.dials = [Invite(at + 0.05, "5000", n, "", f"d{at}") for at, n in offers if n == NUMBERS[0]]
    return seen


def test_a_callback_waiting_for_its_preferred_agent_may_be_passed() -> None:
    """Exception 10: until any agent may take it (placed again at 41 s), another agent takes
    the live caller behind it; once placed again at its place, no allowance."""
    assert check(_preferred(41.0, [(30.0, NUMBERS[1]), (45.0, NUMBERS[0])])).ok
    findings = check(_preferred(41.0, [(43.0, NUMBERS[1]), (50.0, NUMBERS[0])]))
    assert len(findings.order) == 1, findings
