"""No stale duplicate, on the fake PBX: a number answered by an agent of a queue as a live
caller cancels its callbacks still waiting in that queue (cancel_on_live_answer, on by
default); one being served goes on, and the option off keeps them.

The AMI events are applied in order by one task, so a later request seen cancelled means the
earlier AgentConnect was applied too: the tests that expect nothing to change wait for that.
"""

from pathlib import Path

from agi_app.domain.channel_ids import Leg, channel_id
from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State
from tests.support.poll import eventually_local
from tests.unit.serving.rig import Rig, serving_on

LIVE = "1795680000.5"  # the live caller's uniqueid, as Asterisk makes them


async def placed(rig: Rig, number: str, **kw: object) -> CallbackRequest:
    request = await rig.add(number, **kw)  # type: ignore[arg-type]
    await rig.serving.request_stored(request)
    return await rig.until(request.id, lambda r: r.state is State.WAITING, f"{number} waiting")


def placeholder_channel(rig: Rig, request: CallbackRequest) -> str:
    return rig.pbx.channels[channel_id(request.id, 1, Leg.PLACEHOLDER)]["Channel"]


def answered_live(rig: Rig, uniqueid: str, number: str, queue: str = "support") -> None:
    """``number`` calls ``queue`` and agent2 answers it there."""
    rig.pbx.live_caller(queue, uniqueid, number=number)
    rig.pbx.answer_live(uniqueid, "PJSIP/agent2", queue)


async def cancelled(rig: Rig, request: CallbackRequest) -> CallbackRequest:
    return await rig.until(request.id, lambda r: r.state is State.DONE, "cancelled")


async def test_a_waiting_callback_is_cancelled_when_its_number_is_answered_live(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path) as rig:
        request = await placed(rig, "+15551230001")
        elsewhere = await placed(rig, "+15551230001", queue="sales", channel="ch-sales")
        channel = placeholder_channel(rig, request)
        answered_live(rig, LIVE, "5551230001")  # the carrier's national form of the number
        done = await cancelled(rig, request)
        assert (done.call_outcome, done.contact_outcome) == (
            CallOutcome.CANCELLED,
            ContactOutcome.MISSED,
        )
        last = (await rig.store.events(request.id))[-1]
        assert (last.event, last.detail) == (
            "Cancelled",
            {"by": f"answered as a live call: {LIVE} by PJSIP/agent2", "credential": "service"},
        )
        # Its placeholder left the queue; nothing was dialed for it.
        assert [a["Channel"] for a in rig.pbx.actions("Hangup")] == [channel]
        await eventually_local(
            rig.pbx.waiting, lambda w: w == [], within=3, what="the placeholder gone"
        )
        assert [p.request_id for p in rig.pbx.placed] == [request.id, elsewhere.id]
        # The callback of the same number in another queue waits on.
        assert (await rig.get(elsewhere.id)).state is State.WAITING
        assert rig.pbx.waiting("sales") == [channel_id(elsewhere.id, 1, Leg.PLACEHOLDER)]


async def test_an_offered_callback_is_cancelled_and_its_agent_stops_ringing(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path) as rig:
        request = await placed(rig, "+15551230001")
        channel = placeholder_channel(rig, request)
        rig.pbx.ring(request.id, 1, "PJSIP/agent1")
        await rig.until(request.id, lambda r: r.state is State.OFFERED, "offered")
        answered_live(rig, LIVE, "+15551230001")
        done = await cancelled(rig, request)
        assert done.call_outcome is CallOutcome.CANCELLED
        assert [a["Channel"] for a in rig.pbx.actions("Hangup")] == [channel]


async def test_a_callback_held_in_the_store_is_cancelled_and_never_placed(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path, placement_window=1) as rig:
        first = await placed(rig, "+15551230001")
        held = await rig.add("+15551230002", waited=-1)
        await rig.serving.request_stored(held)
        await eventually_local(
            lambda: rig.serving.held_count, lambda n: n == 1, within=3, what="one held"
        )
        answered_live(rig, LIVE, "+15551230002")
        done = await cancelled(rig, held)
        assert (done.call_outcome, done.attempt) == (CallOutcome.CANCELLED, 0)
        await eventually_local(  # the placer hears of it just after the store
            lambda: rig.serving.held_count, lambda n: n == 0, within=3, what="none held"
        )
        assert rig.pbx.actions("Hangup") == []  # it had no placeholder
        assert [p.request_id for p in rig.pbx.placed] == [first.id]


async def test_with_cancel_on_live_answer_off_the_callback_is_kept(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        kept = await placed(rig, "+15551230001", cancel_on_live_answer=False)
        other = await placed(rig, "+15551230002")
        other_channel = placeholder_channel(rig, other)
        answered_live(rig, LIVE, "+15551230001")
        answered_live(rig, "1795680000.6", "+15551230002")
        await cancelled(rig, other)  # the events before it were applied too
        assert (await rig.get(kept.id)).state is State.WAITING
        assert channel_id(kept.id, 1, Leg.PLACEHOLDER) in rig.pbx.waiting()
        assert [a["Channel"] for a in rig.pbx.actions("Hangup")] == [other_channel]
        assert "Cancelled" not in [e.event for e in await rig.store.events(kept.id)]


async def test_a_callback_already_being_served_goes_on(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        served = await placed(rig, "+15551230001")
        other = await placed(rig, "+15551230002")
        other_channel = placeholder_channel(rig, other)
        rig.pbx.ring(served.id, 1, "PJSIP/agent1")
        rig.pbx.answer(served.id, 1, "PJSIP/agent1")
        await rig.until(served.id, lambda r: r.state is State.DIALING, "dialing")
        answered_live(rig, LIVE, "+15551230001")
        answered_live(rig, "1795680000.6", "+15551230002")
        await cancelled(rig, other)
        assert (await rig.get(served.id)).state is State.DIALING
        rig.pbx.dial_customer(served.id, 1, "ANSWER")
        await rig.until(served.id, lambda r: r.state is State.CONNECTED, "connected")
        assert [a["Channel"] for a in rig.pbx.actions("Hangup")] == [other_channel]


async def test_a_withheld_or_unusable_live_number_cancels_nothing(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        kept = await placed(rig, "+15551230001")
        answered_live(rig, "1795680000.6", "anonymous")
        answered_live(rig, "1795680000.7", "")
        answered_live(rig, "1795680000.8", "+1555123000x")
        answered_live(rig, LIVE, "+15551230001", queue="sales")  # another queue
        other = await placed(rig, "+15551230002")
        answered_live(rig, "1795680000.9", "+15551230002")
        await cancelled(rig, other)
        assert (await rig.get(kept.id)).state is State.WAITING
