"""Serving callbacks: AMI events -> domain events -> transitions -> store -> AMI actions.

``Serving`` builds the parts, then wires them; each part is one module:

- events.py: the AMI event table (which event means what, e.g. an agent declined)
- unit_of_work.py: the one place where a request changes (lock, load, transition, save)
- placer.py: what is due, in which order, the placement window, head of line
- calling_hours.py: which schedule a request keeps, and the sweep at each closing
- calling_rules.py: the do-not-call list, and the sweep of waiting callbacks against it
  and their customers' own hours
- pbx.py: every AMI action and the reading of its replies (placing a request, withdrawing)
- turns.py: customer first, each placeholder's turn watched, its customer called then
- missed_calls.py: a live caller who hung up after waiting, called back (opt-in per queue)
- reconcile.py: at each login, the store made to agree with Asterisk
- notifier.py: watchers, screen-pops, metrics, queue_log
- views.py: the web's read models
"""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from agi_app.domain import lifecycle as lc
from agi_app.domain.request import CallbackRequest
from agi_app.pbx.ami import AmiLink
from agi_app.serving.calling_hours import CallingHours, ClosingSweep
from agi_app.serving.calling_rules import DoNotCallList, RulesSweep
from agi_app.serving.config import ServingConfig
from agi_app.serving.events import AmiEvents
from agi_app.serving.metrics import Metrics
from agi_app.serving.missed_calls import MissedCalls
from agi_app.serving.notifier import Notifier
from agi_app.serving.pbx import Pbx
from agi_app.serving.placer import Placer
from agi_app.serving.queue_calls import JoinTimes
from agi_app.serving.reconcile import Reconciler
from agi_app.serving.turns import TurnWatcher
from agi_app.serving.unit_of_work import UnitOfWork
from agi_app.serving.views import Views
from agi_app.store.port import RequestStore

__all__ = ["JoinTimes", "Serving"]


class Serving:
    def __init__(
        self,
        store: RequestStore,
        ami: AmiLink,
        config: ServingConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: Metrics | None = None,
        leads: Callable[[], bool] = lambda: True,
    ) -> None:
        """``leads``: whether this process may dial now (agi_app/store/postgres/leadership.py)."""
        self.metrics = metrics or Metrics()
        self.join_times = JoinTimes()
        self._store = store
        self._clock = clock
        self.pbx = Pbx(ami, config.dialing, config.number_rules, clock, leads)
        self.notifier = Notifier(self.pbx, self.metrics)
        rules = config.calling_rules
        self.hours = CallingHours(config.calling_hours, clock, rules.zone)
        self.do_not_call = DoNotCallList(store, rules.do_not_call)
        self.unit_of_work = UnitOfWork(
            store, self.pbx, self.notifier, config.number_rules, clock, self._may_call
        )
        self.placer = Placer(
            store,
            self.pbx,
            self.unit_of_work,
            self.notifier,
            self.join_times,
            config,
            clock,
            self.hours,
            self.do_not_call,
        )
        self.closing = ClosingSweep(self.hours, store, self.unit_of_work, clock)
        self.turns = TurnWatcher(
            store, self.pbx, self.unit_of_work, clock, config.number_rules, self.do_not_call
        )
        self.rules = RulesSweep(
            self.do_not_call, self.hours, store, self.unit_of_work, clock, self.placer.cancelled
        )
        self.missed_calls = MissedCalls(
            store, config, self.join_times, clock, lambda: str(uuid.uuid4())
        )
        self.reconciler = Reconciler(
            store, self.pbx, self.unit_of_work, self.placer, self.notifier, clock
        )
        self.events = AmiEvents(
            store,
            self.pbx,
            self.unit_of_work,
            self.placer,
            self.join_times,
            clock,
            config.number_rules,
            self.missed_calls,
        )
        self.views = Views(store, self.pbx, self.placer.held, self.notifier, self.join_times, clock)
        # All built: now the one loop among them (a change tells the placer of a lost or
        # joined placeholder; the placer applies changes).
        self.unit_of_work.wire(self.placer)
        self.missed_calls.on_stored = self.request_stored
        self.missed_calls.do_not_call = self.do_not_call

    def _may_call(self, request: CallbackRequest) -> bool:
        """The informative call: within its hours, and not to a do-not-call number."""
        return (
            self.hours.may_call(request)
            and self.do_not_call.blocked(request.callback_number) is None
        )

    # ---- running ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Consume AMI events and place what is due, until cancelled."""
        async with asyncio.TaskGroup() as tasks:  # one ends: both end, and run() says why
            tasks.create_task(self.events.consume())
            tasks.create_task(self.placer.run())
            tasks.create_task(self.closing.run())
            tasks.create_task(self.turns.run())
            tasks.create_task(self.rules.run())

    async def resume(self) -> None:
        """At each AMI login (Ami.on_login)."""
        await self.reconciler.resume()

    def rules_changed(self) -> None:
        """The do-not-call list was edited here (the API): sweep the waiting callbacks now."""
        self.rules.changed.set()

    def link_lost(self) -> None:
        """At each loss of AMI (Ami.on_lost)."""
        self.placer.link_lost()

    # ---- new requests (the FastAGI handler) ------------------------------------------------
    async def request_stored(self, request: CallbackRequest) -> None:
        self.placer.mark_due(request.id)
        await self.note_stored(request)

    async def note_stored(self, request: CallbackRequest) -> None:
        await self.notifier.stored(request)

    # ---- supervisor commands ------------------------------------------------------------------
    async def cancel(self, request_id: str, by: str, *, credential: str) -> CallbackRequest | None:
        await self.unit_of_work.apply(request_id, lc.Cancelled(by, self._clock(), credential))
        self.placer.cancelled(request_id)
        return await self._store.get(request_id)

    async def reprioritize(
        self, request_id: str, level: int, by: str, *, credential: str
    ) -> CallbackRequest | None:
        change = lc.Reprioritized(level, by, self._clock(), credential)
        await self.unit_of_work.apply(request_id, change)
        self.placer.reprioritized(request_id)
        return await self._store.get(request_id)

    async def dispose(
        self, request_id: str, code: str, by: str, *, credential: str
    ) -> CallbackRequest | None:
        """The call's wrap-up code, set by its agent (or a supervisor)."""
        await self.unit_of_work.apply(request_id, lc.Disposed(code, by, self._clock(), credential))
        return await self._store.get(request_id)

    # ---- what the web reads -------------------------------------------------------------------
    @property
    def changed(self) -> asyncio.Event:
        """Set at the next change (a new Event each time: read it again after waiting)."""
        return self.notifier.changed

    @property
    def screen_pops(self) -> dict[str, str]:
        return self.notifier.screen_pops

    @property
    def synced(self) -> asyncio.Event:
        """Set once the store agrees with Asterisk since the last login."""
        return self.placer.synced

    @property
    def held_count(self) -> int:
        """Requests waiting in the store beyond the placement window."""
        return len(self.placer.held)

    async def live_view(self) -> list[dict[str, object]]:
        return await self.views.live_view()

    async def screen_pop_view(self) -> dict[str, dict[str, object]]:
        return await self.views.screen_pop_view()

    async def wrap_up_view(self) -> dict[str, dict[str, object]]:
        return await self.views.wrap_up_view()
