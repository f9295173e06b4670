"""Serving on the in-memory PBX (tests/support/fake_pbx.py) and the store the settings name: a
SQLite file in tmp_path, or the PostgreSQL server of ``store_url``."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agi_app.config.settings import Settings
from agi_app.domain.hours import AtClosing
from agi_app.domain.options import Mode
from agi_app.domain.request import CallbackRequest, State
from agi_app.serving import Serving
from agi_app.serving.config import ServingConfig
from agi_app.store.open import ServiceStore, StoreConfig, open_store
from tests.support.fake_pbx import FakePbx
from tests.support.poll import eventually

WITHIN = 3.0  # seconds: everything here happens in milliseconds, bar the 1 s re-placements


@dataclass
class Rig:
    store: ServiceStore
    pbx: FakePbx
    serving: Serving
    settings: Settings
    clock: Callable[[], datetime]

    async def add(
        self,
        number: str,
        *,
        waited: float = 0.0,
        priority: int = 5,
        state: State = State.PENDING,
        attempt: int = 0,
        agent: str | None = None,
        queue: str = "support",
        retries: int = 0,
        retry_interval: int = 0,
        schedule: str | None = None,
        at_closing: AtClosing = AtClosing.CARRY,
        channel: str | None = None,
        amd: bool = False,
        cancel_on_live_answer: bool = True,
        mode: Mode = Mode.AGENT_FIRST,
        message: str = "",
        language: str = "",
        customer_hours: str = "",
        preferred_agent: str = "",
        affinity_timeout: int = 30,
    ) -> CallbackRequest:
        """A stored request, as the FastAGI handler keeps it (then in ``state``)."""
        now = self.clock()
        request = CallbackRequest(
            id=str(uuid.uuid4()),
            channel=channel or f"ch-{number}",
            state=State.PENDING,
            queue=queue,
            priority=priority,
            position=None,
            caller_name="Ann Smith",
            caller_number=number,
            callback_number=number,
            extension=None,
            dialed_number="5000",
            queue_entered_at=now - timedelta(seconds=waited),
            requested_at=now,
            expires_at=now + timedelta(minutes=30),
            timeout_prompt="callback/timeout",
            retries=retries,
            retry_interval=retry_interval,
            schedule=schedule,
            at_closing=at_closing,
            amd=amd,
            mode=mode,
            greeting="callback/customer-first-greeting" if mode is Mode.CUSTOMER_FIRST else "",
            cancel_on_live_answer=cancel_on_live_answer,
            message=message,
            language=language,
            customer_hours=customer_hours,
            preferred_agent=preferred_agent,
            affinity_timeout=affinity_timeout if preferred_agent else 0,
        )
        stored = await self.store.add(request)
        if state is not State.PENDING or attempt:
            moved = replace(stored, state=state, attempt=attempt, agent=agent)
            await self.store.save(stored, moved, "Test", now)
            return moved
        return stored

    async def get(self, request_id: str) -> CallbackRequest:
        request = await self.store.get(request_id)
        assert request is not None
        return request

    async def until(
        self,
        request_id: str,
        accept: Callable[[CallbackRequest], bool],
        what: str,
        within: float = WITHIN,
    ) -> CallbackRequest:
        async def probe() -> CallbackRequest:
            return await self.get(request_id)

        return await eventually(probe, accept, within=within, what=what, interval=0.01)

    async def eventually_requests(self, count: int) -> list[CallbackRequest]:
        """The store's requests, once there are ``count``."""
        return await eventually(
            self.store.requests, lambda rs: len(rs) == count, within=WITHIN,
            what=f"{count} requests", interval=0.01,
        )  # fmt: skip

    async def until_placed(self, count: int) -> None:
        async def probe() -> int:
            return len(self.pbx.placed)

        await eventually(probe, lambda n: n >= count, within=WITHIN, what=f"{count} placed")


def settings_for(tmp_path: Path, **values: object) -> Settings:
    return Settings(
        store_path=tmp_path / "callbacks.sqlite3",
        ami_secret="unused",
        web_enabled=False,
        # The test numbers (+1555..., fictional) are dialable unless a test says otherwise.
        **({"allowed_number_prefixes": ["+1555"]} | values),  # type: ignore[arg-type]
    )


@asynccontextmanager
async def serving_on(
    tmp_path: Path,
    pbx: FakePbx | None = None,
    *,
    login: bool = True,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    leads: Callable[[], bool] = lambda: True,
    **values: object,
) -> AsyncIterator[Rig]:
    """Serving wired to the fake as agi_app/app/service.py wires it to Ami; the PBX logged in."""
    settings = settings_for(tmp_path, **values)
    agents = ["PJSIP/agent1", "PJSIP/agent2"]
    pbx = pbx or FakePbx({"support": agents, "sales": agents})
    async with open_store(StoreConfig.of(settings)) as store:
        serving = Serving(store, pbx, ServingConfig.of(settings), clock=clock, leads=leads)
        pbx.on_login, pbx.on_lost = serving.resume, serving.link_lost
        rig = Rig(store, pbx, serving, settings, clock)
        task = asyncio.ensure_future(serving.run())
        try:
            if login:
                pbx.login()
            yield rig
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise AssertionError("serving died") from task.exception()
