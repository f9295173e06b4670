"""Serving callbacks: AMI events -> domain events -> transitions -> store -> AMI actions.

One task consumes AMI events in order and applies each to its request under one lock, so a
request's transitions never interleave. Which event means what is one table, ``_HANDLERS``.
"""

import asyncio
import base64
import contextlib
import itertools
import logging
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from panoramisk.message import Message

from agi_app.ami import Ami, AmiError, Fields, PbxUnavailable, originate_variables
from agi_app.backoff import Backoff
from agi_app.channel_ids import ChannelRef, Leg, channel_id, parse_channel_id
from agi_app.domain import lifecycle as lc
from agi_app.domain.numbers import dialable
from agi_app.domain.placement import HeldRequests, QueuedCall, QueueOrder, serving_key
from agi_app.domain.priority import queue_prio
from agi_app.domain.request import CallbackRequest, State
from agi_app.errors import CallbackError, StoreUnavailable
from agi_app.metrics import WAITING_STATES, Metrics
from agi_app.settings import Settings
from agi_app.store import StaleUpdate, Store

log = logging.getLogger(__name__)

# Queue member Status values of a member that can take a call now (unknown, not in use,
# ringing): the rest are in use, busy, unavailable or invalid.
_FREE_MEMBER_STATUS = frozenset({"0", "1", "6"})
_REPLACE_DELAY_S = 1.0
_JOIN_WAIT_S = 5.0
_ORDER_REFRESH_S = 5.0
_JOIN_TIMES_KEPT = 10_000
_EVENT_TRIES = 5  # an event that fails for a reason other than the store, then dropped


def _screen_pop_fields(request: CallbackRequest, agent: str) -> dict[str, object]:
    return {
        "RequestId": request.id,
        "CallerName": request.caller_name,
        "CallerNumber": request.caller_number,
        "CallbackNumber": request.callback_number,
        "Extension": request.extension or "",
        "RequestedAt": request.requested_at.isoformat(),
        "Queue": request.queue,
        "DialedNumber": request.dialed_number,
        "Priority": request.priority,
        "Agent": agent,
    }


