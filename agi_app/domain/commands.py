"""What a lifecycle transition asks the adapters to do (agi_app.domain.lifecycle)."""

from dataclasses import dataclass

from agi_app.domain.request import CallbackRequest


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


@dataclass(frozen=True)
class CallCustomer:
    """Customer first: call the customer now, no agent rung ([callback-customer-first])."""

    request: CallbackRequest


@dataclass(frozen=True)
class RingPreferred:
    """Agent affinity: ring the preferred agent alone for ``seconds``, on a leg of its own
    ([callback-preferred]); the customer is dialed once they answer, as in agent first.
    The placeholder keeps the place meanwhile (``request.attempt - 1``)."""

    request: CallbackRequest
    agent: str
    seconds: int


Command = Place | ScreenPop | Withdraw | Unplace | Inform | CallCustomer | RingPreferred
