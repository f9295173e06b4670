"""The service's lifespan: ``async with Service(settings)`` starts everything and stops it."""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import uvicorn

from agi_app.ami import Ami
from agi_app.caller_status import STATUS_SCRIPT, CallerStatus
from agi_app.domain.options import error_prompt
from agi_app.fastagi import FastAgiServer
from agi_app.leadership import Leadership, SoloLeadership, open_leadership
from agi_app.metrics import Metrics
from agi_app.offer_check import OFFER_SCRIPT, OfferChecker, QueueEstimates
from agi_app.request_handler import RequestHandler
from agi_app.serving import Serving
from agi_app.serving_here import ServingHere
from agi_app.settings import Settings
from agi_app.settings_reload import known_level, split_changes
from agi_app.store_open import ServiceStore, open_store, shown, store_url
from agi_app.store_pg import PgStore
from agi_app.store_pg.fenced import FencedStore, NotLeader
from agi_app.store_pg.notices import STORED
from agi_app.web import create_app
from agi_app.webhooks import Webhooks

log = logging.getLogger(__name__)

AGI_SCRIPT = "callback"


class Service:
    def __init__(
        self, settings: Settings, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.settings = settings
        self._clock = clock  # the wall clock; tests move it to where calling hours change
        self._stack = AsyncExitStack()
        # Set when a task the service cannot serve without ends: `serve` then exits non-zero
        # (for its supervisor to restart it), never listening without serving.
        self.failed: asyncio.Future[BaseException] | None = None
        self._stopping = False
        self.store: ServiceStore | None = None
        self.agi: FastAgiServer | None = None
        self.ami: Ami | None = None
        self.web_port: int | None = None
        self.estimates: QueueEstimates | None = None  # the offer check's, shown in the Live view
        self.leadership: Leadership = SoloLeadership()
        self.metrics = Metrics()  # serving's, the offer check's and the webhooks' alike
        self._here: ServingHere | None = None
        self._leads = asyncio.Event()  # the database made this process the serving one
        self._serving_started = asyncio.Event()

    @property
    def serving(self) -> Serving | None:
        """Serving, while this process serves (on PostgreSQL, only while it leads)."""
        return self._here.serving if self._here is not None else None

    async def __aenter__(self) -> "Service":
        s = self.settings
        self.failed = asyncio.get_running_loop().create_future()
        try:
            self.store = await self._stack.enter_async_context(open_store(s))
            self._here = here = ServingHere(self.store)
            self.leadership = open_leadership(s, {STORED: here.stored_elsewhere})
            self._stack.push_async_callback(self.leadership.release)  # the last to go
            # Shown in the Live view and used by the offer check: Asterisk's figures when
            # this process serves, the store's alone otherwise.
            self.estimates = QueueEstimates(
                self.store, here.queue_status if s.ami_enabled else None, self._clock
            )
            if not s.ami_enabled:
                self._start_webhooks(self.store)
            elif isinstance(self.leadership, SoloLeadership):
                await self._start_serving(self.store, self.leadership)
            else:  # another process may serve: this one stands by till it leads
                term = asyncio.ensure_future(self._lead())
                self._supervise(term, "serving")
                self._stack.callback(term.cancel)
                await self._first_term(term)
            agi = await self._start_intake()
        except BaseException:
            await self._stack.aclose()
            raise
        log.info("service up: fastagi %s:%s, store %s", s.agi_host, agi.port, shown(store_url(s)))
        return self

    async def _start_intake(self) -> FastAgiServer:
        """FastAGI, on every process: a standby takes requests too (the leader places them).
        What only serving knows (exact join times, positions, cancelling) is asked of it when
        this process serves."""
        s, store, estimates, here = self.settings, self.store, self.estimates, self._here
        assert store is not None and estimates is not None and here is not None
        # The offer check: a third script.
        offers = OfferChecker(
            estimates,
            schedules=s.calling_hours(),
            schedule_name=s.schedule_name,
            offer_log=store,
            metrics=self.metrics,
            clock=self._clock,
        )
        handler = RequestHandler(
            store,
            s.number_rules(),
            limits=s.rate_limits(),
            # With serving: a caller's exact queue entry, and a stored request is placed.
            joined_at=here.joined_at,
            on_stored=here.stored(offers) if s.ami_enabled else None,
            schedule_name=s.schedule_name,
            later_times=s.later_times,
            clock=self._clock,
        )
        # The caller's status check: a second script; what it reports and cancels is
        # serving's, so a process that does not serve reports without cancelling.
        status = CallerStatus(
            store,
            s.number_rules(),
            position_of=here.position_of if s.ami_enabled else None,
            cancel=here.cancel if s.ami_enabled else None,
        )
        self.agi = FastAgiServer(
            {AGI_SCRIPT: handler, STATUS_SCRIPT: status, OFFER_SCRIPT: offers},
            allowed_peers=s.agi_allowed_peers,
            max_sessions=s.agi_max_sessions,
            # A session it cannot serve: the caller hears that request's error prompt.
            refuse=lambda agi: agi.set_variable("CALLBACK_PROMPT", error_prompt(agi.args)),
        )
        await self.agi.start(s.agi_host, s.agi_port)
        self._stack.push_async_callback(self.agi.stop)
        return self.agi

    # ---- serving -------------------------------------------------------------------------
    async def _first_term(self, term: "asyncio.Future[None]") -> None:
        """A process the database makes the serving one at once starts serving before it
        takes requests, as on SQLite; a standby goes on after ``store_timeout``."""
        leads: asyncio.Future[Any] = asyncio.ensure_future(self._leads.wait())
        await asyncio.wait(
            [leads, term], timeout=self.settings.store_timeout, return_when="FIRST_COMPLETED"
        )
        leads.cancel()
        if self._leads.is_set():
            serving: asyncio.Future[Any] = asyncio.ensure_future(self._serving_started.wait())
            await asyncio.wait([serving, term], return_when="FIRST_COMPLETED")
            serving.cancel()
        if term.done():
            term.result()  # it failed: so does the start

    async def _lead(self) -> None:
        """Stand by until the database makes this process the serving one, serve, and exit
        non-zero when the role is lost (its supervisor restarts it as a standby)."""
        assert self.store is not None and isinstance(self.store, PgStore)
        epoch = await self.leadership.acquire()
        self._leads.set()
        await self._start_serving(FencedStore(self.store, epoch), self.leadership)
        self._serving_started.set()
        await self.leadership.lost.wait()
        raise NotLeader(f"serving lease lost (epoch {epoch})")

    async def _start_serving(self, store: ServiceStore, leadership: Leadership) -> None:
        s = self.settings
        ami = Ami(s)
        serving = Serving(
            store, ami, s, clock=self._clock, metrics=self.metrics, leads=leadership.leads
        )
        ami.on_login, ami.on_lost = serving.resume, serving.link_lost  # both exist: wire them
        self.ami = ami
        assert self._here is not None
        self._here.serving = serving
        consumer = asyncio.ensure_future(serving.run())
        self._supervise(consumer, "serving")

        async def stop() -> None:
            ami.stop()
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # logged when it died
                await consumer

        self._stack.push_async_callback(stop)
        await ami.start()
        if ami.watchdog is not None:
            self._supervise(ami.watchdog, "the AMI watchdog")
        self._start_webhooks(store)  # on the serving process only
        if s.web_enabled:
            await self._start_web(serving)

    def _start_webhooks(self, store: ServiceStore) -> None:
        """One sender per subscription, supervised as serving is."""
        if not self.settings.webhooks:
            return
        webhooks = Webhooks(self.settings.webhooks, store, clock=self._clock, metrics=self.metrics)
        self._stack.push_async_callback(webhooks.stop)
        for name, task in webhooks.start():
            self._supervise(task, f"the webhook sender {name}")

    async def _start_web(self, serving: Serving) -> None:
        s = self.settings
        self.web_app = create_app(serving, s, estimates=self.estimates)
        config = uvicorn.Config(
            self.web_app,
            host=s.web_host,
            port=s.web_port,
            log_level="warning",
            log_config=None,  # its lines through our handler (journald priorities)
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,  # an open Live view (SSE) must not hold up a stop
        )
        server = uvicorn.Server(config)
        task = asyncio.ensure_future(server.serve())
        self._supervise(task, "the web server")

        async def stop() -> None:
            server.should_exit = True
            await task

        self._stack.push_async_callback(stop)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not server.started:
            if task.done() or loop.time() > deadline:
                raise RuntimeError(f"web server did not start on {s.web_host}:{s.web_port}")
            await asyncio.sleep(0.01)
        self.web_port = int(server.servers[0].sockets[0].getsockname()[1])
        log.info("live view on http://%s:%s/", s.web_host, self.web_port)

    def _supervise(self, task: "asyncio.Future[None]", what: str) -> None:
        def ended(task: "asyncio.Future[None]") -> None:
            if self._stopping or task.cancelled() or self.failed is None or self.failed.done():
                return
            error = task.exception() or RuntimeError(f"{what} ended")
            log.critical("%s died: %r; the service stops", what, error, exc_info=error)
            self.failed.set_result(error)

        task.add_done_callback(ended)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping = True
        await self._stack.aclose()
        log.info("service stopped")

    def reload(self, settings: Settings) -> None:
        """SIGHUP: take the changed settings that may change while running (the rule is in
        agi_app/settings_reload.py); log the others as needing a restart."""
        take, restart = split_changes(self.settings, settings, serving=self.serving is not None)
        if not known_level(settings.log_level):
            log.error("reload: log_level %r is not a level; it stays", settings.log_level)
        if restart:
            log.warning("reload: %s changed, needs a restart to apply", ", ".join(restart))
        if not take:
            log.info("reload: nothing changed that a reload applies")
            return
        self.settings = self.settings.model_copy(update={n: getattr(settings, n) for n in take})
        logging.getLogger().setLevel(self.settings.log_level.upper())
        handler = self.agi.route(AGI_SCRIPT) if self.agi is not None else None
        if isinstance(handler, RequestHandler):
            handler.set_policy(self.settings.number_rules(), self.settings.rate_limits())
        log.warning("reload: %s now in force", ", ".join(take))
