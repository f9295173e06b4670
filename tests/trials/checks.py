"""What a finished trial must satisfy, computed from what was observed (no I/O).

The order check compares the first offer each call got (an agent phone's INVITE, From = the
caller's number) with the ideal single queue: priority level, then the time the caller first
joined the queue, live callers and callbacks alike. A customer first callback (mode=
customer_first) is never offered as a placeholder: its first offer is the agent INVITE after
its customer pressed 1 and joined the queue, where it then stands at the head of its level
(Queue()'s position 1: before every caller of its level who is not such a customer, after
every caller of a higher level; among such customers of one level, the original order). A
call Y that belongs ahead of X is an order violation when an agent was offered X while Y was
waiting and Y's first offer came later (or never). Allowed, and why (docs/explanation/
faults.md, "Randomized trials on the real stack"):

1. Concurrent offers: offers less than OFFER_SLACK apart are simultaneous. With several agents
   free, app_queue rings the first k callers at once, each from its own thread, which checks
   its turn once a second; which INVITE leaves first is a race, not an order.
2. Not yet there: Y joined the queue after X was offered (an agent already ringing X when a
   better caller arrives keeps ringing X).
3. No longer there: Y was already answered by an agent, its request was done, or Y's live
   call had ended (a live caller dropped by an Asterisk restart is not waiting anymore).
4. In transit after the key: from the moment Y pressed the key until its placeholder first
   joined the queue, Y is in no queue of Asterisk's; an agent free in that instant takes the
   next caller. (A placeholder lost later, e.g. to a restart, gets no such allowance.)
5. Restarts start afresh: an Asterisk restart ends every queue entry, so first offers are
   counted per epoch between restarts; a call offered before a restart (ringing when it
   came) must still be offered first after it if it is still waiting.
6. Hearing the periodic announcement: app_queue plays the queue's periodic announcement (the
   callback offer, 4.9 s, every 30 s from the caller's join) even to the caller at the head,
   and does not offer that caller to an agent while it plays; with autofill, an agent who
   frees up meanwhile takes the next caller. This is app_queue's, with or without callbacks
   (placeholders hear 20 ms of silence instead, so it never holds them back; a customer first
   customer waiting in the queue after pressing 1 is a live call, and hears it every 30 s from
   that join).
7. Displaced by a better arrival: with N agents free, app_queue's autofill gives each of the
   first N calls present its turn at once, and each call's thread takes an agent when it next
   looks (once a second). A call Z that ranks ahead of Y and comes into the queue in that
   instant (a new caller, or a placeholder joining) takes one of the N agents, and the last of
   the N to look, Y, waits for the next agent while X, which took its agent before Z came,
   keeps it (Asterisk does not take an offer back). Allowed only when Z entered the queue and
   was offered within OFFER_SLACK of X's offer (found by seed 2000: two live callers, the
   agents unpaused as a level-1 placeholder joined).
8. A burst cut short by a restart: when Asterisk restarts less than OFFER_SLACK after X's
   offer, the calls offered with X in the same instant (exception 1) had no time to be
   offered in that epoch; they are judged in the next one (found by seed 885281: three agents
   unpaused, the third caller's thread took agent1 first, and the restart came 40 ms later).
9. Customer first, in transit from its turn: when a customer first placeholder's turn comes
   (as app_queue counts it: fewer calls before it than available agents) the service calls
   the customer instead of any agent; AMD() listens, the greeting plays, the customer presses
   1 and only then joins the queue (10 to 40 s). Meanwhile the placeholder keeps its turn but
   is never offered, so an agent free beside the one its turn counted on takes the next
   caller, as in exception 4. Y is in transit from OFFER_SLACK before the service's CustomerDue
   (state calling: the service reads the queue once a second, so it sees the turn up to a
   second after app_queue, whose thread for X may ring in that second) until its customer
   joins the queue (state queued), or, when the call fails (no answer, busy, a machine, no
   key), until its placeholder joins again for the retry (state waiting: from then on it
   waits at its original place, with no allowance until its next turn). A placeholder that
   waits before its turn gets none: a call behind it offered then is a violation.
10. Agent affinity, in transit until any agent may take it: a callback with a preferred agent
   (5042: agent2) waits unrung (as customer first's placeholder) until its turn, which goes to
   agent2 alone: rung while free, waited for while busy or paused, for affinity_timeout.
   Meanwhile an agent beside the one its turn counted on takes the next caller, as in
   exception 9 (docs/explanation/callback-modes.md, "Agent affinity"). The service keeps no
   record of the turn while agent2 is busy, so Y is in transit from its placeholder's first
   join until agent2 answered it or its placeholder joined again for any agent (after
   AffinityOver); from then on it waits at its original place, without allowance.
"""

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field

