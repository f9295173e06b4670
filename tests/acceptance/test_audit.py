"""`agi-callback audit` on the real sandbox's queue_log: a calm day (live callers and callbacks
offered in the ideal order) lists no inversion; a day where the first callback's placeholder
was hung up while the service was away lists the one inversion, with that cause.

queue_log is shared by every test of the run: each test audits only calls that entered the
queue after it started (--since), and only its own store's callbacks.
"""

import json
import subprocess
import sys
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import CallbackRequest, State
from agi_app.store.open import StoreConfig, open_store
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invites,
    set_paused,
)
from tests.support.ami import action, eventually, queue_callers
from tests.support.cli_env import cli_env
from tests.support.testbed import current
from tests.support.uas import Behaviour

REPO = Path(__file__).resolve().parents[2]


def command(settings: Settings, *args: str) -> dict[str, Any]:
    """`agi-callback ARGS` as a supervisor runs it, on this test's store; its JSON output."""
    done = subprocess.run(
        [sys.executable, "-m", "agi_app", *args],
        env=cli_env(settings),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def audit(settings: Settings, since: datetime) -> dict[str, Any]:
    local = since.astimezone()
    args = ["audit", "--day", local.date().isoformat(), "--queue", "support"]
    queue_log = current().asterisk.queue_log()
    args += ["--queue-log", str(queue_log), "--since", local.isoformat(), "--format", "json"]
    return command(settings, *args)


async def two_stored_callbacks(settings: Settings, since: datetime) -> tuple[str, str]:
    """A (older) and B, both level 5, in the store before the service starts."""
    ids = str(uuid.uuid4()), str(uuid.uuid4())
    async with open_store(StoreConfig.of(settings)) as stored:
        for i, (rid, number) in enumerate(zip(ids, ("+15551250001", "+15551250002"), strict=True)):
            entered = since + timedelta(milliseconds=10 * (i + 1))
            await stored.add(CallbackRequest(
                id=rid, channel=f"audit.{i}", state=State.PENDING, queue="support", priority=5,
                position=None, caller_name="Audit Test", caller_number=number,
                callback_number=number, extension=None, dialed_number="5000",
                timeout_prompt=None, queue_entered_at=entered, requested_at=entered,
                expires_at=entered + timedelta(hours=1),
            ))  # fmt: skip
    return ids


async def queue_length(ami: Manager, count: int) -> list[dict[str, str]]:
    return await eventually(
        lambda: queue_callers(ami, "support"),
        lambda es: len(es) == count,
        within=20,
        what=f"{count} in the queue",
    )


async def test_calm_day_offers_in_the_ideal_order_and_lists_no_inversion(
    ami: Manager, settings: Settings, phones: Phones, tmp_path: Path
) -> None:
    since = datetime.now(UTC)
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    await phones.start(5090, Behaviour.ANSWER, "carrier")
    a, b = await two_stored_callbacks(settings, since)
    async with AsyncExitStack() as stack, Service(settings) as service:
        assert service.store is not None
        await queue_length(ami, 2)
        # A live caller at level 1 comes later and is served first, as the ideal order says.
        live = "+15551250003"
        await stack.enter_async_context(calling(tmp_path, "5003", live, []))
        await in_queue(ami, live)
        await set_paused(ami, AGENT1, False)
        for served in (1, 2, 3):
            await invites(agent, served)
            await queue_length(ami, 3 - served)  # it left the queue to the agent
            await hang_up_agent(ami, AGENT1)
        await eventually(
            lambda: service.store.requests(State.DONE),  # type: ignore[union-attr]
            lambda rs: len(rs) == 2,
            within=20,
            what="both callbacks done",
        )

    result = audit(settings, since)
    offered = [(o["kind"], o["ideal_rank"], o["answered"]) for o in result["offers"]]
    assert offered == [("live", 1, True), ("callback", 2, True), ("callback", 3, True)]
    assert [o["id"] for o in result["offers"][1:]] == [a, b]
    first = result["calls"][0]
    assert (first["level"], first["level_known"]) == (1, True)  # CALLERLEVEL from the dialplan
    assert result["inversions"] == []


async def test_inversion_from_a_placeholder_lost_while_the_service_was_away(
    ami: Manager, settings: Settings, phones: Phones
) -> None:
    since = datetime.now(UTC)
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    await phones.start(5090, Behaviour.ANSWER, "carrier")
    a, b = await two_stored_callbacks(settings, since)
    async with Service(settings):
        first, _ = await queue_length(ami, 2)
    # The service is away: nobody places A again when its placeholder is hung up, and the
    # agent who comes in meanwhile gets B.
    await action(ami, Action="Hangup", Channel=first["Channel"])
    await queue_length(ami, 1)
    await set_paused(ami, AGENT1, False)
    await invites(agent, 1)
    await queue_length(ami, 0)
    async with Service(settings) as service:
        assert service.store is not None
        await eventually(
            lambda: service.store.get(a),  # type: ignore[union-attr]
            lambda r: r is not None and r.attempt == 2 and r.state is State.WAITING,
            within=20,
            what="A placed again",
        )

    result = audit(settings, since)
    assert [(o["id"], o["ideal_rank"]) for o in result["offers"]] == [(b, 2)]
    (inversion,) = result["inversions"]
    assert (inversion["waiting"]["id"], inversion["offered"]["id"]) == (a, b)
    assert inversion["agent"] == AGENT1
    assert inversion["cause"] == "placeholder_lost"
    assert "(attempt 1) left the queue (ABANDON)" in inversion["explanation"]
    assert "attempt 2 joined the queue" in inversion["explanation"]
    # And `show` explains B's place: behind A, the one call ahead when it was placed.
    (placed,) = command(settings, "show", b)["explanation"]
    assert placed.startswith("attempt 1 placed at ")
    assert f"at position 2: 1 call ahead (level 5: 1); nearest ahead: callback {a} (level 5" in (
        placed
    )
