"""The service's lifespan: ``async with Service(settings)`` starts everything and stops it."""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from types import TracebackType

import uvicorn

from agi_app.app.asterisk_site import AGI_SCRIPT, AsteriskSite
from agi_app.app.hand_over import HandOver
from agi_app.app.reloading import reloaded
from agi_app.app.sd_notify import watchdog, watchdog_interval
from agi_app.app.supervision import Supervisor
from agi_app.config.settings import Settings
from agi_app.domain.request import WAITING_STATES
from agi_app.ivr.fastagi import FastAgiServer
from agi_app.ivr.request_dialogue import RequestHandler
from agi_app.pbx.ami import Ami, AmiAccount
from agi_app.serving import Serving
from agi_app.serving.all_servers import ServingSet
from agi_app.serving.config import ServingConfig
from agi_app.serving.estimates import QueueEstimates
from agi_app.serving.metrics import Metrics
from agi_app.serving.privacy import purge_every
from agi_app.store.one_server import ServerStore
from agi_app.store.open import (
    Leadership,
    ServiceStore,
    SoloLeadership,
    StoreConfig,
    open_backend,
    shown,
)
from agi_app.web.app import create_app
from agi_app.web.config import WebConfig
from agi_app.webhooks.delivery import Webhooks

log = logging.getLogger(__name__)

__all__ = ["AGI_SCRIPT", "Service"]


