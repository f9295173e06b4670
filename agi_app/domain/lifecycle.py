"""How a callback request moves from waiting to its outcome: ``transition(request, event)``.

Pure: it returns the new request and the commands for the adapters to carry out. Events that
do not apply to the current state (late, repeated, from an old placement attempt) change
nothing, so an event delivered twice is harmless.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import get_args

from agi_app.domain.affinity import NOT_TRIED, OVER, RINGING
from agi_app.domain.commands import CallCustomer as CallCustomer
from agi_app.domain.commands import Command as Command  # re-exported: lc.Place, ...
from agi_app.domain.commands import Inform as Inform
from agi_app.domain.commands import Place as Place
from agi_app.domain.commands import RingPreferred as RingPreferred
from agi_app.domain.commands import ScreenPop as ScreenPop
from agi_app.domain.commands import Unplace as Unplace
from agi_app.domain.commands import Withdraw as Withdraw
from agi_app.domain.options import Mode
from agi_app.domain.priority import queue_prio
from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State

IN_QUEUE = frozenset({State.WAITING, State.OFFERED})
MACHINE = "MACHINE"  # AMD()'s AMDSTATUS for an answering machine
# A request that cannot hold a place after this many placements ends in Error.
MAX_ATTEMPTS = 10


# ---- events ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlacementDue:
    """The request has no placeholder in the queue and should have one."""

    at: datetime


@dataclass(frozen=True)
class Joined:
    """The placeholder joined the queue: the callback waits there for an agent.

    From AMI's QueueCallerJoin of the placeholder, or at login, the placeholder found in the
    queue; a pending request of that attempt becomes waiting.
    """

    attempt: int
    at: datetime


@dataclass(frozen=True)
class Offered:
    """An agent's phone rings for the callback (``agent``); the agent gets the screen-pop.

    From AMI's AgentCalled of the placeholder.
    """

    attempt: int
    agent: str  # the member interface, e.g. PJSIP/agent1
    at: datetime


@dataclass(frozen=True)
class Declined:
    """An agent rejected the offer or let it ring out."""

    attempt: int
    agent: str
    available: frozenset[str]  # members able to take a call right now
    at: datetime


@dataclass(frozen=True)
class AgentAnswered:
    """The agent answered: the customer is dialed next.

    From AMI's AgentConnect of the placeholder, or at login, a call found under way or served
    while the service was away (``agent``: the one last offered, if known).
    """

    attempt: int
    agent: str
    at: datetime


@dataclass(frozen=True)
class CustomerDialed:
    """The customer's number is being dialed, the agent waiting on the line.

    From AMI's DialBegin on the customer leg, or at login, that leg's record in AstDB.
    """

    attempt: int
    at: datetime


@dataclass(frozen=True)
class CustomerAnswered:
    """The customer answered and talks to the agent.

    From AMI's DialEnd with ANSWER on the customer leg, or at login, that leg found bridged or
    its record in AstDB.
    """

    attempt: int
    at: datetime


@dataclass(frozen=True)
class AmdVerdict:
    """AMD() judged who answered the customer's phone (the amd option), before the agent is
    connected: ``status`` HUMAN, MACHINE, NOTSURE or HANGUP, ``cause`` why (AMDCAUSE). On a
    machine the dialplan tells the agent (callback/machine-answered) before it connects
    them: they may leave a message.

    From the UserEvent CallbackAmd that the dialplan's [callback-amd] sends.
    """

    attempt: int
    status: str
    cause: str
    at: datetime


@dataclass(frozen=True)
class CustomerDue:
    """Customer first: the placeholder's turn came (fewer callers before it than available
    members, as app_queue counts them): the customer is called now, no agent rung.

    From the service's reading of the queue (QueueStatus) while the placeholder waits.
    """

    attempt: int
    at: datetime


@dataclass(frozen=True)
class HumanCheck:
    """Customer first: the customer's answer to "press 1" (``key``: "" for none).

    From the UserEvent CallbackHumanCheck that [callback-customer-first] sends.
    """

    attempt: int
    key: str
    at: datetime


@dataclass(frozen=True)
class CustomerJoined:
    """Customer first: the customer, having pressed 1, joined the queue at the head of their
    level; their placeholder leaves it.

    From AMI's QueueCallerJoin of the customer's channel.
    """

    attempt: int
    at: datetime


@dataclass(frozen=True)
class CustomerUnreached:
    """The customer was not reached (Dial's ``status``): the agent hears the no-answer prompt;
    the request is retried while it has a retry left (its retries option), else it ends
    Missed Call.

    From AMI's DialEnd with another status than ANSWER on the customer leg, or at login, that
    leg's record in AstDB.
    """

    attempt: int
    status: str  # Dial's DIALSTATUS: NOANSWER, BUSY, CONGESTION, CHANUNAVAIL, ...
    at: datetime


@dataclass(frozen=True)
class CallEnded:
    """The agent-side leg of the placeholder hung up."""

    attempt: int
    at: datetime


@dataclass(frozen=True)
class LeftQueue:
    """The placeholder's Queue() returned without an agent (QUEUESTATUS)."""

    attempt: int
    status: str  # TIMEOUT, WITHDRAW, ...
    at: datetime


@dataclass(frozen=True)
class PlaceholderLost:
    """The placeholder vanished without a result (hung up, Asterisk restarted).

    ``charged``: the placement itself was refused by an Asterisk that was up and ready (the
    request's own problem), which counts towards MAX_ATTEMPTS; the PBX's faults (down,
    shutting down, not booted, AMI lost) and the loss of a placeholder that had its place
    do not.
    """

    attempt: int
    at: datetime
    charged: bool = False


@dataclass(frozen=True)
class Cancelled:
    """A supervisor, an API client, the caller or the service cancelled it: ``by`` as given
    (a supervisor's free text), ``credential`` as proven (web:NAME, api:NAME, phone, service),
    so that a free text cannot pass for someone else's action."""

    by: str
    at: datetime
    credential: str = "service"


@dataclass(frozen=True)
class HoursClosed:
    """Its calling hours are closed: at closing (``expire`` by its at_closing option), or
    found closed when it was due. Carried: held until ``reopens_at`` (None: never)."""

    reopens_at: datetime | None
    expire: bool
    at: datetime


@dataclass(frozen=True)
class Reprioritized:
    """A supervisor moved it to another priority level; it is placed again at its new place."""

    level: int
    by: str
    at: datetime
    credential: str = "service"  # as Cancelled's


@dataclass(frozen=True)
class Disposed:
    """The agent (or a supervisor) set the call's wrap-up code, during the call or after it:
    ``code`` one of the settings' disposition_codes, ``by`` and ``credential`` as for
    Cancelled. Only a callback an agent answered has one; a later one replaces it."""

    code: str
    by: str
    at: datetime
    credential: str = "service"


@dataclass(frozen=True)
class PreferredDue:
    """Agent affinity: the placeholder's turn came and its preferred agent (``agent``: the
    option's, or the one found for `last`) is free: they alone are rung, for ``seconds``, on
    the next attempt's legs ([callback-preferred]); this attempt's placeholder keeps the place.

    From the service's reading of the queue (QueueStatus) while the placeholder waits.
    """

    attempt: int
    agent: str
    seconds: int
    at: datetime


@dataclass(frozen=True)
class AffinityOver:
    """Agent affinity: the preferred agent did not take it (``why``: not a member of the
    queue, busy for affinity_timeout, did not answer, declined): its placeholder goes, and it
    is placed again at its place for any agent.

    From the service's reading of the queue, or the DialEnd of the preferred agent's leg.
    """

    attempt: int
    why: str
    at: datetime


Event = (
    PlacementDue | Cancelled | Reprioritized | HoursClosed | Joined | Offered | Declined
    | AgentAnswered | CustomerDialed | AmdVerdict | CustomerAnswered | CustomerUnreached
    | CallEnded | LeftQueue | PlaceholderLost | CustomerDue | HumanCheck | CustomerJoined
    | Disposed | PreferredDue | AffinityOver
)  # fmt: skip

# Every name the event log holds: the store's own (a request kept, a repeat of one), the
# placer's note of why a placement went where it did, serving's note of the do-not-call
# entry that ended it (serving/calling_rules.py), "Erased" (a person's data erased from the
# request: serving/privacy.py), and each lifecycle event's class.
NOTES = ("Placed", "DoNotCall", "Erased")
EVENT_NAMES = frozenset({"requested", "repeated", *NOTES, *(t.__name__ for t in get_args(Event))})


def _finish(
    request: CallbackRequest, call: CallOutcome, contact: ContactOutcome, *, inform: bool = False
) -> tuple[CallbackRequest, list[Command]]:
    done = replace(request, state=State.DONE, call_outcome=call, contact_outcome=contact)
    if inform and request.timeout_prompt:
        return done, [Inform(done, request.timeout_prompt)]
    return done, []


def _between_dials(request: CallbackRequest) -> bool:
    """A retry is decided and not yet placed (PlacementDue clears ``not_before``)."""
    return request.state is State.PENDING and request.not_before is not None


def _retry(request: CallbackRequest, at: datetime) -> CallbackRequest:
    """The customer was not reached and a retry is left: back to the store for the interval,
    then into the queue at its original place (priority, then original entry time), an agent
    first again. Its wait for an agent is bounded by max_wait again from then."""
    not_before = at + timedelta(seconds=request.retry_interval)
    return replace(
        request,
        state=State.PENDING,
        agent=None,
        declined_by=frozenset(),
        not_before=not_before,
        expires_at=not_before + (request.expires_at - request.requested_at),
    )


def _unanswered(
    request: CallbackRequest, at: datetime, call: CallOutcome, contact: ContactOutcome
) -> CallbackRequest:
    """The customer was not reached on this dial (no answer, a machine, no key): retried
    while a retry is left, else ended with ``call`` and ``contact``."""
    ended = replace(
        request,
        customer_answered_at=None,
        customer_ended_at=at,
        customer_attempts=request.customer_attempts + 1,
    )
    if ended.customer_attempts <= request.retries:
        return _retry(ended, at)
    return _finish(ended, call, contact)[0]


def _closed(request: CallbackRequest, event: HoursClosed) -> tuple[CallbackRequest, list[Command]]:
    """Outside calling hours no agent is rung for it and no customer dialed: it leaves the
    queue and either waits in the store for the opening (its max wait paused meanwhile) or
    expires."""
    state = request.state
    if state not in IN_QUEUE and state is not State.PENDING:
        return request, []  # being served already: the call goes on
    unplace: list[Command] = [Unplace(request)] if state in IN_QUEUE else []
    if event.expire or event.reopens_at is None:
        done, informs = _finish(request, CallOutcome.EXPIRED, ContactOutcome.MISSED, inform=True)
        return done, [*unplace, *informs]
    if request.not_before is not None and request.not_before >= event.reopens_at:
        return request, []  # carried already
    carried = replace(
        request,
        state=State.PENDING,
        agent=None,
        declined_by=frozenset(),
        not_before=event.reopens_at,
        expires_at=request.expires_at + max(event.reopens_at - event.at, timedelta(0)),
        carried_over=request.carried_over + 1,
    )
    return carried, unplace


def transition(request: CallbackRequest, event: Event) -> tuple[CallbackRequest, list[Command]]:
    state = request.state
    if isinstance(event, Disposed):
        if request.agent_answered_at is None:
            return request, []  # no agent took it: nothing to wrap up
        return replace(request, disposition=event.code), []
    if state is State.DONE:
        return request, []
    if isinstance(event, PlacementDue):
        if state is not State.PENDING or (request.not_before and event.at < request.not_before):
            return request, []  # placed already, or held in the store until not_before
        if event.at >= request.expires_at:
            return _finish(request, CallOutcome.EXPIRED, ContactOutcome.MISSED, inform=True)
        if request.placement_failures >= MAX_ATTEMPTS:
            return _finish(request, CallOutcome.ERROR, ContactOutcome.MISSED, inform=True)
        placed = replace(
            request,
            attempt=request.attempt + 1,
            agent=None,
            declined_by=frozenset(),
            not_before=None,
            amd_status="",
            amd_cause="",
            customer_key="",
            customer_joined_at=None,
            # A ring of the preferred agent cut short (closed hours): any agent from now on.
            affinity=OVER if request.affinity == RINGING else request.affinity,
        )
        return placed, [Place(placed)]
    if isinstance(event, Cancelled):
        if state not in IN_QUEUE and state is not State.PENDING:
            return request, []  # being served already: too late to cancel
        done = replace(
            request,
            state=State.DONE,
            call_outcome=CallOutcome.CANCELLED,
            contact_outcome=ContactOutcome.MISSED,
        )
        return done, [Unplace(request)] if state in IN_QUEUE else []
    if isinstance(event, HoursClosed):
        return _closed(request, event)
    if isinstance(event, Reprioritized):
        if state not in IN_QUEUE and state is not State.PENDING:
            return request, []
        queue_prio(event.level)  # refuses a level outside 1..10
        moved = replace(request, priority=event.level)
        # Its placeholder goes; losing it puts the request back, at its new place.
        return moved, [Unplace(request)] if state in IN_QUEUE else []
    if event.attempt != request.attempt:
        return request, []  # from an earlier placement
    if isinstance(event, PreferredDue | AffinityOver) or request.affinity == RINGING:
        return _affinity(request, event)
    if request.mode is Mode.CUSTOMER_FIRST and state not in (State.PENDING, *IN_QUEUE):
        return _customer_first(request, event)
    if request.mode is Mode.CUSTOMER_FIRST and isinstance(event, CustomerDue):
        return _customer_first(request, event)
    return _agent_first(request, event)


def _agent_first(request: CallbackRequest, event: Event) -> tuple[CallbackRequest, list[Command]]:
    """The placeholder's own events (both modes), and agent first's serving."""
    state = request.state
    match event:
        case Joined() if state is State.PENDING:
            return replace(request, state=State.WAITING), []
        case Offered(agent=agent) if state in IN_QUEUE:
            offered = replace(request, state=State.OFFERED, agent=agent)
            return offered, [ScreenPop(offered, agent)]
        case Declined(agent=agent, available=available) if state in IN_QUEUE:
            declined = replace(
                request, state=State.WAITING, agent=None, declined_by=request.declined_by | {agent}
            )
            if available and available <= declined.declined_by:
                # Decided now, not when the placeholder is seen leaving: its leaving may be
                # reported as a plain loss (a hangup first), which would place it again.
                done, informs = _finish(
                    declined, CallOutcome.ABANDONED, ContactOutcome.MISSED, inform=True
                )
                return done, [Withdraw(declined), *informs]
            return declined, []
        case AgentAnswered(agent=agent, at=at) if state in IN_QUEUE or state is State.PENDING:
            return replace(request, state=State.DIALING, agent=agent, agent_answered_at=at), []
        case CustomerDialed(at=at) if state is State.DIALING:
            return replace(request, customer_dialed_at=at), []
        case AmdVerdict(status=status, cause=cause) if state in (State.DIALING, State.CONNECTED):
            # Kept for the outcome; the dialplan has told the agent already.
            return replace(request, amd_status=status, amd_cause=cause), []
        case CustomerAnswered(at=at) if state is State.DIALING:
            return replace(request, state=State.CONNECTED, customer_answered_at=at), []
        case CustomerUnreached(at=at) if state is State.DIALING:
            # The agent hears the no-answer prompt from the dialplan.
            return _unanswered(request, at, CallOutcome.MISSED, ContactOutcome.ANSWERED), []
        case CallEnded(at=at) if state is State.CONNECTED and request.amd_status == MACHINE:
            # A machine took the call: the agent may have left a message, yet the customer
            # was not reached (its answer is not theirs); retried as an unanswered dial is.
            return _unanswered(request, at, CallOutcome.MACHINE, ContactOutcome.ANSWERED), []
        case CallEnded(at=at) if state is State.CONNECTED:
            ended = replace(request, customer_ended_at=at)
            return _finish(ended, CallOutcome.ANSWERED, ContactOutcome.ANSWERED)
        case CallEnded(at=at) if state is State.DIALING:
            # The agent hung up before the customer answered.
            ended = replace(request, customer_ended_at=request.customer_dialed_at and at)
            return _finish(ended, CallOutcome.MISSED, ContactOutcome.ANSWERED)
        case LeftQueue(status="TIMEOUT") if state in IN_QUEUE:
            return _finish(request, CallOutcome.EXPIRED, ContactOutcome.MISSED, inform=True)
        case LeftQueue(status="WITHDRAW") if state in IN_QUEUE:
            return _finish(request, CallOutcome.ABANDONED, ContactOutcome.MISSED, inform=True)
        case PlaceholderLost() | LeftQueue() if _between_dials(request):
            return request, []  # its last placeholder ending after the retry was decided
        case PlaceholderLost(charged=charged) if state in IN_QUEUE or state is State.PENDING:
            # Lost its place without a decision: put it back (PlacementDue follows).
            failures = request.placement_failures + (1 if charged else 0)
            return replace(
                request, state=State.PENDING, agent=None, placement_failures=failures
            ), []
        case LeftQueue() if state in IN_QUEUE or state is State.PENDING:
            return replace(request, state=State.PENDING, agent=None), []
    return request, []


def _holder(request: CallbackRequest) -> CallbackRequest:
    """While the preferred agent rings (on attempt N), the placeholder of attempt N - 1 that
    keeps the place: what Unplace takes out once the ring is over."""
    return replace(request, attempt=request.attempt - 1, affinity=NOT_TRIED)


def _affinity(request: CallbackRequest, event: Event) -> tuple[CallbackRequest, list[Command]]:
    """Agent affinity: at its turn the preferred agent alone is rung; once they answer it goes
    on as agent first, and if not, it is placed again at its place, for any agent."""
    state = request.state
    ringing = request.affinity == RINGING and state is State.OFFERED
    match event:
        case PreferredDue(agent=agent, seconds=seconds) if (
            state is State.WAITING and request.affinity == NOT_TRIED
        ):
            rung = replace(
                request, state=State.OFFERED, attempt=request.attempt + 1, agent=agent,
                affinity=RINGING,
            )  # fmt: skip
            return rung, [RingPreferred(rung, agent, seconds), ScreenPop(rung, agent)]
        case AffinityOver() if state is State.WAITING and request.affinity == NOT_TRIED:
            # Its placeholder goes; losing it puts the request back, at its place.
            return replace(request, state=State.PENDING, affinity=OVER), [Unplace(request)]
        case AgentAnswered(at=at) if ringing:
            answered = replace(request, state=State.DIALING, agent_answered_at=at, affinity=OVER)
            return answered, [Unplace(_holder(request))]  # its place is taken: by this agent
        case AffinityOver() | PlaceholderLost() | LeftQueue() if ringing:
            # Not answered, declined, or the ring's leg could not be made: any agent now.
            over = replace(request, state=State.PENDING, agent=None, affinity=OVER)
            return over, [Unplace(_holder(request))]
    if ringing:
        return request, []  # anything else while the preferred agent rings
    return _agent_first(request, event)


def _customer_first(
    request: CallbackRequest, event: Event
) -> tuple[CallbackRequest, list[Command]]:
    """Customer first, from its turn on: the customer called and checked (CALLING), waiting
    on the line for an agent (QUEUED), then talking (CONNECTED). Its placeholder keeps the
    turn until the customer joins the queue, and leaves then, or when the call fails."""
    state = request.state
    match event:
        case CustomerDue(at=at) if state is State.WAITING:
            calling = replace(request, state=State.CALLING, customer_dialed_at=at)
            return calling, [CallCustomer(calling)]
        case CustomerAnswered(at=at) if state is State.CALLING:
            return replace(request, customer_answered_at=at), []
        case AmdVerdict(status=status, cause=cause) if state is State.CALLING:
            return replace(request, amd_status=status, amd_cause=cause), []
        case HumanCheck(key=key) if state is State.CALLING:
            return replace(request, customer_key=key), []
        case CustomerJoined(at=at) if state is State.CALLING:
            joined = replace(request, state=State.QUEUED, customer_joined_at=at)
            return joined, [Unplace(request)]  # one place: theirs now
        case CustomerUnreached(at=at) | CallEnded(at=at) if state is State.CALLING:
            # Not answered, a machine, or no key 1: as an unanswered dial, retried or ended;
            # the placeholder gives up its turn meanwhile.
            call = CallOutcome.MACHINE if request.amd_status == MACHINE else CallOutcome.MISSED
            return _unanswered(request, at, call, ContactOutcome.MISSED), [Unplace(request)]
        case Offered(agent=agent) if state is State.QUEUED:
            offered = replace(request, agent=agent)
            return offered, [ScreenPop(offered, agent)]
        case Declined() if state is State.QUEUED:
            return replace(request, agent=None), []  # app_queue rings the next agent
        case AgentAnswered(agent=agent, at=at) if state is State.QUEUED:
            return replace(request, state=State.CONNECTED, agent=agent, agent_answered_at=at), []
        case CallEnded(at=at) if state is State.QUEUED:
            # They said yes, then hung up before an agent came: customer first's own loss.
            ended = replace(request, customer_ended_at=at)
            return _finish(ended, CallOutcome.ABANDONED, ContactOutcome.MISSED)
        case CallEnded(at=at) if state is State.CONNECTED:
            ended = replace(request, customer_ended_at=at)
            return _finish(ended, CallOutcome.ANSWERED, ContactOutcome.ANSWERED)
    return request, []  # the placeholder's end, and anything late or out of turn