def _epoch(text: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        return None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class JoinTimes:
    """When each live caller entered a queue, as seen on AMI (exact, unlike QUEUEWAIT)."""

    def __init__(self) -> None:
        self._times: OrderedDict[str, datetime] = OrderedDict()

    def record(self, uniqueid: str, at: datetime) -> None:
        self._times[uniqueid] = at
        while len(self._times) > _JOIN_TIMES_KEPT:
            self._times.popitem(last=False)

    def get(self, uniqueid: str) -> datetime | None:
        return self._times.get(uniqueid)


class Serving:
    def __init__(
        self,
        store: Store,
        ami: Ami,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        # Watchers (the Live view) wait on this; it is replaced after each change.
        self.changed = asyncio.Event()
        # What each agent's phone is ringing for right now: agent interface -> request id.
        self.screen_pops: dict[str, str] = {}
        self._store = store
        self._ami = ami
        self._settings = settings
        self._rules = settings.number_rules()
        self._clock = clock
        self._lock = asyncio.Lock()
        self.join_times = JoinTimes()
        # Requests to place, with the loop time before which not to.
        self._due: dict[str, float] = {}
        self._wake = asyncio.Event()
        # During a batch of placements: each queue's order, read from Asterisk once.
        self._orders: dict[str, QueueOrder] = {}
        self._orders_read_at = 0.0
        # Requests waiting in the store beyond the placement window (HeldRequests).
        self._held = HeldRequests()
        self._joined: dict[str, asyncio.Event] = {}
        # Head of line: queue -> loop time before which none of its requests is placed, and
        # whether the batch's last placement failed (the batch stops there).
        self._paused: dict[str, float] = {}
        self._placement_failed = False
        # Set once resume() made the store agree with Asterisk; cleared when AMI is lost.
        self.synced = asyncio.Event()
        self._syncs = 0  # resume() runs so far: a batch from before one is stale
        self._logins = 0  # resume() calls so far: a newer one supersedes a retrying one
        self._handlers: dict[str, Callable[[Message], Awaitable[None]]] = {
            "QueueCallerJoin": self._on_join,
            "QueueCallerLeave": self._on_leave,
            "AgentCalled": self._on_agent_called,
            "AgentRingNoAnswer": self._on_agent_ring_no_answer,
            "AgentConnect": self._on_agent_connect,
            "DialBegin": self._on_dial_begin,
            "DialEnd": self._on_dial_end,
            "Hangup": self._on_hangup,
            "UserEvent": self._on_user_event,
            "OriginateResponse": self._on_originate_response,
        }

    @property
    def held_count(self) -> int:
        """Requests waiting in the store beyond the placement window."""
        return len(self._held)

    # ---- entry points ----------------------------------------------------------------------
    async def run(self) -> None:
        """Consume AMI events and place what is due, until cancelled."""
        async with asyncio.TaskGroup() as tasks:  # one ends: both end, and run() says why
            tasks.create_task(self._consume_events())
            tasks.create_task(self._place_forever())

    async def _consume_events(self) -> None:
        while True:
            message = await self._ami.events.get()
            handler = self._handlers.get(str(message.get("Event", "")))
            if handler is not None:
                await self._handle(handler, message)

    async def _handle(self, handler: Callable[[Message], Awaitable[None]], msg: Message) -> None:
        """Apply one event, waiting out a store that refuses (locked, full): the events
        behind it queue up rather than overtake it. Applying twice is harmless (a repeated
        event changes nothing). Any other error is retried a few times, then dropped."""
        name = msg.get("Event")
        backoff = Backoff()
        for tries in itertools.count(1):
            try:
                await handler(msg)
                return
            except StoreUnavailable as exc:
                delay = backoff.delay()
                log.warning("serving %s: %s; retrying in %.1fs", name, exc, delay)
            except Exception:
                if tries >= _EVENT_TRIES:
                    log.exception("serving %s failed %s times; event dropped", name, tries)
                    return
                delay = backoff.delay()
                log.exception("serving %s failed; retrying in %.1fs", name, delay)
            await asyncio.sleep(delay)

    async def request_stored(self, request: CallbackRequest) -> None:
        self._mark_due(request.id)
        await self.note_stored(request)

    async def resume(self) -> None:
        """After (re)connecting: make the store agree with Asterisk, then place what is due.

        Retried with backoff while it fails (a locked store): until it succeeds nothing is
        placed, so it must not give up while this login lasts. A newer login's resume
        supersedes it.
        """
        self._logins += 1
        login = self._logins
        backoff = Backoff()
        while login == self._logins:
            try:
                await self._resume()
                return
            except AmiError as exc:
                log.warning("resume interrupted (%s); it runs again at the next login", exc)
                return
            except Exception:
                delay = backoff.delay()
                log.exception("resume failed; retrying in %.1fs", delay)
                await asyncio.sleep(delay)

    async def _resume(self) -> None:
        """Events were lost while we were away. A placeholder still in its queue is kept (never
        placed twice); a customer leg still up goes on reporting; one that ended meanwhile
        left its outcome in AstDB; anything else lost its place and is placed again, one at a
        time in serving order so that each sees the ones before it.
        """
        active = await self._store.requests(
            State.PENDING, State.WAITING, State.OFFERED, State.DIALING, State.CONNECTED
        )
        await self._until_booted()
        await self._until_queues_answer()
        queued = {
            str(entry.get("Uniqueid"))
            for queue in {r.queue for r in active}
            for entry in await self._queue_status(queue)
            if entry.get("Event") == "QueueEntry"
        }
        channels = {
            str(m.get("Uniqueid")): m
            for m in await self._ami.send_list({"Action": "CoreShowChannels"})
            if m.get("Event") == "CoreShowChannel"
        }
        for request in active:
            await self._reconcile(request, queued, channels)
        self.metrics.recount(await self._store.requests(*WAITING_STATES))
        pending = await self._store.requests(State.PENDING)
        for request in pending:
            self._mark_due(request.id)
        self._syncs += 1
        self.synced.set()
        log.info("resume done: %s active, %s to place", len(active), len(pending))

    async def _until_booted(self, within: float = 30.0) -> None:
        """Right after a start, AMI answers before Asterisk has loaded everything: placements
        then fail or join late. FullyBooted (sent at login once booted) says it is ready."""
        try:
            await asyncio.wait_for(self._ami.booted.wait(), within)
        except TimeoutError:
            if not self._ami.ready.is_set():
                raise PbxUnavailable("AMI lost before Asterisk booted") from None
            log.warning(
                "no FullyBooted from Asterisk within %ss (does the AMI account read 'system'?);"
                " going on once app_queue answers",
                within,
            )
            self._ami.booted.set()

    async def _until_queues_answer(self, within: float = 30.0) -> None:
        """Right after Asterisk starts, AMI logs in before app_queue answers: wait for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                await self._ami.send_list({"Action": "QueueStatus", "Queue": "-"}, timeout=1.0)
                return
            except AmiError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def _reconcile(
        self, request: CallbackRequest, queued: set[str], up: dict[str, Message]
    ) -> None:
        now = self._clock()
        attempt = request.attempt
        placeholder = channel_id(request.id, attempt, Leg.PLACEHOLDER)
        customer_leg = channel_id(request.id, attempt, Leg.CUSTOMER)
        if attempt == 0:
            return  # never placed: placement follows
        if placeholder in queued:
            await self.apply(request.id, lc.Joined(attempt, now))  # if not yet known
        elif customer_leg in up and placeholder in up:
            # An agent took it while we were away; the leg is bridged once the customer answered.
            if request.state in (State.PENDING, State.WAITING, State.OFFERED):
                await self.apply(request.id, lc.AgentAnswered(attempt, request.agent or "", now))
            if up[customer_leg].get("BridgeId"):
                await self.apply(request.id, lc.CustomerAnswered(attempt, now))
        elif request.state in (State.DIALING, State.CONNECTED):
            await self._recover_leg(request)
        elif (record := await self._leg_record(request.id)) and record[0] == str(attempt):
            # Served from start to end while we were away.
            await self.apply(request.id, lc.AgentAnswered(attempt, request.agent or "", now))
            await self._recover_leg(request, record)
        else:
            await self.apply(request.id, lc.PlaceholderLost(request.attempt, now))

    async def _recover_leg(self, request: CallbackRequest, record: list[str] | None = None) -> None:
        """The customer leg ended while we were away: read how from AstDB."""
        record = record or await self._leg_record(request.id)
        now = self._clock()
        attempt = request.attempt
        if record is None or record[0] != str(attempt):
            log.warning("callback %s: customer leg ended unseen, no record", request.id)
            await self.apply(request.id, lc.CallEnded(attempt, now))
            return
        _, dialed, status, answered, ended = record
        ended_at = _epoch(ended) or now
        if _epoch(dialed):
            await self.apply(request.id, lc.CustomerDialed(attempt, _epoch(dialed) or now))
        if status == "ANSWER":
            talk = timedelta(seconds=float(answered or 0))
            await self.apply(request.id, lc.CustomerAnswered(attempt, ended_at - talk))
            await self.apply(request.id, lc.CallEnded(attempt, ended_at))
        elif status:
            await self.apply(request.id, lc.CustomerUnreached(attempt, status, ended_at))
        else:
            await self.apply(request.id, lc.CallEnded(attempt, ended_at))

    async def _leg_record(self, request_id: str) -> list[str] | None:
        try:
            messages = await self._ami.send_list(
                {"Action": "DBGet", "Family": "callback", "Key": request_id}
            )
        except AmiError:
            return None
        for message in messages:
            if message.get("Event") == "DBGetResponse":
                parts = str(message.get("Val", "")).split("|")
                return parts if len(parts) == 5 else None
        return None

    # ---- placement: one worker, one placeholder at a time ---------------------------------
    def _mark_due(self, request_id: str, delay: float = 0.0) -> None:
        not_before = asyncio.get_running_loop().time() + delay
        self._due[request_id] = min(self._due.get(request_id, not_before), not_before)
        self._wake.set()

    async def _place_forever(self) -> None:
        """Place due requests in serving order, each after the one before is in its queue.

        The only place that starts placements, so a request never has two in flight, and
        every position is computed from a queue that holds the placeholders placed before.
        """
        loop = asyncio.get_running_loop()
        backoff = Backoff()
        while True:
            await self.synced.wait()
            await self._ami.booted.wait()
            now = loop.time()
            ready = [rid for rid, not_before in self._due.items() if not_before <= now]
            if not ready:
                self._wake.clear()
                wait = min(self._due.values()) - now if self._due else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            left = set(ready)  # not yet placed or held by this batch
            try:
                await self._place_batch(ready, left)
                backoff.reset()
            except Exception as exc:
                # A locked or full store, a bug: never the end of placing. What this batch
                # did not get to is due again after a pause, in serving order as ever.
                delay = backoff.delay()
                log.error("placement failed (%s); %s retried in %.1fs", exc, len(left), delay)
                log.debug("placement failure", exc_info=True)
                for request_id in left:
                    self._mark_due(request_id, delay)

    async def _place_batch(self, ready: list[str], left: set[str]) -> None:
        loop = asyncio.get_running_loop()
        requests = [r for r in [await self._store.get(rid) for rid in ready] if r is not None]
        left.intersection_update(r.id for r in requests)  # gone from the store: nothing to do
        for request_id in ready:
            if request_id not in left:
                self._due.pop(request_id, None)
        self._orders.clear()  # each batch starts from the queues as Asterisk has them
        full: set[str] = set()  # queues where this batch held one: all after it wait too
        synced_at = self._syncs
        self._placement_failed = False
        for request in sorted(requests, key=serving_key):
            if not self.synced.is_set() or self._syncs != synced_at or not self._ami.healthy:
                break  # AMI was lost: the rest wait for resume(), which marks them due again
            if self._placement_failed:
                break  # head of line: the rest wait until the failed one is placed again
            if (paused := self._paused.get(request.queue, 0.0)) > loop.time():
                # One ahead of it in this queue lost its placeholder and is placed again
                # shortly: nobody behind it may be placed (and taken) meanwhile.
                self._due[request.id] = paused
                left.discard(request.id)
                continue
            self._due.pop(request.id, None)
            if loop.time() - self._orders_read_at > _ORDER_REFRESH_S:
                self._orders.clear()  # live callers come and go meanwhile
            if request.queue in full or await self._beyond_window(request):
                self._hold(request)
                full.add(request.queue)
            elif (why := dialable(request.callback_number, self._rules)) is not None:
                # Stored under an earlier, wider policy: no agent is rung for it.
                await self.apply(
                    request.id, lc.Cancelled(f"destination policy: {why}", self._clock())
                )
            else:
                self._held.release(request.id)
                await self.apply(request.id, lc.PlacementDue(self._clock()))
            left.discard(request.id)
        for request_id in left:  # after a failed placement: due with it, sorted behind it
            self._due[request_id] = loop.time() + _REPLACE_DELAY_S
        left.clear()
        self._release_into_room()
        self.metrics.held_counts(self._held.counts())

    async def _beyond_window(self, request: CallbackRequest) -> bool:
        """Too many calls ahead of it to need a placeholder yet (settings.placement_window)."""
        if request.state is not State.PENDING or request.expires_at <= self._clock():
            return False  # an expired request is placed to leave by Queue()'s own timeout
        try:
            order = await self._queue_order(request.queue)
        except AmiError:
            return False  # placing it fails the usual way, and it is placed again later
        ahead = order.position(request) - 1 + self._held.ahead_of(request)
        return ahead >= self._settings.placement_window

    def _hold(self, request: CallbackRequest) -> None:
        self._held.hold(request)
        # Placed when room opens near the head, or at its max wait at the latest.
        self._mark_due(request.id, (request.expires_at - self._clock()).total_seconds())

    def _release_into_room(self) -> None:
        """Let held requests be placed where their queue has room within the window."""
        for queue in self._held.queues():
            order = self._orders.get(queue)
            room = self._settings.placement_window - len(order) if order is not None else 0
            for request_id in self._held.first(queue, room):
                self._unhold(request_id)

    def _unhold(self, request_id: str) -> None:
        """Out of the store's waiting room, to be placed (or held again) at the next batch."""
        self._held.release(request_id)
        self._mark_due(request_id)

    async def _queue_order(self, queue: str) -> QueueOrder:
        order = self._orders.get(queue)
        if order is None:
            order = QueueOrder(await self._queued_calls(queue))
            self._orders[queue] = order
            self._orders_read_at = asyncio.get_running_loop().time()
        return order

    # ---- the one place where requests change -----------------------------------------------
    async def apply(self, request_id: str, event: lc.Event) -> None:
        async with self._lock:
            before = await self._store.get(request_id)
            if before is None:
                return
            after, commands = lc.transition(before, event)
            lost = isinstance(event, lc.PlaceholderLost) and event.attempt == before.attempt
            if lost and after.state is State.PENDING:
                self._mark_due(request_id, _REPLACE_DELAY_S)  # place it again, shortly
                self._pause(after.queue, _REPLACE_DELAY_S)
            if after == before:
                return
            detail = {k: v for k, v in asdict(event).items() if k not in ("at",)}
            detail = {k: sorted(v) if isinstance(v, frozenset) else v for k, v in detail.items()}
            try:
                await self._store.save(before, after, type(event).__name__, event.at, detail)
            except StaleUpdate:
                log.warning("request %s changed meanwhile; event %s dropped", request_id, event)
                return
            if after.state is State.WAITING and (joined := self._joined.get(request_id)):
                joined.set()
            self.metrics.changed(before, after, event.at)
            self._track_screen_pop(before, after)
            self._notify()
            log.info(
                "callback %s %s -> %s on %s%s",
                request_id,
                before.state,
                after.state,
                type(event).__name__,
                f" ({after.call_outcome} / {after.contact_outcome})" if after.call_outcome else "",
            )
        if after.state is State.DONE:
            await self._queue_log(
                after, "CALLBACKDONE", f"{after.call_outcome}|{after.contact_outcome}"
            )
        elif after.state is State.WAITING and before.state is State.PENDING:
            await self._queue_log(after, "CALLBACKQUEUED", str(after.priority))
        for command in commands:
            await self._execute(command)

    def _pause(self, queue: str, seconds: float) -> None:
        """Nothing of ``queue`` is placed for ``seconds``: one ahead waits to be placed again."""
        until = asyncio.get_running_loop().time() + seconds
        self._paused[queue] = max(self._paused.get(queue, 0.0), until)

    def _notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def _track_screen_pop(self, before: CallbackRequest, after: CallbackRequest) -> None:
        # Shown while the agent's phone rings and the call lasts; cleared when it is over.
        if after.state is State.OFFERED and after.agent:
            self.screen_pops[after.agent] = after.id
        ended = after.agent != before.agent or after.state is State.DONE
        if before.agent and ended and self.screen_pops.get(before.agent) == after.id:
            del self.screen_pops[before.agent]

    async def note_stored(self, request: CallbackRequest) -> None:
        self.metrics.stored(request)
        self._notify()
        await self._queue_log(request, "CALLBACKREQUEST", request.callback_number)

    async def cancel(self, request_id: str, by: str) -> CallbackRequest | None:
        await self.apply(request_id, lc.Cancelled(by, self._clock()))
        self._held.release(request_id)
        self.metrics.held_counts(self._held.counts())
        return await self._store.get(request_id)

    async def reprioritize(self, request_id: str, level: int, by: str) -> CallbackRequest | None:
        await self.apply(request_id, lc.Reprioritized(level, by, self._clock()))
        if request_id in self._held:  # a new level may bring it within the window
            self._unhold(request_id)
        return await self._store.get(request_id)

    async def live_view(self) -> list[dict[str, object]]:
        """The requests not yet served, with their live place in the queue."""
        waiting = await self._store.requests(*WAITING_STATES)
        in_asterisk: dict[str, int] = {}  # placeholder uniqueid -> its position in the queue
        in_store: dict[str, int] = {}  # held request id -> its true position
        for queue in {r.queue for r in waiting}:
            try:
                entries = await self._queue_status(queue)
            except AmiError:
                continue
            for entry in entries:
                if entry.get("Event") == "QueueEntry":
                    in_asterisk[str(entry.get("Uniqueid"))] = int(str(entry.get("Position", "0")))
            if held := self._held.ranks(queue):  # behind the calls and held requests ahead
                order = QueueOrder(self._calls_in(entries, waiting))
                in_store.update(
                    {r.id: order.position(r) + held[r.id] for r in waiting if r.id in held}
                )
        now = self._clock()
        return [
            {
                "id": r.id,
                "queue": r.queue,
                "position": in_asterisk.get(channel_id(r.id, r.attempt, Leg.PLACEHOLDER))
                or in_store.get(r.id),
                "held": r.id in self._held,
                "priority": r.priority,
                "waited_seconds": int((now - r.queue_entered_at).total_seconds()),
                "destination": r.callback_number + (f" ext {r.extension}" if r.extension else ""),
                "caller_name": r.caller_name,
                "caller_number": r.caller_number,
                "requested_at": r.requested_at.isoformat(),
                "dialed_number": r.dialed_number,
                "state": r.state.value,
                "agent": r.agent,
            }
            for r in waiting
        ]

    async def screen_pop_view(self) -> dict[str, dict[str, object]]:
        pops: dict[str, dict[str, object]] = {}
        for agent, request_id in list(self.screen_pops.items()):
            request = await self._store.get(request_id)
            if request is not None:
                pops[agent] = _screen_pop_fields(request, agent)
        return pops

    # ---- AMI events -> domain events -------------------------------------------------------
    def _ref(self, message: Message, field: str = "Uniqueid") -> ChannelRef | None:
        return parse_channel_id(str(message.get(field, "")))

    async def _on_join(self, message: Message) -> None:
        now = self._clock()
        ref = self._ref(message)
        if ref is None:
            self.join_times.record(str(message.get("Uniqueid", "")), now)
        elif ref.leg is Leg.PLACEHOLDER:
            request = await self._store.get(ref.request_id)
            if request is None or request.attempt != ref.attempt or request.state is State.DONE:
                # A placeholder nobody waits for (a superseded attempt): it must not be served.
                log.warning(
                    "hanging up stray placeholder %s (request at attempt %s, %s)",
                    message.get("Uniqueid"),
                    request and request.attempt,
                    request and request.state,
                )
                await self._hangup(str(message.get("Channel", "")))
                return
            await self.apply(ref.request_id, lc.Joined(ref.attempt, now))

    async def _on_leave(self, message: Message) -> None:
        """A place opened: the first held request of that queue may come in."""
        queue = str(message.get("Queue", ""))
        for request_id in self._held.first(queue, 1):
            self._unhold(request_id)

    async def _on_agent_called(self, message: Message) -> None:
        ref = self._ref(message)
        if ref is not None and ref.leg is Leg.PLACEHOLDER:
            agent = str(message.get("Interface") or message.get("MemberName", ""))
            await self.apply(ref.request_id, lc.Offered(ref.attempt, agent, self._clock()))

    async def _on_agent_ring_no_answer(self, message: Message) -> None:
        ref = self._ref(message)
        if ref is None or ref.leg is not Leg.PLACEHOLDER:
            return
        agent = str(message.get("Interface") or message.get("MemberName", ""))
        available = await self._available_members(str(message.get("Queue", "")))
        event = lc.Declined(ref.attempt, agent, frozenset(available), self._clock())
        await self.apply(ref.request_id, event)

    async def _on_agent_connect(self, message: Message) -> None:
        ref = self._ref(message)
        if ref is not None and ref.leg is Leg.PLACEHOLDER:
            agent = str(message.get("Interface") or message.get("MemberName", ""))
            await self.apply(ref.request_id, lc.AgentAnswered(ref.attempt, agent, self._clock()))

    async def _on_dial_begin(self, message: Message) -> None:
        ref = self._ref(message)
        if ref is not None and ref.leg is Leg.CUSTOMER:
            await self.apply(ref.request_id, lc.CustomerDialed(ref.attempt, self._clock()))

    async def _on_dial_end(self, message: Message) -> None:
        ref = self._ref(message)
        if ref is None or ref.leg is not Leg.CUSTOMER:
            return
        status = str(message.get("DialStatus", ""))
        now = self._clock()
        if status == "ANSWER":
            await self.apply(ref.request_id, lc.CustomerAnswered(ref.attempt, now))
        else:
            await self.apply(ref.request_id, lc.CustomerUnreached(ref.attempt, status, now))

    async def _on_hangup(self, message: Message) -> None:
        ref = self._ref(message)
        if ref is None:
            return
        now = self._clock()
        if ref.leg is Leg.CUSTOMER:
            await self.apply(ref.request_id, lc.CallEnded(ref.attempt, now))
        elif ref.leg is Leg.PLACEHOLDER:
            await self.apply(ref.request_id, lc.PlaceholderLost(ref.attempt, now))

    async def _on_user_event(self, message: Message) -> None:
        if message.get("UserEvent") != "CallbackQueueResult":
            return
        ref = self._ref(message)
        if ref is not None and ref.leg is Leg.PLACEHOLDER:
            status = str(message.get("Status", ""))
            await self.apply(ref.request_id, lc.LeftQueue(ref.attempt, status, self._clock()))

    async def _on_originate_response(self, message: Message) -> None:
        ref = self._ref(message)
        if ref is None:
            return
        if ref.leg is Leg.INFORM:
            log.info(
                "callback %s informative call: %s (reason %s)",
                ref.request_id,
                message.get("Response"),
                message.get("Reason"),
            )
        elif ref.leg is Leg.CUSTOMER and message.get("Response") == "Failure":
            # The placeholder could not be made, or ended without an agent.
            await self.apply(ref.request_id, lc.PlaceholderLost(ref.attempt, self._clock()))

    # ---- queue state ----------------------------------------------------------------------
    async def _queue_status(self, queue: str) -> list[Message]:
        return await self._ami.send_list({"Action": "QueueStatus", "Queue": queue})

    async def _available_members(self, queue: str) -> set[str]:
        return {
            str(m.get("StateInterface") or m.get("Location"))
            for m in await self._queue_status(queue)
            if m.get("Event") == "QueueMember"
            and m.get("Paused") == "0"
            and m.get("Status") in _FREE_MEMBER_STATUS
        }

    async def _queued_calls(self, queue: str) -> list[QueuedCall]:
        # Placeholders' entry times from one query, not one per entry: queues get long.
        entries = await self._queue_status(queue)
        return self._calls_in(entries, await self._store.requests(*WAITING_STATES))

    def _calls_in(self, status: list[Message], waiting: list[CallbackRequest]) -> list[QueuedCall]:
        """The calls of a QueueStatus answer, with the entry times the order rule needs."""
        now = self._clock()
        calls = []
        ours = {r.id: r.queue_entered_at for r in waiting}
        for entry in (e for e in status if e.get("Event") == "QueueEntry"):
            uniqueid = str(entry.get("Uniqueid", ""))
            ref = parse_channel_id(uniqueid)
            # Live callers: as seen joining on AMI; placeholders: their request's entry.
            entered = ours.get(ref.request_id) if ref else self.join_times.get(uniqueid)
            if entered is None:
                entered = now - timedelta(seconds=int(str(entry.get("Wait", "0")) or 0))
            prio = int(str(entry.get("Priority", "0")) or 0)
            if ref is not None:
                calls.append(QueuedCall(prio, entered, ref.request_id, "callback"))
            else:
                calls.append(QueuedCall(prio, entered, uniqueid, "live"))
        return calls

    # ---- commands -> AMI actions -----------------------------------------------------------
    async def _execute(self, command: lc.Command) -> None:
        try:
            match command:
                case lc.Place(request=request):
                    await self._place(request)
                case lc.ScreenPop(request=request, agent=agent):
                    await self._screen_pop(request, agent)
                case lc.Withdraw(request=request):
                    await self._withdraw(request)
                case lc.Unplace(request=request):
                    channel = await self._placeholder_channel(request)
                    if channel:
                        await self._hangup(channel)
                case lc.Inform(request=request, prompt=prompt):
                    await self._inform(request, prompt)
        except (AmiError, CallbackError) as exc:
            log.error("callback %s: %s failed: %s", command.request.id, type(command).__name__, exc)
            if isinstance(command, lc.Place):
                # Asterisk down, shutting down or not booted is not the request's fault.
                # So is a store that refuses writes (retried by the placement loop).
                charged = (
                    self._ami.healthy
                    and isinstance(exc, AmiError)
                    and not isinstance(exc, PbxUnavailable)
                )
                await self._placement_lost(command.request, charged)

    async def _placement_lost(self, request: CallbackRequest, charged: bool) -> None:
        self._placement_failed = True
        self._orders.pop(request.queue, None)  # unsure where things are: read the queue again
        await self.apply(request.id, lc.PlaceholderLost(request.attempt, self._clock(), charged))

    async def _place(self, request: CallbackRequest) -> None:
        """Originate its placeholder and wait for it to join: the next position depends on it.

        Recorded in the event log with what the position was computed from ("Placed"). A
        placeholder that does not join in time counts as a failed placement (a late one is
        hung up as a stray): the batch stops, and it is placed again before anyone behind it.
        """
        order = await self._queue_order(request.queue)
        explained = order.explain(request)
        joined = self._joined[request.id] = asyncio.Event()
        try:
            await self._store.note(
                request, "Placed", self._clock(), {"attempt": request.attempt, **explained}
            )
            await self._originate_placeholder(request, int(str(explained["position"])))
            await asyncio.wait_for(joined.wait(), _JOIN_WAIT_S)
            order.add(request)
        except TimeoutError:
            log.warning("callback %s: placeholder not in queue after %ss", request.id, _JOIN_WAIT_S)
            await self._placement_lost(request, charged=self._ami.healthy)
        finally:
            self._joined.pop(request.id, None)

    async def _originate_placeholder(self, request: CallbackRequest, position: int) -> None:
        s = self._settings
        remaining = math.ceil((request.expires_at - self._clock()).total_seconds())
        dial_options = f"D(ww{request.extension})" if request.extension else ""
        variables = originate_variables(
            {
                "__CB_ID": request.id,
                "CB_ATTEMPT": request.attempt,
                "__CB_CALLER_NAME_B64": _b64(request.caller_name),
                "__CB_CALLER_NUMBER": request.caller_number,
                "__CB_CALLBACK_NUMBER": request.callback_number,
                "__CB_EXTENSION": request.extension or "",
                "__CB_REQUESTED_AT": request.requested_at.isoformat(),
                "__CB_QUEUE": request.queue,
                "__CB_DIALED_NUMBER": request.dialed_number,
                "__CB_PRIORITY": request.priority,
                "QUEUE_PRIO": queue_prio(request.priority),
                "CB_POSITION": position,
                "CB_TIMEOUT": max(1, remaining),
                "CB_RING_SECONDS": s.customer_ring_seconds,
                "CB_DIAL_OPTIONS": dial_options,
                "CB_OUTBOUND_CALLERID_B64": _b64(s.outbound_caller_id),
            }
        )
        fields: Fields = {
            "Action": "Originate",
            "Channel": "Local/s@callback-placeholder/n",
            "Context": "callback-customer",
            "Exten": "s",
            "Priority": "1",
            # Backstop only: Queue()'s own timeout ends the wait at max_wait.
            "Timeout": str((max(1, remaining) + 300) * 1000),
            "ChannelId": channel_id(request.id, request.attempt, Leg.CUSTOMER),
            "OtherChannelId": channel_id(request.id, request.attempt, Leg.PLACEHOLDER),
            "Variable": variables,
            "Async": "true",
        }
        await self._ami.send(fields)
        log.info(
            "callback %s placed: queue=%s position=%s priority=%s attempt=%s",
            request.id,
            request.queue,
            position,
            request.priority,
            request.attempt,
        )

    async def _screen_pop(self, request: CallbackRequest, agent: str) -> None:
        fields = {k: str(v) for k, v in _screen_pop_fields(request, agent).items()}
        await self._ami.send({"Action": "UserEvent", "UserEvent": "CallbackScreenPop", **fields})

    async def _hangup(self, channel: str) -> None:
        try:
            await self._ami.send({"Action": "Hangup", "Channel": channel})
        except AmiError as exc:
            log.warning("hangup %s failed: %s", channel, exc)

    async def _placeholder_channel(self, request: CallbackRequest) -> str | None:
        placeholder = channel_id(request.id, request.attempt, Leg.PLACEHOLDER)
        for entry in await self._queue_status(request.queue):
            if entry.get("Event") == "QueueEntry" and entry.get("Uniqueid") == placeholder:
                return str(entry.get("Channel"))
        log.warning("callback %s: placeholder not in queue %s", request.id, request.queue)
        return None

    async def _withdraw(self, request: CallbackRequest) -> None:
        channel = await self._placeholder_channel(request)
        if channel is not None:
            await self._ami.send(
                {
                    "Action": "QueueWithdrawCaller",
                    "Queue": request.queue,
                    "Caller": channel,
                    "WithdrawInfo": "declined",
                }
            )
            log.info("callback %s withdrawn: every available agent declined", request.id)

    async def _queue_log(self, request: CallbackRequest, event: str, message: str) -> None:
        """The same story in Asterisk's queue_log, for standard queue reports."""
        try:
            await self._ami.send(
                {
                    "Action": "QueueLog",
                    "Queue": request.queue,
                    "Event": event,
                    "Uniqueid": request.channel,
                    "Interface": request.agent or "NONE",
                    "Message": message,
                }
            )
        except AmiError as exc:
            log.debug("queue_log %s for %s skipped: %s", event, request.id, exc)

    async def _inform(self, request: CallbackRequest, prompt: str) -> None:
        s = self._settings
        if (why := dialable(request.callback_number, self._rules)) is not None:
            log.warning("callback %s: no informative call: %s", request.id, why)
            return
        await self._ami.send(
            {
                "Action": "Originate",
                "Channel": f"PJSIP/{request.callback_number}@pstn",
                "Application": "Playback",
                "Data": prompt,
                "CallerID": s.outbound_caller_id,
                "Timeout": str(s.customer_ring_seconds * 1000),
                "ChannelId": channel_id(request.id, request.attempt, Leg.INFORM),
                "Async": "true",
            }
        )
        log.info("callback %s: informing %s (%s)", request.id, request.callback_number, prompt)