class Service:
    def __init__(
        self, settings: Settings, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.settings = settings
        self._clock = clock  # the wall clock; tests move it to where calling hours change
        self._stack = AsyncExitStack()
        self._tasks = Supervisor()  # a task the service cannot serve without ends: it stops
        self.store: ServiceStore | None = None
        self.sites: dict[str, AsteriskSite] = {}  # each Asterisk server, the first one first
        self.web_port: int | None = None
        self.leadership: Leadership = SoloLeadership()
        # Serving's, the offer check's and the webhooks' alike.
        self.metrics = Metrics(settings.customer_first_wait_bound)

    @property
    def failed(self) -> "asyncio.Future[BaseException] | None":
        """Set when a task the service cannot serve without ends: `serve` then exits
        non-zero (for its supervisor to restart it), never listening without serving."""
        return self._tasks.failed

    # The first server's parts: with one server (the usual case), the service's.
    @property
    def _first(self) -> AsteriskSite | None:
        return next(iter(self.sites.values()), None)

    @property
    def serving(self) -> Serving | None:
        """Serving, while this process serves (on PostgreSQL, only while it leads)."""
        return self._first.serving if self._first is not None else None

    @property
    def agi(self) -> FastAgiServer | None:
        return self._first.agi if self._first is not None else None

    @property
    def ami(self) -> Ami | None:
        return self._first.ami if self._first is not None else None

    @property
    def estimates(self) -> QueueEstimates | None:
        return self._first.estimates if self._first is not None else None

    async def __aenter__(self) -> "Service":
        s = self.settings
        self._tasks.start()
        try:
            self._start_systemd_watchdog()
            backend = await self._stack.enter_async_context(  # closed last
                open_backend(StoreConfig.of(s), stored_elsewhere=self._stored_elsewhere)
            )
            self.store = store = backend.store
            self.leadership = backend.leadership
            self.sites = {
                name: AsteriskSite.of(name, settings, store, self._clock)
                for name, settings in s.servers().items()
            }
            await self._warn_of_unknown_servers(store)
            if not s.ami_enabled:  # nothing served: the store's own work is done here
                self._start_webhooks(store)
                self._start_purge(store)
            elif isinstance(self.leadership, SoloLeadership):
                await self._start_serving(store, self.leadership)
            else:  # another process may serve: this one stands by till it leads
                hand_over = HandOver(self.leadership, self._start_serving)
                term = asyncio.ensure_future(hand_over.lead(backend.fenced))
                self._tasks.watch(term, "serving")
                self._stack.callback(term.cancel)
                await hand_over.first_term(term, standby_after=s.store_timeout)
            await self._start_intake()
        except BaseException:
            await self._stack.aclose()
            raise
        listening = ", ".join(
            f"{site.settings.agi_host}:{site.agi.port if site.agi else None}"
            + (f" ({site.name})" if len(self.sites) > 1 else "")
            for site in self.sites.values()
        )
        log.info("service up: fastagi %s, store %s", listening, shown(s.store_address()))
        return self

    def _start_systemd_watchdog(self) -> None:
        """WATCHDOG=1 from the event loop when the unit asks for it (WatchdogSec=): a loop
        that hangs stops the pings, and systemd restarts the service."""
        interval = watchdog_interval()
        if interval is None:
            return
        pinger = asyncio.ensure_future(watchdog(interval))
        self._tasks.watch(pinger, "the systemd watchdog pinger")
        self._stack.callback(pinger.cancel)  # pinging through the stop

    async def _warn_of_unknown_servers(self, store: ServiceStore) -> None:
        """Requests of a server the settings no longer name wait unserved: say so."""
        waiting = await store.requests(*WAITING_STATES)
        for server in sorted({r.server for r in waiting} - set(self.sites)):
            count = sum(r.server == server for r in waiting)
            log.error(
                "%s waiting requests belong to asterisk server %r, which the settings do not"
                " name: they are not served until it is back in asterisk_servers",
                count, server,
            )  # fmt: skip

    def _stored_elsewhere(self, request_id: str) -> None:
        """The serving process hears that another one stored a request: each server's
        serving places it if it is that server's."""
        for site in self.sites.values():
            site.here.stored_elsewhere(request_id)

    async def _start_intake(self) -> None:
        """FastAGI, on every process: a standby takes requests too (the leader places them)."""
        for site in self.sites.values():
            agi = site.intake(self.metrics, self._clock)
            await agi.start(site.settings.agi_host, site.settings.agi_port)
            self._stack.push_async_callback(agi.stop)

    # ---- serving -------------------------------------------------------------------------
    async def _start_serving(self, store: ServiceStore, leadership: Leadership) -> None:
        """Serving for every server, each over its share of ``store`` (fenced when led)."""
        for site in self.sites.values():
            await self._serve_site(site, ServerStore(store, site.name), leadership)
        self._start_webhooks(store)  # on the serving process only
        self._start_purge(store)
        servings = {name: site.serving for name, site in self.sites.items() if site.serving}
        if self.settings.web_enabled and servings:
            one = len(servings) == 1
            await self._start_web(
                next(iter(servings.values())) if one else ServingSet(servings, store), store
            )

    async def _serve_site(
        self, site: AsteriskSite, store: ServerStore, leadership: Leadership
    ) -> None:
        s = site.settings
        ami = Ami(AmiAccount.of(s))
        serving = Serving(
            store,
            ami,
            ServingConfig.of(s),
            clock=self._clock,
            metrics=self.metrics,
            leads=leadership.leads,
        )
        others = [other for other in self.sites.values() if other is not site]

        async def login() -> None:
            await site.read_core_settings(others)
            await serving.resume()

        ami.on_login, ami.on_lost = login, serving.link_lost  # both exist: wire them
        site.ami, site.here.serving = ami, serving
        consumer = asyncio.ensure_future(serving.run())
        # Named by its server when there are several ("serving died" alone otherwise).
        of = f" of asterisk server {site.name}" if len(self.sites) > 1 else ""
        self._tasks.watch(consumer, f"serving{of}")

        async def stop() -> None:
            ami.stop()
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # logged when it died
                await consumer

        self._stack.push_async_callback(stop)
        await ami.start()
        if ami.watchdog is not None:
            self._tasks.watch(ami.watchdog, f"the AMI watchdog{of}")

    def _start_webhooks(self, store: ServiceStore) -> None:
        """One sender per subscription, supervised as serving is."""
        if not self.settings.webhooks:
            return
        webhooks = Webhooks(self.settings.webhooks, store, clock=self._clock, metrics=self.metrics)
        self._stack.push_async_callback(webhooks.stop)
        for name, task in webhooks.start():
            self._tasks.watch(task, f"the webhook sender {name}")

    def _start_purge(self, store: ServiceStore) -> None:
        """The retention purge of personal data, supervised as serving is."""
        s = self.settings
        files = s.voice_messages.readable_dir
        purging = asyncio.ensure_future(
            purge_every(store, s.privacy, s.store_path, self._clock, files)
        )
        self._tasks.watch(purging, "the purge of personal data")
        self._stack.callback(purging.cancel)

    async def _start_web(self, serving: Serving | ServingSet, store: ServiceStore) -> None:
        s = self.settings
        self.web_app = create_app(
            serving, WebConfig.of(s), estimates=self.estimates, personal=store
        )
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
        self._tasks.watch(task, "the web server")

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

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._tasks.stopping()
        await self._stack.aclose()
        log.info("service stopped")

    def reload(self, settings: Settings) -> None:
        """SIGHUP: what may change while running is taken (agi_app/app/reloading.py)."""
        handlers = [
            handler
            for site in self.sites.values()
            if site.agi is not None
            and isinstance(handler := site.agi.route(AGI_SCRIPT), RequestHandler)
        ]
        self.settings = reloaded(
            self.settings, settings, serving=self.serving is not None, handlers=handlers
        )
