"""Placement: which requests are due, in what order, and how many may be in Asterisk.

One loop (``run``) is the only place that starts placements, so a request never has two in
flight, and every position is computed from a queue that holds the placeholders placed
before it. Requests too far back wait in the store (the placement window, HeldRequests).
Head of line: a failed or slow placement stops its batch, and a lost placeholder pauses its
queue briefly, so that nobody behind it is placed (and served) first.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from agi_app.domain import lifecycle as lc
from agi_app.domain.errors import CallbackError, StoreUnavailable
from agi_app.domain.numbers import dialable
from agi_app.domain.placement import HeldRequests, QueueOrder, serving_key
from agi_app.domain.request import WAITING_STATES, CallbackRequest, State
from agi_app.pbx.ami import AmiError, PbxUnavailable
from agi_app.serving.backoff import Retry
from agi_app.serving.calling_hours import CallingHours
from agi_app.serving.calling_rules import DoNotCallList, end_listed
from agi_app.serving.config import ServingConfig
from agi_app.serving.notifier import Notifier
from agi_app.serving.pbx import Pbx
from agi_app.serving.queue_calls import JoinTimes, queued_calls
from agi_app.serving.unit_of_work import UnitOfWork
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

REPLACE_DELAY_S = 1.0  # a lost placeholder is placed again after this; its queue waits too
JOIN_WAIT_S = 5.0  # a placeholder not in its queue by then counts as a failed placement
_ORDER_REFRESH_S = 5.0
_EXPECTED = (StoreUnavailable, AmiError)  # logged without a traceback (a bug is retried too)


class Placer:
    def __init__(
        self,
        store: RequestStore,
        pbx: Pbx,
        unit_of_work: UnitOfWork,
        notifier: Notifier,
        join_times: JoinTimes,
        config: ServingConfig,
        clock: Callable[[], datetime],
        hours: CallingHours,
        do_not_call: DoNotCallList | None = None,
    ) -> None:
        self._do_not_call = do_not_call
        self._store = store
        self._pbx = pbx
        self._hours = hours
        self._uow = unit_of_work
        self._notifier = notifier
        self._join_times = join_times
        self._window = config.placement_window
        self._rules = config.number_rules
        self._clock = clock
        # Requests to place, with the loop time before which not to.
        self._due: dict[str, float] = {}
        self._wake = asyncio.Event()
        # During a batch of placements: each queue's order, read from Asterisk once.
        self._orders: dict[str, QueueOrder] = {}
        self._orders_read_at = 0.0
        # Requests waiting in the store beyond the placement window.
        self.held = HeldRequests()
        self._joined: dict[str, asyncio.Event] = {}
        # Head of line: queue -> loop time before which none of its requests is placed, and
        # whether the batch's last placement failed (the batch stops there).
        self._paused: dict[str, float] = {}
        self._placement_failed = False
        # Set once reconciliation made the store agree with Asterisk; cleared when AMI is lost.
        self.synced = asyncio.Event()
        self._syncs = 0  # reconciliations so far: a batch from before one is stale

    # ---- told by the others -----------------------------------------------------------------
    def mark_due(self, request_id: str, delay: float = 0.0) -> None:
        not_before = asyncio.get_running_loop().time() + delay
        self._due[request_id] = min(self._due.get(request_id, not_before), not_before)
        self._wake.set()

    def resumed(self, pending: list[str]) -> None:
        """The store agrees with Asterisk again: place what is pending."""
        for request_id in pending:
            self.mark_due(request_id)
        self._syncs += 1
        self.synced.set()

    def link_lost(self) -> None:
        """AMI is gone: nothing is placed until reconciliation at the next login."""
        self.synced.clear()

    def placeholder_lost(self, request: CallbackRequest) -> None:
        """Its placeholder is gone and it waits again: place it shortly, before anyone behind."""
        self.mark_due(request.id, REPLACE_DELAY_S)
        until = asyncio.get_running_loop().time() + REPLACE_DELAY_S
        self._paused[request.queue] = max(self._paused.get(request.queue, 0.0), until)

    def placeholder_joined(self, request_id: str) -> None:
        if joined := self._joined.get(request_id):
            joined.set()

    def due_at(self, request: CallbackRequest) -> None:
        """Place it once its ``not_before`` has come (held in the store until then)."""
        if request.not_before is not None:
            self.mark_due(
                request.id, max(0.0, (request.not_before - self._clock()).total_seconds())
            )

    def room_opened(self, queue: str) -> None:
        """A call left ``queue``: the first held request of it may come in."""
        for request_id in self.held.first(queue, 1):
            self._unhold(request_id)

    def cancelled(self, request_id: str) -> None:
        self.held.release(request_id)
        self._notifier.held(self.held.counts())

    def reprioritized(self, request_id: str) -> None:
        if request_id in self.held:  # a new level may bring it within the window
            self._unhold(request_id)

    # ---- the loop -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Place due requests in serving order, each after the one before is in its queue."""
        loop = asyncio.get_running_loop()
        retry = Retry("placement failed", log, expected=_EXPECTED, level=logging.ERROR)
        while True:
            await self.synced.wait()
            await self._pbx.booted.wait()
            now = loop.time()
            ready = [rid for rid, not_before in self._due.items() if not_before <= now]
            if not ready:
                self._wake.clear()
                wait = min(self._due.values()) - now if self._due else None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                continue
            left = set(ready)  # not yet placed or held by this batch
            try:
                await self._place_batch(ready, left)
                retry.passed()
            except Exception as exc:
                # A locked or full store, a bug: never the end of placing. What this batch
                # did not get to is due again after the delay (rescheduled, not slept), in
                # serving order as ever.
                delay = retry.failed(exc)
                for request_id in left:
                    self.mark_due(request_id, delay)

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
            if not self.synced.is_set() or self._syncs != synced_at or not self._pbx.healthy:
                break  # AMI was lost: the rest wait for resume(), which marks them due again
            if self._placement_failed:
                break  # head of line: the rest wait until the failed one is placed again
            if (paused := self._paused.get(request.queue, 0.0)) > loop.time():
                # One ahead of it in this queue lost its placeholder and is placed again
                # shortly: nobody behind it may be placed (and taken) meanwhile.
                self._due[request.id] = paused
                left.discard(request.id)
                continue
            if (wait := self._held_for(request)) > 0:
                self._due[request.id] = loop.time() + wait  # a retry's interval, or closed
                left.discard(request.id)
                continue
            if (closed := self._hours.closed(request)) is not None:
                # Held until the opening: due then (the change marks it so; popped first,
                # or the mark would be lost and it would wait for the next login).
                self._due.pop(request.id, None)
                await self._uow.apply(request.id, closed)
                left.discard(request.id)
                continue
            self._due.pop(request.id, None)
            if loop.time() - self._orders_read_at > _ORDER_REFRESH_S:
                self._orders.clear()  # live callers come and go meanwhile
            if request.queue in full or await self._beyond_window(request):
                self._hold(request)
                full.add(request.queue)
            elif self._do_not_call is not None and (
                # The list as the sweep last read it (no await here: a cancel meanwhile
                # would be undone by what follows).
                entry := self._do_not_call.blocked(request.callback_number)
            ):
                await end_listed(self._store, self._uow, request, entry, self._clock())
                self.cancelled(request.id)
            elif (why := dialable(request.callback_number, self._rules)) is not None:
                # Stored under an earlier, wider policy: no agent is rung for it.
                await self._uow.apply(
                    request.id, lc.Cancelled(f"destination policy: {why}", self._clock())
                )
            else:
                self.held.release(request.id)
                place = await self._uow.apply(request.id, lc.PlacementDue(self._clock()))
                if place is not None:
                    await self.place(place.request)
            left.discard(request.id)
        for request_id in left:  # after a failed placement: due with it, sorted behind it
            self._due[request_id] = loop.time() + REPLACE_DELAY_S
        left.clear()
        self._release_into_room()
        self._notifier.held(self.held.counts())

    def _held_for(self, request: CallbackRequest) -> float:
        """Seconds it stays in the store before it may be placed (``not_before``)."""
        if request.state is not State.PENDING or request.not_before is None:
            return 0.0
        return (request.not_before - self._clock()).total_seconds()

    # ---- one placement ------------------------------------------------------------------------
    async def place(self, request: CallbackRequest) -> None:
        """Originate its placeholder and wait for it to join: the next position depends on it.

        Recorded in the event log with what the position was computed from ("Placed"). A
        placeholder that does not join in time counts as a failed placement (a late one is
        hung up as a stray): the batch stops, and it is placed again before anyone behind it.
        """
        joined = self._joined[request.id] = asyncio.Event()
        try:
            order = await self._queue_order(request.queue)
            explained = order.explain(request)
            await self._store.note(
                request, "Placed", self._clock(), {"attempt": request.attempt, **explained}
            )
            await self._pbx.originate_placeholder(request, int(str(explained["position"])))
            async with asyncio.timeout(JOIN_WAIT_S):
                await joined.wait()
            order.add(request)
        except TimeoutError:
            log.warning("callback %s: placeholder not in queue after %ss", request.id, JOIN_WAIT_S)
            await self._placement_lost(request, charged=self._pbx.healthy)
        except (AmiError, CallbackError) as exc:
            log.error("callback %s: Place failed: %s", request.id, exc)
            # Asterisk down, shutting down or not booted is not the request's fault.
            # So is a store that refuses writes (retried by the placement loop).
            charged = (
                self._pbx.healthy
                and isinstance(exc, AmiError)
                and not isinstance(exc, PbxUnavailable)
            )
            await self._placement_lost(request, charged)
        finally:
            self._joined.pop(request.id, None)

    async def _placement_lost(self, request: CallbackRequest, charged: bool) -> None:
        self._placement_failed = True
        self._orders.pop(request.queue, None)  # unsure where things are: read the queue again
        await self._uow.apply(
            request.id, lc.PlaceholderLost(request.attempt, self._clock(), charged)
        )

    async def _queue_order(self, queue: str) -> QueueOrder:
        order = self._orders.get(queue)
        if order is None:
            # Placeholders' entry times from one query, not one per entry: queues get long.
            status = await self._pbx.queue_status(queue)
            waiting = await self._store.requests(*WAITING_STATES)
            order = QueueOrder(queued_calls(status, waiting, self._join_times, self._clock()))
            self._orders[queue] = order
            self._orders_read_at = asyncio.get_running_loop().time()
        return order

    # ---- the window -----------------------------------------------------------------------------
    async def _beyond_window(self, request: CallbackRequest) -> bool:
        """Too many calls ahead of it to need a placeholder yet (settings.placement_window)."""
        if request.state is not State.PENDING or request.expires_at <= self._clock():
            return False  # an expired request is placed to leave by Queue()'s own timeout
        try:
            order = await self._queue_order(request.queue)
        except AmiError:
            return False  # placing it fails the usual way, and it is placed again later
        ahead = order.position(request) - 1 + self.held.ahead_of(request)
        return ahead >= self._window

    def _hold(self, request: CallbackRequest) -> None:
        self.held.hold(request)
        # Placed when room opens near the head, or at its max wait at the latest.
        self.mark_due(request.id, (request.expires_at - self._clock()).total_seconds())

    def _release_into_room(self) -> None:
        """Let held requests be placed where their queue has room within the window."""
        for queue in self.held.queues():
            order = self._orders.get(queue)
            room = self._window - len(order) if order is not None else 0
            for request_id in self.held.first(queue, room):
                self._unhold(request_id)

    def _unhold(self, request_id: str) -> None:
        """Out of the store's waiting room, to be placed (or held again) at the next batch."""
        self.held.release(request_id)
        self.mark_due(request_id)
