"""The service's lifespan: ``async with Service(settings)`` starts everything and stops it."""

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from types import TracebackType

import uvicorn

from agi_app.ami import Ami
from agi_app.domain.options import error_prompt
from agi_app.fastagi import FastAgiServer
from agi_app.request_handler import RequestHandler
from agi_app.serving import Serving
from agi_app.settings import Settings
from agi_app.store import Store
from agi_app.web import create_app

log = logging.getLogger(__name__)

AGI_SCRIPT = "callback"


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack = AsyncExitStack()
        # Set when a task the service cannot serve without ends: `serve` then exits non-zero
        # (for its supervisor to restart it), never listening without serving.
        self.failed: asyncio.Future[BaseException] | None = None
        self._stopping = False
        self.store: Store | None = None
        self.agi: FastAgiServer | None = None
        self.serving: Serving | None = None
        self.ami: Ami | None = None
        self.web_port: int | None = None

    async def __aenter__(self) -> "Service":
        s = self.settings
        self.failed = asyncio.get_running_loop().create_future()
        try:
            self.store = await self._stack.enter_async_context(
                Store.open(s.store_path, busy_timeout=s.store_busy_timeout)
            )
            serving = await self._start_serving(self.store) if s.ami_enabled else None
            handler = RequestHandler(
                self.store,
                s.number_rules(),
                limits=s.rate_limits(),
                # With serving: a caller's exact queue entry, and a stored request is placed.
                joined_at=serving.join_times.get if serving else lambda _uniqueid: None,
                on_stored=serving.request_stored if serving else None,
            )
            self.agi = FastAgiServer(
                {AGI_SCRIPT: handler},
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
        log.info("service up: fastagi %s:%s, store %s", s.agi_host, self.agi.port, s.store_path)
        return self

    async def _start_serving(self, store: Store) -> Serving:
        s = self.settings
        ami = Ami(s)
        serving = Serving(store, ami, s)
        ami.on_login, ami.on_lost = serving.resume, serving.link_lost  # both exist: wire them
        self.serving, self.ami = serving, ami
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
        self.web_app = create_app(serving, s)
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
