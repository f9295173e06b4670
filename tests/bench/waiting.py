"""What the benchmarks on the sandbox start from: a quiet PBX (no calls, every agent paused)
and requests waiting in a store of the settings (SQLite or PostgreSQL)."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agi_app.config.settings import Settings
from agi_app.domain.request import CallbackRequest, State
from agi_app.store.open import StoreConfig, open_store
from tests.acceptance.calls import set_paused
from tests.support.ami import ami_client, cli

NOW = datetime.now(UTC)
TEMPLATE = CallbackRequest(
    id="", channel="", state=State.PENDING, queue="support", priority=5, position=None,
    caller_name="Scale Test", caller_number="", callback_number="", extension=None,
    dialed_number="5000", queue_entered_at=NOW, requested_at=NOW,
    expires_at=NOW + timedelta(hours=6), timeout_prompt=None,
)  # fmt: skip


async def quiet_pbx() -> None:
    """No calls, every agent paused: what each benchmark starts from."""
    async with ami_client() as ami:
        await cli(ami, "channel request hangup all")
        for agent in ("PJSIP/agent1", "PJSIP/agent2", "PJSIP/agent3"):
            await set_paused(ami, agent, True)


async def stored_waiting(settings: Settings, n: int, tag: str) -> None:
    """``n`` pending requests, oldest first, each with a number of its own."""
    async with open_store(StoreConfig.of(settings)) as store:
        for i in range(n):
            await store.add(replace(
                TEMPLATE, id=str(uuid.uuid4()), channel=f"{tag}.{i}",
                callback_number=f"+1555{i:07d}", caller_number=f"+1555{i:07d}",
                queue_entered_at=NOW + timedelta(milliseconds=i),
            ))  # fmt: skip
