"""Serving a placed request on the fake PBX: offers, declines, expiry, the customer leg."""

from pathlib import Path

from agi_app.domain.request import CallOutcome, ContactOutcome, State
from tests.support.poll import eventually_local
from tests.unit.serving.rig import Rig, serving_on


async def placed(rig: Rig, number: str = "+15551230001") -> str:
    request = await rig.add(number)
    await rig.serving.request_stored(request)
    await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
    return request.id


async def test_when_every_available_agent_declines_the_request_is_withdrawn(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path) as rig:
        request_id = await placed(rig)
        rig.pbx.ring(request_id, 1, "PJSIP/agent1")
        offered = await rig.until(request_id, lambda r: r.state is State.OFFERED, "offered")
        assert rig.serving.screen_pops == {"PJSIP/agent1": request_id}
        assert offered.agent == "PJSIP/agent1"
        (pop,) = rig.pbx.actions("UserEvent")
        assert pop["UserEvent"] == "CallbackScreenPop" and pop["RequestId"] == request_id
        rig.pbx.decline(request_id, 1, "PJSIP/agent1")
        await rig.until(request_id, lambda r: r.state is State.WAITING, "declined once")
        assert rig.serving.screen_pops == {}
        assert rig.pbx.actions("QueueWithdrawCaller") == []  # agent2 has not declined yet
        rig.pbx.ring(request_id, 1, "PJSIP/agent2")
        rig.pbx.decline(request_id, 1, "PJSIP/agent2")
        done = await rig.until(request_id, lambda r: r.state is State.DONE, "withdrawn")
        assert done.call_outcome is CallOutcome.ABANDONED
        assert len(rig.pbx.actions("QueueWithdrawCaller")) == 1
        (inform,) = [a for a in rig.pbx.actions("Originate") if a.get("Application")]
        assert inform["Channel"] == "PJSIP/+15551230001@pstn"
        assert inform["Data"] == "callback/timeout"


async def test_a_withdrawal_asterisk_refuses_hangs_the_placeholder_up(tmp_path: Path) -> None:
    """The request is over once every available agent declined: its placeholder must not
    stay where an agent could take it, and is never placed again."""
    async with serving_on(tmp_path) as rig:
        request_id = await placed(rig)
        rig.pbx.withdraw_refused = True
        for agent in ("PJSIP/agent1", "PJSIP/agent2"):
            rig.pbx.ring(request_id, 1, agent)
            rig.pbx.decline(request_id, 1, agent)
        done = await rig.until(request_id, lambda r: r.state is State.DONE, "abandoned")
        assert done.call_outcome is CallOutcome.ABANDONED
        await eventually_local(
            lambda: rig.pbx.actions("Hangup"), lambda hs: len(hs) == 1, within=5, what="hung up"
        )
        assert rig.pbx.waiting() == []
        assert len([a for a in rig.pbx.actions("Originate") if not a.get("Application")]) == 1


async def test_a_request_at_its_max_wait_expires_and_the_customer_is_informed(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path) as rig:
        request_id = await placed(rig)
        rig.pbx.time_out(request_id, 1)
        done = await rig.until(request_id, lambda r: r.state is State.DONE, "expired")
        assert (done.call_outcome, done.contact_outcome) == (
            CallOutcome.EXPIRED, ContactOutcome.MISSED
        )  # fmt: skip
        assert [a["Data"] for a in rig.pbx.actions("Originate") if a.get("Application")] == [
            "callback/timeout"
        ]
        logged = [a["Event"] for a in rig.pbx.actions("QueueLog")]
        assert logged == ["CALLBACKREQUEST", "CALLBACKQUEUED", "CALLBACKDONE"]


async def test_answered_by_an_agent_then_by_the_customer(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        request_id = await placed(rig)
        rig.pbx.ring(request_id, 1, "PJSIP/agent2")
        rig.pbx.answer(request_id, 1, "PJSIP/agent2")
        await rig.until(request_id, lambda r: r.state is State.DIALING, "agent answered")
        rig.pbx.dial_customer(request_id, 1, "ANSWER")
        await rig.until(request_id, lambda r: r.state is State.CONNECTED, "customer answered")
        assert rig.serving.screen_pops == {"PJSIP/agent2": request_id}
        rig.pbx.hang_up(f"cb-{request_id}-1-c")
        done = await rig.until(request_id, lambda r: r.state is State.DONE, "call ended")
        assert (done.call_outcome, done.contact_outcome) == (
            CallOutcome.ANSWERED, ContactOutcome.ANSWERED
        )  # fmt: skip
        assert rig.serving.screen_pops == {}


async def test_a_cancelled_request_leaves_the_queue(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        request_id = await placed(rig)
        done = await rig.serving.cancel(request_id, "ann")
        assert done is not None and done.call_outcome is CallOutcome.CANCELLED
        assert rig.pbx.waiting() == []
        assert len(rig.pbx.actions("Hangup")) == 1