from tests.support.uas import Behaviour
from tests.trials.scenario import FaultKind, Scenario, answers
from tests.trials.sip_trace import Invite

OFFER_SLACK = 1.5  # seconds; app_queue's RECHECK is 1 s
# queues.conf periodic-announce-frequency, and the length of sounds/callback/offer.wav.
PERIODIC_ANNOUNCE = 30.0
ANNOUNCE_SECONDS = 4.9


def hearing_announcement(joined_at: float, t: float) -> bool:
    """Whether a live caller who joined at ``joined_at`` may be hearing the periodic
    announcement at ``t`` (app_queue checks once a second whether one is due)."""
    into = (t - joined_at) % PERIODIC_ANNOUNCE
    return t - joined_at >= PERIODIC_ANNOUNCE - 0.5 and (
        into <= ANNOUNCE_SECONDS + 1.5 or into >= PERIODIC_ANNOUNCE - 0.5
    )


@dataclass
class CallerSeen:
    number: str
    level: int
    press: bool
    joined_at: float | None = None  # first seen in the queue as a live caller
    pressed_at: float | None = None
    heard_success: bool = False
    heard_error: bool = False
    ended_at: float | None = None  # its SIPp ended (hung up by Asterisk, or killed)


@dataclass(frozen=True)
class RequestSeen:
    id: str
    callback_number: str
    state: str
    call_outcome: str | None
    attempt: int
    placement_failures: int
    declined_by: frozenset[str]
    first_waiting_at: float | None  # its placeholder first joined
    done_at: float | None
    customer_first: bool = False  # mode=customer_first
    preferred: bool = False  # a preferred agent (5042)
    # Agent affinity: when any agent could take it (agent2 answered it, or its placeholder
    # joined again after AffinityOver); None while it never did.
    affinity_until: float | None = None
    # Its event log: the request's state after each event, and when (epoch seconds).
    states: tuple[tuple[str, float], ...] = ()

    def entered(self, state: str) -> list[float]:
        """The times the request came into ``state`` (from another state), in order."""
        out, previous = [], ""
        for name, at in self.states:
            if name == state and previous != state:
                out.append(at)
            previous = name
        return out

    @property
    def queued_at(self) -> float | None:
        """Customer first: when the customer, having pressed 1, first joined the queue."""
        return next(iter(self.entered("queued")), None)

    def rejoined_by(self, t: float) -> bool:
        """Customer first: whether its customer stood in the queue at ``t``, at the head of
        its level. The service records the join from AMI's QueueCallerJoin, after app_queue
        may already have rung a free agent for the customer (seen: 2 ms after the INVITE),
        so from OFFER_SLACK before the recorded join."""
        queued = self.queued_at if self.customer_first else None
        return queued is not None and t >= queued - OFFER_SLACK

    def in_transit(self, t: float) -> bool:
        """Customer first, exception 9: from (just before) a turn until the customer joined
        the queue, or the placeholder joined again for a retry. Agent affinity, exception
        10: from its placeholder's first join until any agent could take it."""
        if self.preferred and self.first_waiting_at is not None:
            until = self.affinity_until if self.affinity_until is not None else math.inf
            return self.first_waiting_at - OFFER_SLACK <= t < until
        if not self.customer_first:
            return False
        for turn in self.entered("calling"):
            if t < turn - OFFER_SLACK:
                continue
            after = [at for name, at in self.states if at > turn and name in ("queued", "waiting")]
            if not after or t < after[0]:
                return True
        return False


@dataclass(frozen=True)
class FaultSeen:
    kind: FaultKind
    start: float
    end: float


@dataclass(frozen=True)
class Offer:
    agent: str
    behaviour: Behaviour
    invite: Invite


@dataclass
class Observed:
    scenario: Scenario
    callers: dict[str, CallerSeen]
    requests: list[RequestSeen]
    offers: list[Offer]  # every INVITE any agent phone received
    dials: list[Invite]  # every INVITE the carrier received
    faults: list[FaultSeen]
    finished: bool  # every call was over before the trial's deadline
    # Asterisk's queue_log lines of the trial: time, callid, queue, agent, event, data...
    queue_log: list[list[str]] = field(default_factory=list)


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # placed again after its withdrawal
    errors: list[str] = field(default_factory=list)  # the trial itself could not complete
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost or self.doubled or self.order or self.attempts or self.replaced
            or self.errors
        )  # fmt: skip


