"""The service's lifespan: ``async with Service(settings)`` starts everything and stops it."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from types import TracebackType

import uvicorn

from agi_app.ami import Ami
from agi_app.caller_status import STATUS_SCRIPT, CallerStatus, live_position
from agi_app.domain.options import error_prompt
from agi_app.domain.request import CallbackRequest
from agi_app.fastagi import FastAgiServer
from agi_app.offer_check import OFFER_SCRIPT, OfferChecker, QueueEstimates
from agi_app.request_handler import RequestHandler
from agi_app.serving import Serving
from agi_app.settings import Settings
from agi_app.store_open import ServiceStore, open_store, shown, store_url
from agi_app.web import create_app
from agi_app.webhooks import Webhooks

log = logging.getLogger(__name__)

AGI_SCRIPT = "callback"


def _stored_with_offer(
    offers: OfferChecker, serving: Serving
) -> Callable[[CallbackRequest], Awaitable[None]]:
    """A stored request: placed by serving, and counted as an accepted offer if it was one."""

    async def stored(request: CallbackRequest) -> None:
        await offers.stored(request)
        await serving.request_stored(request)

    return stored


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
        self.serving: Serving | None = None
        self.ami: Ami | None = None
        self.web_port: int | None = None
        self.estimates: QueueEstimates | None = None  # the offer check's, shown in the Live view

    async def __aenter__(self) -> "Service":
        s = self.settings
        self.failed = asyncio.get_running_loop().create_future()
        try:
            self.store = await self._stack.enter_async_context(open_store(s))
            serving = await self._start_serving(self.store) if s.ami_enabled else None
            if s.webhooks:  # one sender per subscription, supervised as serving is
                webhooks = Webhooks(
                    s.webhooks, self.store, clock=self._clock,
                    metrics=serving.metrics if serving else None,
                )  # fmt: skip
                self._stack.push_async_callback(webhooks.stop)
                for name, task in webhooks.start():
                    self._supervise(task, f"the webhook sender {name}")
            # The offer check: a third script; it estimates from the store alone without AMI.
            offers = OfferChecker(
                self.estimates or QueueEstimates(self.store, None, self._clock),
                schedules=s.calling_hours(),
                schedule_name=s.schedule_name,
                offer_log=self.store,
                metrics=serving.metrics if serving else None,
                clock=self._clock,
            )
            handler = RequestHandler(
                self.store,
                s.number_rules(),
                limits=s.rate_limits(),
                # With serving: a caller's exact queue entry, and a stored request is placed.
                joined_at=serving.join_times.get if serving else lambda _uniqueid: None,
                on_stored=_stored_with_offer(offers, serving) if serving else None,
                schedule_name=s.schedule_name,
                later_times=s.later_times,
                clock=self._clock,
            )
            # The caller's status check: a second script, answered only with serving (what
            # it reports and cancels is serving's).
            status = CallerStatus(
                self.store,
                s.number_rules(),
                position_of=live_position(serving.live_view) if serving else None,
                cancel=serving.cancel if serving else None,
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
        except BaseException:
            await self._stack.aclose()
            raise
        log.info(
            "service up: fastagi %s:%s, store %s", s.agi_host, self.agi.port, shown(store_url(s))
        )
        return self

    async def _start_serving(self, store: ServiceStore) -> Serving:
        s = self.settings
        ami = Ami(s)
        serving = Serving(store, ami, s, clock=self._clock)
        ami.on_login, ami.on_lost = serving.resume, serving.link_lost  # both exist: wire them
        self.serving, self.ami = serving, ami
        self.estimates = QueueEstimates(store, serving.pbx.queue_status, self._clock)
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
        if s.web_enabled:
            await self._start_web(serving)
        return serving

    async def _start_web(self, serving: Serving) -> None:
        s = self.settings
        self.web_app = create_app(serving, s, estimates=self.estimates)
        config = uvicorn.Config(
            self.web_app,
            host=s.web_host,
            port=s.web_port,
            log_level="warning",
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
