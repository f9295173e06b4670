"""Placement on the fake PBX: serving order, the placement window, head of line, PBX faults."""

import asyncio
from pathlib import Path

from agi_app.domain.channel_ids import Leg, channel_id
from agi_app.domain.priority import queue_prio
from agi_app.domain.request import CallOutcome, State
from tests.support.fake_pbx import Entry
from tests.support.poll import eventually_local
from tests.unit.serving.rig import WITHIN, serving_on


async def test_requests_are_placed_in_serving_order_at_their_true_positions(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path, login=False) as rig:
        # A live caller who entered 20 s ago waits (before serving saw it join).
        entered = asyncio.get_running_loop().time() - 20
        live = Entry("1795650000.1", "PJSIP/pstn-1", queue_prio(5), entered)
        rig.pbx.queues["support"].append(live)
        late = await rig.add("+15551230001", waited=10)
        urgent = await rig.add("+15551230002", waited=5, priority=1)
        early = await rig.add("+15551230003", waited=60)
        rig.pbx.login()
        await rig.until_placed(3)
        assert [p.request_id for p in rig.pbx.placed] == [urgent.id, early.id, late.id]
        # Level 1 first; then by entry: 60 s ago, the live caller (20 s), 10 s ago.
        assert rig.pbx.waiting() == [
            channel_id(urgent.id, 1, Leg.PLACEHOLDER),
            channel_id(early.id, 1, Leg.PLACEHOLDER),
            "1795650000.1",
            channel_id(late.id, 1, Leg.PLACEHOLDER),
        ]
        for request in (urgent, early, late):
            waiting = await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
            assert waiting.attempt == 1
        (placed,) = [e for e in await rig.store.events(late.id) if e.event == "Placed"]
        assert placed.detail["position"] == 4 and placed.detail["ahead"] == 3


async def test_beyond_the_window_requests_wait_in_the_store_until_room_opens(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path, login=False, placement_window=2) as rig:
        first, second, third, fourth = [
            await rig.add(f"+1555123000{i}", waited=40 - i) for i in range(1, 5)
        ]
        rig.pbx.login()
        await rig.until_placed(2)
        await eventually_local(lambda: rig.serving.held_count, lambda n: n == 2, within=WITHIN,
                               what="two held")  # fmt: skip
        view = {v["id"]: v for v in await rig.serving.live_view()}
        assert [view[r.id]["held"] for r in (first, second, third, fourth)] == [
            False, False, True, True
        ]  # fmt: skip
        assert [view[r.id]["position"] for r in (third, fourth)] == [3, 4]
        # The first is taken by an agent: one place opens, the first held comes in.
        rig.pbx.ring(first.id, 1, "PJSIP/agent1")
        rig.pbx.answer(first.id, 1, "PJSIP/agent1")
        await rig.until_placed(3)
        assert rig.pbx.placed[2].request_id == third.id
        assert rig.serving.held_count == 1


async def test_a_refused_placement_stops_the_batch_and_is_placed_again_first(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path, login=False) as rig:
        first = await rig.add("+15551230001", waited=30)
        second = await rig.add("+15551230002", waited=20, queue="sales")  # even another queue
        rig.pbx.refusals.append("Originate failed")  # a healthy Asterisk says no, once
        rig.pbx.login()
        await rig.until_placed(2)
        originated = [str(f["OtherChannelId"]) for f in rig.pbx.actions("Originate")]
        assert originated == [
            channel_id(first.id, 1, Leg.PLACEHOLDER),
            channel_id(first.id, 2, Leg.PLACEHOLDER),  # head of line: before the second
            channel_id(second.id, 1, Leg.PLACEHOLDER),
        ]
        placed = await rig.until(first.id, lambda r: r.state is State.WAITING, "waiting")
        assert placed.placement_failures == 1  # its own failure counts


async def test_a_pbx_shutting_down_costs_no_attempt(tmp_path: Path) -> None:
    async with serving_on(tmp_path, login=False) as rig:
        request = await rig.add("+15551230001")
        rig.pbx.refusals.append("Asterisk is shutting down")
        rig.pbx.login()
        await eventually_local(lambda: rig.pbx.actions("Originate"), lambda a: len(a) == 1,
                               within=WITHIN, what="one refused originate")  # fmt: skip
        assert not rig.pbx.booted.is_set()
        rig.pbx.emit(Event="FullyBooted")  # it is back: placing goes on
        placed = await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        assert placed.attempt == 2 and placed.placement_failures == 0


async def test_a_lost_placeholder_is_placed_again_before_those_behind_it(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        first = await rig.add("+15551230001", waited=30)
        await rig.serving.request_stored(first)
        await rig.until(first.id, lambda r: r.state is State.WAITING, "first waiting")
        rig.pbx.hang_up(channel_id(first.id, 1, Leg.PLACEHOLDER))
        second = await rig.add("+15551230002", waited=10)
        await rig.serving.request_stored(second)  # due now, but its queue waits for the first
        await rig.until_placed(3)
        assert [(p.request_id, p.attempt) for p in rig.pbx.placed] == [
            (first.id, 1), (first.id, 2), (second.id, 1)
        ]  # fmt: skip
        again = await rig.get(first.id)
        assert again.placement_failures == 0  # it had its place: not its fault


async def test_a_number_the_policy_no_longer_allows_is_cancelled_not_placed(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path, allowed_number_prefixes=["+1555123"]) as rig:
        request = await rig.add("+15559870001")  # stored under a wider policy
        await rig.serving.request_stored(request)
        done = await rig.until(request.id, lambda r: r.state is State.DONE, "cancelled")
        assert done.call_outcome is CallOutcome.CANCELLED
        assert rig.pbx.actions("Originate") == []  # no agent rung, no informative call


async def test_a_process_not_confirmed_as_the_serving_one_dials_nothing_and_is_not_charged(
    tmp_path: Path,
) -> None:
    confirmed = False  # a leader frozen past its lease check (agi_app/store/postgres/leadership.py)
    async with serving_on(tmp_path, leads=lambda: confirmed) as rig:
        request = await rig.add("+15551230001")
        rig.serving.placer.mark_due(request.id)
        await rig.until(request.id, lambda r: r.attempt >= 1, "a placement tried")
        assert rig.pbx.actions("Originate") == []  # nothing reached Asterisk
        confirmed = True  # the next check confirmed it: placing goes on
        placed = await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        assert placed.placement_failures == 0
        assert len(rig.pbx.actions("Originate")) == 1
