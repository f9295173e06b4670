"""Serving a placed request on the fake PBX: offers, declines, expiry, the customer leg."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from agi_app.domain.lifecycle import EVENT_NAMES
from agi_app.domain.options import Mode
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
        await eventually_local(  # the pop is forgotten as the change is carried out
            lambda: rig.serving.screen_pops, lambda pops: pops == {}, within=5,
            what="the screen-pop forgotten",
        )  # fmt: skip
        assert rig.pbx.actions("QueueWithdrawCaller") == []  # agent2 has not declined yet
        rig.pbx.ring(request_id, 1, "PJSIP/agent2")
        rig.pbx.decline(request_id, 1, "PJSIP/agent2")
        done = await rig.until(request_id, lambda r: r.state is State.DONE, "withdrawn")
        assert done.call_outcome is CallOutcome.ABANDONED
        # The withdrawal and the informative call follow the saved outcome (commands are
        # carried out once the change is stored): waited for, not assumed done with it.
        await eventually_local(
            lambda: rig.pbx.actions("QueueWithdrawCaller"), lambda w: len(w) == 1,
            within=5, what="the placeholder withdrawn",
        )  # fmt: skip
        informs = await eventually_local(
            lambda: [a for a in rig.pbx.actions("Originate") if a.get("Application")],
            lambda found: len(found) == 1, within=5, what="the informative call",
        )  # fmt: skip
        (inform,) = informs
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
        await eventually_local(  # the pop is forgotten as the change is carried out
            lambda: rig.serving.screen_pops, lambda pops: pops == {}, within=5,
            what="the screen-pop forgotten",
        )  # fmt: skip


async def test_a_cancelled_request_leaves_the_queue(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        request_id = await placed(rig)
        done = await rig.serving.cancel(request_id, "ann", credential="web:ann")
        assert done is not None and done.call_outcome is CallOutcome.CANCELLED
        assert rig.pbx.waiting() == []
        assert len(rig.pbx.actions("Hangup")) == 1


async def test_an_unreached_customer_is_retried_from_its_original_place(tmp_path: Path) -> None:
    """retries=1: held in the store for the interval (no placeholder, nothing dialed), then
    placed again ahead of a live caller who came after its original entry; the second
    unanswered dial decides the outcome."""
    async with serving_on(tmp_path) as rig:
        first = await rig.add("+15551230001", waited=60, retries=1, retry_interval=1)
        await rig.serving.request_stored(first)
        await rig.until(first.id, lambda r: r.state is State.WAITING, "waiting")
        rig.pbx.live_caller("support", "live-1")
        rig.pbx.ring(first.id, 1, "PJSIP/agent1")
        rig.pbx.answer(first.id, 1, "PJSIP/agent1")
        await rig.until(first.id, lambda r: r.state is State.DIALING, "agent answered")
        rig.pbx.dial_customer(first.id, 1, "NOANSWER")
        rig.pbx.hang_up(f"cb-{first.id}-1-q")
        held = await rig.until(first.id, lambda r: r.customer_attempts == 1, "retry decided")
        assert held.state is State.PENDING and held.call_outcome is None
        assert held.not_before is not None and held.customer_ended_at is not None
        registry = rig.serving.metrics.registry
        assert registry.get_sample_value("callback_retries_total", {"queue": "support"}) == 1
        assert rig.pbx.waiting() == ["live-1"]  # nothing of it in the queue meanwhile
        again = await rig.until(first.id, lambda r: r.state is State.WAITING, "placed again")
        assert again.attempt == 2 and again.not_before is None
        assert datetime.now(UTC) >= held.not_before
        assert rig.pbx.waiting() == [f"cb-{first.id}-2-q", "live-1"]  # its original place
        rig.pbx.ring(first.id, 2, "PJSIP/agent2")
        rig.pbx.answer(first.id, 2, "PJSIP/agent2")
        await rig.until(first.id, lambda r: r.state is State.DIALING, "agent answered again")
        rig.pbx.dial_customer(first.id, 2, "BUSY")
        done = await rig.until(first.id, lambda r: r.state is State.DONE, "missed")
        assert (done.call_outcome, done.customer_attempts) == (CallOutcome.MISSED, 2)
        events = [e.event for e in await rig.store.events(first.id)]
        assert events.count("CustomerDialed") == 2 and events.count("CustomerUnreached") == 2
        # Each name the log holds is one a webhook subscription may name (EVENT_NAMES).
        assert set(events) <= EVENT_NAMES and {"requested", "Placed", "Offered"} <= set(events)


async def test_a_request_between_dials_can_be_cancelled(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        request = await rig.add("+15551230001", retries=2, retry_interval=60)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        rig.pbx.ring(request.id, 1, "PJSIP/agent1")
        rig.pbx.answer(request.id, 1, "PJSIP/agent1")
        await rig.until(request.id, lambda r: r.state is State.DIALING, "agent answered")
        rig.pbx.dial_customer(request.id, 1, "CHANUNAVAIL")
        await rig.until(request.id, lambda r: r.customer_attempts == 1, "retry decided")
        done = await rig.serving.cancel(request.id, "ann", credential="web:ann")
        assert done is not None and done.call_outcome is CallOutcome.CANCELLED
        assert len([a for a in rig.pbx.actions("Originate") if not a.get("Application")]) == 1


async def test_a_machine_verdict_is_kept_and_ends_machine_answered(tmp_path: Path) -> None:
    """amd=yes: the placeholder carries AMD()'s parameters for [callback-amd] on the
    customer's channel; its verdict comes back as a UserEvent from that channel, which names
    the request's leg, even after the customer leg counts as answered (Dial's G())."""
    async with serving_on(tmp_path) as rig:
        request = await rig.add("+15551230001", amd=True)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        (placed,) = rig.pbx.placed
        assert placed.variables["__CB_AMD_ARGS"] == "2500:1500:800:5000:100:50:3:256:5000"
        assert placed.variables["__CB_AMD_LEG"] == f"cb-{request.id}-1-c"
        rig.pbx.ring(request.id, 1, "PJSIP/agent1")
        rig.pbx.answer(request.id, 1, "PJSIP/agent1")
        rig.pbx.dial_customer(request.id, 1, "ANSWER")
        await rig.until(request.id, lambda r: r.state is State.CONNECTED, "connected")
        rig.pbx.machine_detection(request.id, 1, "MACHINE")
        judged = await rig.until(request.id, lambda r: r.amd_status == "MACHINE", "judged")
        assert judged.amd_cause == "MAXWORDS-3-3"
        rig.pbx.hang_up(f"cb-{request.id}-1-c")
        done = await rig.until(request.id, lambda r: r.state is State.DONE, "done")
        assert (done.call_outcome, done.contact_outcome) == (
            CallOutcome.MACHINE,
            ContactOutcome.ANSWERED,
        )
        names = [e.event for e in await rig.store.events(request.id)]
        assert "AmdVerdict" in names and set(names) <= EVENT_NAMES


async def test_without_amd_the_customer_is_dialed_without_detection(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        await placed(rig)
        (placed_one,) = rig.pbx.placed
        assert placed_one.variables["__CB_AMD_ARGS"] == ""  # no detection


async def test_customer_first_calls_the_customer_at_its_turn_and_an_agent_after_key_1(
    tmp_path: Path,
) -> None:
    """mode=customer_first: the placeholder waits unrung (QUEUE_MIN_PENALTY); at its turn
    (an agent free, nobody before it) the customer is called, judged, presses 1 and joins at
    the head of the level; the placeholder leaves; an agent then takes the customer."""
    async with serving_on(tmp_path) as rig:
        request = await rig.add("+15551230001", mode=Mode.CUSTOMER_FIRST)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.CALLING, "its turn came")
        (placed,) = rig.pbx.placed
        assert placed.variables["CB_MODE"] == "customer_first"
        (shown,) = await rig.serving.views.live_view()  # the Live view shows it being called
        assert (shown["state"], shown["mode"], shown["position"]) == (
            "calling",
            "customer_first",
            1,
        )
        (call,) = [a for a in rig.pbx.actions("Originate") if a.get("Context")
                   == "callback-customer-first"]  # fmt: skip
        assert call["Channel"] == "PJSIP/+15551230001@pstn"
        assert call["ChannelId"] == f"cb-{request.id}-1-f"
        variables = dict(v.split("=", 1) for v in call["Variable"])
        assert variables["CB_GREETING"] == "callback/customer-first-greeting"
        assert variables["__CB_ID"] == request.id  # the agent's screen-pop, later
        rig.pbx.customer_first_answers(request.id, 1, "1")
        queued = await rig.until(request.id, lambda r: r.state is State.QUEUED, "queued")
        assert (queued.customer_key, queued.amd_status) == ("1", "HUMAN")
        await eventually_local(
            lambda: rig.pbx.waiting(), lambda w: w == [f"cb-{request.id}-1-f"], within=5,
            what="the placeholder gone, the customer in its place",
        )  # fmt: skip
        leg = f"cb-{request.id}-1-f"
        rig.pbx.emit(Event="AgentCalled", Queue="support", Interface="PJSIP/agent1", Uniqueid=leg)
        await eventually_local(
            lambda: rig.serving.screen_pops, lambda p: p == {"PJSIP/agent1": request.id},
            within=5, what="the screen-pop",
        )  # fmt: skip
        rig.pbx.emit(Event="AgentConnect", Queue="support", Interface="PJSIP/agent1", Uniqueid=leg)
        await rig.until(request.id, lambda r: r.state is State.CONNECTED, "connected")
        rig.pbx.hang_up(leg)
        done = await rig.until(request.id, lambda r: r.state is State.DONE, "done")
        assert (done.call_outcome, done.contact_outcome) == (
            CallOutcome.ANSWERED,
            ContactOutcome.ANSWERED,
        )


async def test_customer_first_waits_for_its_turn(tmp_path: Path) -> None:
    """No agent available: its turn has not come, nothing is dialed."""
    async with serving_on(tmp_path) as rig:
        for member in rig.pbx.members["support"]:
            member.paused = True
        request = await rig.add("+15551230001", mode=Mode.CUSTOMER_FIRST)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        await rig.serving.turns.check()
        assert (await rig.get(request.id)).state is State.WAITING
        assert [a for a in rig.pbx.actions("Originate") if a.get("Context")
                == "callback-customer-first"] == []  # fmt: skip
        rig.pbx.members["support"][0].paused = False
        await rig.until(request.id, lambda r: r.state is State.CALLING, "its turn came")


async def test_customer_first_never_dials_a_number_the_policy_now_refuses(tmp_path: Path) -> None:
    """A policy tightened while it waited: at its turn it is cancelled, as the placer would."""
    async with serving_on(tmp_path, allowed_number_prefixes=["+1555"]) as rig:
        for member in rig.pbx.members["support"]:
            member.paused = True
        request = await rig.add("+15551230001", mode=Mode.CUSTOMER_FIRST)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        # As a tighter policy would be, for the turn watcher alone (the placer placed it).
        rig.serving.turns._rules = replace(rig.serving.turns._rules, allowed_prefixes=())
        rig.pbx.members["support"][0].paused = False
        done = await rig.until(request.id, lambda r: r.state is State.DONE, "cancelled")
        assert done.call_outcome is CallOutcome.CANCELLED
        assert [a for a in rig.pbx.actions("Originate") if a.get("Context")
                == "callback-customer-first"] == []  # fmt: skip
