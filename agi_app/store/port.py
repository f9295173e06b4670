"""What serving asks of a store of callback requests, whatever keeps them.

agi_app.store.sqlite.store.Store (SQLite) is the one the service runs on; tests/integration/
test_store_contract.py states the behaviour every implementation must have.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.domain.event_log import Event, LoggedEvent
from agi_app.domain.offer import OfferCheck
from agi_app.domain.request import CallbackRequest, RateLimits, State


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's Idempotency-Key (request API): one per credential, with the SHA-256 of the
    body it first came with."""

    credential: str
    key: str
    body_sha256: str


@dataclass(frozen=True)
class KeptAnswer:
    """What a key was answered with: the request it stored (201) or found (200, a repeat)."""

    body_sha256: str
    request_id: str
    status: int
    created_at: datetime


# A repeat of an active request is noted (a "repeated" event) only when the request's last
# "repeated" event is older than this: a client (or a caller) repeating one request in a loop
# cannot grow the event log, which is the webhooks' outbox, by more than a row per window.
REPEAT_NOTED_EVERY = timedelta(minutes=10)


class StaleUpdate(Exception):
    """The request changed since it was read: reload and decide again."""


class RequestStore(Protocol):
    async def add(
        self, request: CallbackRequest, limits: RateLimits | None = None
    ) -> CallbackRequest:
        """Keep a new request durably, with its "requested" event, or return the one it repeats.

        It repeats a stored request from the same channel (a retried AGI session), or an active
        one (not done) for the same callback number and queue: one active callback per
        (number, queue), and it keeps its place; a repeat from another channel gets a
        "repeated" event, unless the request got one within REPEAT_NOTED_EVERY. A new request
        beyond ``limits`` (requests within the window from its caller number, withheld ones
        not counted, or to its callback number) raises RateLimited; a repeat is answered even
        then. Counting and adding are one step.
        """
        ...

    async def save(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        event: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write ``after`` and its event together, only if the stored request still has the
        state and attempt of ``before``; otherwise raise StaleUpdate and change nothing."""
        ...

    async def note(
        self, request: CallbackRequest, event: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        """An event that changes nothing in the request (a placement's reasons)."""
        ...

    async def get(self, request_id: str) -> CallbackRequest | None: ...

    async def requests(self, *states: State) -> list[CallbackRequest]:
        """Those in ``states`` (all without any) in serving order: priority level, then
        queue entry, then request time."""
        ...

    # The periodic loops read only the few requests they act on, not every waiting one: with
    # thousands held (calling hours closed), making each a CallbackRequest every second or
    # two was most of the service's CPU (issue 31). Each at least one state, in serving order.

    async def requests_with_customer_hours(self, *states: State) -> list[CallbackRequest]:
        """Those in ``states`` whose customer has hours of their own (``customer_hours``
        set): the calling rules' sweep closes them when those hours close."""
        ...

    async def requests_awaiting_turn(self, *states: State) -> list[CallbackRequest]:
        """Those in ``states`` whose turn the turn check watches: customer first, or
        waiting for their preferred agent (agi_app.domain.affinity.waits_for_preferred:
        a preferred agent, its affinity not tried yet)."""
        ...

    async def events(self, request_id: str) -> list[Event]:
        """The request's event log, oldest first."""
        ...

    async def request_events(self, request_id: str, after: int, limit: int) -> list[LoggedEvent]:
        """A page of the request's event log: its rows after seq ``after``, oldest first, at
        most ``limit``."""
        ...

    async def record_offer_check(self, check: OfferCheck) -> None:
        """Keep one offer check for the report (it changes no request)."""
        ...

    async def offer_checks(self, since: datetime | None = None) -> list[OfferCheck]:
        """The offer checks (at or after ``since``), oldest first."""
        ...

    async def do_not_call(self) -> list[DoNotCallEntry]:
        """The do-not-call entries the command line and the API added, by entry."""
        ...

    async def add_do_not_call(self, entry: DoNotCallEntry) -> bool:
        """Keep ``entry``; False when it is there already (left as it was)."""
        ...

    async def remove_do_not_call(self, entry: str) -> bool:
        """False when there was no such entry."""
        ...

    async def active_for(self, number: str, queue: str) -> list[CallbackRequest]:
        """The requests of ``queue`` not done yet that were asked from ``number`` or call it
        back (caller number or callback number), in serving order; none for an empty
        number (a withheld caller is nobody in particular)."""
        ...

    async def last_agent(self, number: str) -> str | None:
        """Agent affinity (preferred_agent=last): the agent of the newest done request
        calling back ``number`` that an agent answered (any queue or server); None if none."""
        ...

    async def kept_answer(
        self, credential: str, key: str, since: datetime | None = None
    ) -> KeptAnswer | None:
        """The answer kept for a credential's idempotency key, if any and kept at or after
        ``since`` (an older one has expired)."""
        ...

    async def add_once(
        self,
        request: CallbackRequest,
        limits: RateLimits | None,
        key: IdempotencyKey,
        since: datetime | None = None,
    ) -> tuple[CallbackRequest, KeptAnswer]:
        """``add`` and the key's answer in one step: a key kept already (however close the
        two calls came) adds nothing and gives its request and answer back, whatever its
        body was (the caller compares ``body_sha256``). A refusal (RateLimited) keeps no key.
        Keys kept before ``since`` have expired: this step purges them (every credential's),
        and an expired key is free again."""
        ...


# Webhooks: the event log is the outbox (agi_app/webhooks/delivery.py). Each row has its place
# in the
# log (seq, increasing in commit order); each subscription keeps the last seq it delivered or
# gave up (its cursor), and every delivery attempt is recorded.


# Attempts kept per webhook subscription (agi-callback webhooks shows the latest): a receiver
# down for days would otherwise grow the table without end.
ATTEMPTS_KEPT = 10_000


# The outcomes that move a subscription's cursor past the event.
ADVANCES = ("delivered", "gave_up")


def prune_every(keep: int) -> int:
    """Old attempts are removed when an attempt's id is a multiple of this."""
    return max(1, keep // 10)


@dataclass(frozen=True)
class WebhookAttempt:
    subscription: str
    seq: int
    at: datetime
    outcome: str  # "delivered", "failed" (retried later) or "gave_up" (past max_age)
    status: int | None = None  # the receiver's HTTP status, if it answered
    error: str | None = None


class WebhookOutbox(Protocol):
    async def get(self, request_id: str) -> CallbackRequest | None: ...

    async def events_after(self, seq: int, limit: int) -> list[LoggedEvent]:
        """The log rows after ``seq``, oldest first, at most ``limit``; only committed ones."""
        ...

    async def last_event_seq(self) -> int:
        """The seq of the newest log row (0: none)."""
        ...

    async def count_events_after(self, seq: int, names: frozenset[str] | None = None) -> int:
        """How many rows come after ``seq`` (named one of ``names``, if given)."""
        ...

    async def start_webhook(self, subscription: str, seq: int) -> int:
        """The subscription's cursor; a subscription without one starts at ``seq``."""
        ...

    async def webhook_cursor(self, subscription: str) -> int | None: ...

    async def advance_webhook(self, subscription: str, seq: int) -> None:
        """Move the cursor forward to ``seq`` (rows the subscription does not want)."""
        ...

    async def record_webhook_attempt(
        self, attempt: WebhookAttempt, keep: int = ATTEMPTS_KEPT
    ) -> None:
        """Keep the attempt; "delivered" and "gave_up" also move the cursor to its seq, in
        the same transaction (never backwards). Of the subscription's attempts, the latest
        ``keep`` are kept (older ones are removed now and then: at most a tenth more)."""
        ...

    async def webhook_attempts(self, subscription: str, limit: int) -> list[WebhookAttempt]:
        """The subscription's latest attempts, newest first."""
        ...


class PersonalData(Protocol):
    """Personal data removed (agi_app/serving/privacy.py): found by age or by number, then
    each request rewritten with its event log's details, in one transaction."""

    async def done_before(self, before: datetime, limit: int) -> list[CallbackRequest]:
        """Done requests last changed before ``before`` whose callback number is no pseudonym
        yet (agi_app.domain.privacy), the oldest change first, at most ``limit``."""
        ...

    async def of_numbers(self, numbers: frozenset[str]) -> list[CallbackRequest]:
        """Every request (any state, queue or server) asked from or calling back one of
        ``numbers``."""
        ...

    async def rewrite_personal(
        self,
        before: CallbackRequest,
        after: CallbackRequest,
        details: dict[int, dict[str, Any]],
        event: tuple[str, datetime, dict[str, Any]] | None = None,
    ) -> None:
        """In one transaction: ``after`` written (its fields, not its last change time) only
        if the stored request still has the state and attempt of ``before`` (else
        StaleUpdate, nothing changed); the details of its event log rows by seq (rows of
        other requests are left alone); its idempotency keys removed; and ``event`` (name,
        time, detail) added to its log, if given."""
        ...