def check(seen: Observed) -> Findings:
    findings = Findings()
    _acknowledged(seen, findings)
    _outcomes(seen, findings)
    _dials(seen, findings)
    _order(seen, findings)
    _attempts(seen, findings)
    _withdrawn(seen, findings)
    return findings


def _withdrawn(seen: Observed, out: Findings) -> None:
    """Once the service withdrew a placeholder (every available agent declined: Abandoned),
    the request is over: no placeholder of a later attempt may join the queue again."""
    for r in seen.requests:
        prefix = f"cb-{r.id}-"
        withdrawn: float | None = None
        for line in seen.queue_log:
            if len(line) < 5 or not line[1].startswith(prefix):
                continue
            if line[4] == "WITHDRAW" and withdrawn is None:
                withdrawn = float(line[0])
            elif line[4] == "ENTERQUEUE" and withdrawn is not None:
                out.replaced.append(
                    f"request {r.id} ({r.callback_number}) withdrawn at {withdrawn:.0f},"
                    f" then {line[1]} joined the queue at {line[0]} (ended {r.call_outcome})"
                )


def _acknowledged(seen: Observed, out: Findings) -> None:
    stored = Counter(r.callback_number for r in seen.requests)
    for caller in seen.callers.values():
        if caller.heard_success and not stored[caller.number]:
            out.lost.append(f"{caller.number} heard 'successful' but no request is stored")
    for number, count in stored.items():
        if count > 1:
            out.doubled.append(f"{number} has {count} requests")


def _outcomes(seen: Observed, out: Findings) -> None:
    restarted = any(f.kind is FaultKind.ASTERISK_RESTART for f in seen.faults)
    answering = answers(seen.scenario.carrier)
    for r in seen.requests:
        what = f"request {r.id} ({r.callback_number})"
        if r.state != "done":
            out.lost.append(f"{what} still {r.state} at the deadline (attempt {r.attempt})")
            continue
        outcome = r.call_outcome
        if outcome == "Answered Call" and not answering:
            out.lost.append(f"{what}: Answered, but the customer never answers")
        elif outcome == "Missed Call" and answering and not restarted:
            out.lost.append(f"{what}: Missed, but the customer answers and no restart ended it")
        elif outcome == "Abandoned Call" and r.customer_first and not restarted:
            # Customer first: the customer pressed 1 and hung up before an agent came; the
            # test phone never hangs up, so only a restart of Asterisk ends such a call.
            out.lost.append(f"{what}: Abandoned (customer first), but no restart ended it")
        elif outcome == "Abandoned Call" and not r.customer_first and not r.declined_by:
            out.lost.append(f"{what}: Abandoned, but no agent declined it")
        elif outcome not in ("Answered Call", "Missed Call", "Abandoned Call"):
            out.lost.append(f"{what}: ended {outcome}")


def _dials(seen: Observed, out: Findings) -> None:
    """Each customer INVITE must follow its own agent's answer (an ANSWER phone's INVITE
    for the request), one per answer; an unserved request may get one informative call."""
    for r in seen.requests:
        if r.customer_first:
            _customer_first_dials(seen, r, out)
            continue
        answers = sorted(
            o.invite.at
            for o in seen.offers
            if o.invite.request_id == r.id and o.behaviour is Behaviour.ANSWER
        )
        dials = sorted(d.at for d in seen.dials if d.to_user == r.callback_number)
        unmatched = []
        for at in dials:
            earlier = [a for a in answers if a <= at]
            if earlier:
                answers.remove(earlier[-1])
            else:
                unmatched.append(at)
        served = r.call_outcome in ("Answered Call", "Missed Call")
        allowed = 0 if served else 1  # the informative call after an unserved end
        what = f"request {r.id} ({r.callback_number})"
        if len(unmatched) > allowed:
            out.doubled.append(
                f"{what}: {len(dials)} customer INVITEs, {len(unmatched)} without an agent's"
                f" answer before them (at {', '.join(f'{t:.3f}' for t in unmatched)})"
            )
        if served and not dials:
            out.lost.append(f"{what}: {r.call_outcome} but the customer was never dialed")


