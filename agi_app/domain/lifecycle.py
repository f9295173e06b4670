"""How a callback request moves from waiting to its outcome: ``transition(request, event)``.

Pure: it returns the new request and the commands for the adapters to carry out. Events that
do not apply to the current state (late, repeated, from an old placement attempt) change
nothing, so an event delivered twice is harmless.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from agi_app.domain.priority import queue_prio
from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State

IN_QUEUE = frozenset({State.WAITING, State.OFFERED})
# A request that cannot hold a place after this many placements ends in Error.
MAX_ATTEMPTS = 10


# ---- events ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlacementDue:
    """The request has no placeholder in the queue and should have one."""

    at: datetime


@dataclass(frozen=True)
class Joined:
    attempt: int
    at: datetime


@dataclass(frozen=True)
class Offered:
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
    attempt: int
    agent: str
    at: datetime


@dataclass(frozen=True)
class CustomerDialed:
    attempt: int
    at: datetime


@dataclass(frozen=True)
class CustomerAnswered:
    attempt: int
    at: datetime


@dataclass(frozen=True)
class CustomerUnreached:
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
    """A supervisor cancelled it (``by`` says who)."""

    by: str
    at: datetime


@dataclass(frozen=True)
class Reprioritized:
    """A supervisor moved it to another priority level; it is placed again at its new place."""

    level: int
    by: str
    at: datetime


Event = (
    PlacementDue | Cancelled | Reprioritized | Joined | Offered | Declined | AgentAnswered
    | CustomerDialed | CustomerAnswered | CustomerUnreached | CallEnded | LeftQueue
    | PlaceholderLost
)  # fmt: skip


# ---- commands -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """Put a placeholder for this attempt in the queue."""

    request: CallbackRequest


@dataclass(frozen=True)
class ScreenPop:
    request: CallbackRequest
    agent: str


@dataclass(frozen=True)
class Withdraw:
    request: CallbackRequest


@dataclass(frozen=True)
class Unplace:
    """Take its placeholder out of the queue (hang it up): no outcome by itself."""

    request: CallbackRequest


@dataclass(frozen=True)
class Inform:
    """Call the customer and play the informative message."""

    request: CallbackRequest
    prompt: str


Command = Place | ScreenPop | Withdraw | Unplace | Inform


def _finish(
    request: CallbackRequest, call: CallOutcome, contact: ContactOutcome, *, inform: bool = False
) -> tuple[CallbackRequest, list[Command]]:
    done = replace(request, state=State.DONE, call_outcome=call, contact_outcome=contact)
    if inform and request.timeout_prompt:
        return done, [Inform(done, request.timeout_prompt)]
    return done, []


def transition(request: CallbackRequest, event: Event) -> tuple[CallbackRequest, list[Command]]:
    state = request.state
    if state is State.DONE:
        return request, []
    if isinstance(event, PlacementDue):
        if state is not State.PENDING:
            return request, []
        if event.at >= request.expires_at:
            return _finish(request, CallOutcome.EXPIRED, ContactOutcome.MISSED, inform=True)
        if request.placement_failures >= MAX_ATTEMPTS:
            return _finish(request, CallOutcome.ERROR, ContactOutcome.MISSED, inform=True)
        placed = replace(request, attempt=request.attempt + 1, agent=None, declined_by=frozenset())
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
    if isinstance(event, Reprioritized):
        if state not in IN_QUEUE and state is not State.PENDING:
            return request, []
        queue_prio(event.level)  # refuses a level outside 1..10
        moved = replace(request, priority=event.level)
        # Its placeholder goes; losing it puts the request back, at its new place.
        return moved, [Unplace(request)] if state in IN_QUEUE else []
    if event.attempt != request.attempt:
        return request, []  # from an earlier placement

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
        case CustomerAnswered(at=at) if state is State.DIALING:
            return replace(request, state=State.CONNECTED, customer_answered_at=at), []
        case CustomerUnreached(at=at) if state is State.DIALING:
            # The agent hears the no-answer prompt from the dialplan.
            ended = replace(request, customer_ended_at=at)
            return _finish(ended, CallOutcome.MISSED, ContactOutcome.ANSWERED)
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
        case PlaceholderLost(charged=charged) if state in IN_QUEUE or state is State.PENDING:
            # Lost its place without a decision: put it back (PlacementDue follows).
            failures = request.placement_failures + (1 if charged else 0)
            return replace(
                request, state=State.PENDING, agent=None, placement_failures=failures
            ), []
        case LeftQueue() if state in IN_QUEUE or state is State.PENDING:
            return replace(request, state=State.PENDING, agent=None), []
    return request, []
