"""Calling hours on the fake PBX, with the clock set just before a closing: what waits at
closing leaves the queue and is carried to the opening or expires; nothing rings or dials
outside hours."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from agi_app.config.settings import ScheduleSettings
from agi_app.domain.hours import AtClosing
from agi_app.domain.request import CallOutcome, State
from tests.support.clock import clock_from
from tests.support.poll import eventually, eventually_local
from tests.unit.serving.rig import Rig, serving_on

# Monday 30 Nov 2026, 2 s before 17:00 UTC; the office reopens at 17:00:03.
START = datetime(2026, 11, 30, 16, 59, 58, tzinfo=UTC)
OFFICE = ScheduleSettings(timezone="UTC", hours={"mon": "09:00-17:00,17:00:03-18:00"})
NIGHT = ScheduleSettings(timezone="UTC")  # never open


async def until(rig: Rig, request_id: str, accept: Callable[..., bool], what: str) -> None:
    async def probe() -> object:
        return await rig.get(request_id)

    await eventually(probe, accept, within=10, what=what, interval=0.02)


async def test_a_callback_waiting_at_closing_is_carried_to_the_opening(tmp_path: Path) -> None:
    async with serving_on(tmp_path, clock=clock_from(START), schedules={"office": OFFICE}) as rig:
        request = await rig.add("+15551230001", schedule="office")
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        await until(rig, request.id, lambda r: r.state is State.PENDING, "carried at 17:00")
        carried = await rig.get(request.id)
        assert carried.not_before == datetime(2026, 11, 30, 17, 0, 3, tzinfo=UTC)
        assert rig.pbx.waiting() == []  # its placeholder left the queue at closing
        registry = rig.serving.metrics.registry
        assert registry.get_sample_value("callback_carried_over_total", {"queue": "support"}) == 1
        await until(rig, request.id, lambda r: r.state is State.WAITING, "placed at opening")
        assert rig.clock() >= carried.not_before
        assert (await rig.get(request.id)).attempt == 2


async def test_at_closing_expire_ends_it_and_informs_within_the_grace(tmp_path: Path) -> None:
    async with serving_on(tmp_path, clock=clock_from(START), schedules={"office": OFFICE}) as rig:
        request = await rig.add("+15551230001", schedule="office", at_closing=AtClosing.EXPIRE)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        await until(rig, request.id, lambda r: r.state is State.DONE, "expired at 17:00")
        assert (await rig.get(request.id)).call_outcome is CallOutcome.EXPIRED
        informs = await eventually_local(
            lambda: [a for a in rig.pbx.actions("Originate") if a.get("Application")],
            lambda found: len(found) == 1,
            within=5,
            what="the informative call",
        )
        assert informs[0]["Data"] == "callback/timeout"


async def test_nothing_is_placed_or_dialed_outside_hours(tmp_path: Path) -> None:
    async with serving_on(tmp_path, clock=clock_from(START), schedules={"night": NIGHT}) as rig:
        request = await rig.add("+15551230001", schedule="night")
        await rig.serving.request_stored(request)
        # A schedule that never opens: it expires at once, and the customer is not called.
        await until(rig, request.id, lambda r: r.state is State.DONE, "expired")
        assert (await rig.get(request.id)).call_outcome is CallOutcome.EXPIRED
        assert rig.pbx.actions("Originate") == []