def _customer_first_dials(seen: Observed, r: RequestSeen, out: Findings) -> None:
    """Customer first: each customer INVITE follows the service's CustomerDue (state
    calling: its turn came), one per turn, so none while it waits for its turn and none twice
    for one turn; no informative call (customer first has none)."""
    turns = r.entered("calling")
    dials = sorted(d.at for d in seen.dials if d.to_user == r.callback_number)
    unmatched = []
    for at in dials:
        # The turn is stored before the Originate is sent: the INVITE comes after it.
        earlier = [t for t in turns if t <= at]
        if earlier:
            turns.remove(earlier[-1])
        else:
            unmatched.append(at)
    what = f"request {r.id} ({r.callback_number}, customer first)"
    answered = min(
        (o.invite.at for o in seen.offers
         if o.invite.request_id == r.id and o.behaviour is Behaviour.ANSWER),
        default=math.inf,
    )  # fmt: skip
    again = [at for at in dials if at > answered]
    if again:  # an agent talked to its customer: served, never called again
        out.doubled.append(
            f"{what}: customer INVITE at {', '.join(f'{t:.3f}' for t in again)} after an"
            f" agent answered its customer at {answered:.3f}"
        )
    if unmatched:
        out.doubled.append(
            f"{what}: {len(dials)} customer INVITEs, {len(unmatched)} without a turn of its own"
            f" before them (at {', '.join(f'{t:.3f}' for t in unmatched)})"
        )
    if r.call_outcome in ("Answered Call", "Missed Call") and not dials:
        out.lost.append(f"{what}: {r.call_outcome} but the customer was never dialed")


def _order(seen: Observed, out: Findings) -> None:
    restarts = sorted(f.start for f in seen.faults if f.kind is FaultKind.ASTERISK_RESTART)
    bounds = [-math.inf, *restarts, math.inf]
    by_number = {r.callback_number: r for r in seen.requests}
    served_at: dict[str, float] = {}
    for o in seen.offers:
        if o.behaviour is Behaviour.ANSWER:
            served_at[o.invite.user] = min(served_at.get(o.invite.user, math.inf), o.invite.at)

    def ends(c: CallerSeen) -> float:
        if c.press and c.pressed_at is not None:
            request = by_number.get(c.number)
            if request is None:
                return c.pressed_at  # nothing stored: it left with the key
            return request.done_at if request.done_at is not None else math.inf
        return c.ended_at if c.ended_at is not None else math.inf

    def rank(c: CallerSeen, t: float) -> tuple[int, int, float]:
        """Its place in the ideal single queue at ``t``: its level, then a customer first
        customer who joined the queue (at the head of its level), then the first join."""
        request = by_number.get(c.number) if c.press else None
        assert c.joined_at is not None
        return (c.level, 0 if request and request.rejoined_by(t) else 1, c.joined_at)

    def rejoined(c: CallerSeen, t: float) -> str:
        request = by_number.get(c.number) if c.press else None
        queued = request.queued_at if request and request.rejoined_by(t) else None
        return f", its customer in the queue from {queued:.3f}" if queued else ""

    def waiting(c: CallerSeen, t: float) -> bool:
        if c.joined_at is None or c.joined_at > t:  # 2
            return False
        if t >= served_at.get(c.number, math.inf) or t >= ends(c):  # 3
            return False
        request = by_number.get(c.number)
        if c.pressed_at is not None and c.pressed_at <= t:  # 4
            joined = request.first_waiting_at if request else None
            if joined is None or t < joined:
                return False
            if request is not None and request.in_transit(t):  # 9
                return False
            queued = request.queued_at if request and request.rejoined_by(t) else None
            if queued is not None and hearing_announcement(queued, t):  # 6, for its customer
                return False
        elif hearing_announcement(c.joined_at, t):  # 6: still a live caller
            return False
        return True

    def entered(c: CallerSeen) -> list[float]:
        """When ``c`` came into Asterisk's queue: as a live caller, and as a placeholder."""
        request = by_number.get(c.number) if c.press else None
        times = [c.joined_at, request.first_waiting_at if request else None]
        if request is not None and request.customer_first:
            times += request.entered("queued")  # the customer, having pressed 1
        return [t for t in times if t is not None]

    def displaced(cy: CallerSeen, tx: float, first: dict[str, tuple[float, str]]) -> bool:  # 7
        return any(
            rank(cz, tx) < rank(cy, tx)
            and any(abs(t - tx) <= OFFER_SLACK for t in entered(cz))
            and abs(first.get(cz.number, (math.inf, ""))[0] - tx) <= OFFER_SLACK
            for cz in ranked
            if cz is not cy and cz.joined_at is not None
        )

    ranked = [c for c in seen.callers.values() if c.joined_at is not None]
    for r in seen.requests:  # a customer first placeholder is never offered
        if not r.customer_first:
            continue
        queued = r.queued_at  # an offer from OFFER_SLACK before it is the customer's own
        for o in seen.offers:
            if o.invite.request_id == r.id and not r.rejoined_by(o.invite.at):
                out.order.append(
                    f"{o.agent} offered customer first request {r.id} ({r.callback_number})"
                    f" at {o.invite.at:.3f}, before its customer joined the queue"
                    + (f" at {queued:.3f}" if queued is not None else " (never)")
                )
    for lo, hi in itertools.pairwise(bounds):  # 5
        first: dict[str, tuple[float, str]] = {}
        for o in sorted(seen.offers, key=lambda o: o.invite.at):
            if lo <= o.invite.at < hi:
                first.setdefault(o.invite.user, (o.invite.at, o.agent))
        for x, (tx, agent) in first.items():
            cx = seen.callers.get(x)
            if cx is None or cx.joined_at is None:
                continue
            for cy in ranked:
                if rank(cy, tx) >= rank(cx, tx):
                    continue
                if not waiting(cy, tx):
                    continue
                ty = first.get(cy.number, (math.inf, ""))[0]
                if hi < tx + OFFER_SLACK:  # 8: the restart cut the burst short
                    continue
                if ty > tx + OFFER_SLACK and not displaced(cy, tx, first):  # 1, 7
                    out.order.append(
                        f"{agent} offered {x} (level {cx.level}, joined {cx.joined_at:.3f})"
                        f" at {tx:.3f} while {cy.number} (level {cy.level}, joined"
                        f" {cy.joined_at:.3f}{rejoined(cy, tx)}) waited; its first offer"
                        + (f" at {ty:.3f}" if ty < math.inf else " never came")
                        + ("" if lo == -math.inf else f" (epoch after the restart at {lo:.3f})")
                    )


def _attempts(seen: Observed, out: Findings) -> None:
    """No attempt consumed by the PBX: placement_failures counts only refusals concerning the
    request itself, and none is possible in the test bed; no request ends as Error. Each
    restart legitimately needs one new placement (attempt + 1), no more."""
    restarts = sum(f.kind is FaultKind.ASTERISK_RESTART for f in seen.faults)
    for r in seen.requests:
        what = f"request {r.id} ({r.callback_number})"
        if r.placement_failures:
            out.attempts.append(f"{what}: placement_failures={r.placement_failures}")
        if r.call_outcome == "Error":
            out.attempts.append(f"{what}: ended Error after {r.attempt} attempts")
        if r.attempt > 1 + restarts:
            out.notes.append(f"{what}: attempt {r.attempt} with {restarts} restart(s)")


def timeline(seen: Observed) -> list[str]:
    """What happened, call by call and in time order, for a failing seed's report."""
    t0 = min(
        [c.joined_at for c in seen.callers.values() if c.joined_at is not None]
        + [f.start for f in seen.faults]
        + [math.inf]
    )
    t0 = 0.0 if t0 == math.inf else t0
    rows: list[tuple[float, str]] = []
    for c in seen.callers.values():
        if c.joined_at is not None:
            rows.append((c.joined_at, f"{c.number} (level {c.level}) joined"))
        if c.pressed_at is not None:
            heard = "success" if c.heard_success else "error" if c.heard_error else "nothing"
            rows.append((c.pressed_at, f"{c.number} pressed 1, heard {heard}"))
        if c.ended_at is not None and not c.press:
            rows.append((c.ended_at, f"{c.number} live call over"))
    for r in seen.requests:
        if r.first_waiting_at is not None:
            rows.append((r.first_waiting_at, f"{r.callback_number} placeholder first joined"))
        if r.customer_first:
            for at in r.entered("calling"):
                rows.append((at, f"{r.callback_number} its turn: calling the customer first"))
            for at in r.entered("queued"):
                rows.append((at, f"{r.callback_number} customer pressed 1, joined the queue"))
        if r.preferred and r.affinity_until is not None:
            rows.append((r.affinity_until, f"{r.callback_number} any agent may take it now"))
        if r.done_at is not None:
            rows.append(
                (r.done_at, f"{r.callback_number} done {r.call_outcome} attempt={r.attempt}"
                 f" placement_failures={r.placement_failures}")
            )  # fmt: skip
    for o in seen.offers:
        rows.append((o.invite.at, f"{o.agent} ({o.behaviour}) offered {o.invite.user}"))
    for d in seen.dials:
        rows.append((d.at, f"carrier dialed {d.to_user}"))
    for f in seen.faults:
        rows.append((f.start, f"FAULT {f.kind} begins"))
        rows.append((f.end, f"FAULT {f.kind} over"))
    return [f"{at - t0:8.3f}s  {what}" for at, what in sorted(rows)]
