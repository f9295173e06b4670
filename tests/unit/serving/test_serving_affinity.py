"""Agent affinity on the fake PBX (preferred_agent): the placeholder waits unrung; at its turn
the preferred agent alone is rung; then, if not taken, any agent at the same place."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agi_app.domain.request import CallOutcome, State
from tests.support.poll import eventually_local
from tests.unit.serving.rig import Rig, serving_on

NUMBER = "+15551230001"


async def ring_of(rig: Rig) -> dict[str, str]:
    """The preferred agent's leg, once originated (its Originate follows the saved state)."""
    await eventually_local(lambda: rig.pbx.rung, bool, within=5, what="the ring originated")
    return rig.pbx.rung[0]


async def waiting_for(rig: Rig, agent: str, timeout: int = 30) -> str:
    request = await rig.add(NUMBER, preferred_agent=agent, affinity_timeout=timeout)
    await rig.serving.request_stored(request)
    return request.id


async def test_the_preferred_agent_alone_is_rung_first_and_takes_it(tmp_path: Path) -> None:
    """agent1 and agent2 free, agent2 preferred: the placeholder is placed unrung (CB_HOLD),
    at its turn agent2 alone is rung (its own leg, the screen-pop for agent2); on answer the
    placeholder leaves and the customer is dialed, as in agent first."""
    async with serving_on(tmp_path) as rig:
        request_id = await waiting_for(rig, "PJSIP/agent2")
        rung = await rig.until(request_id, lambda r: r.state is State.OFFERED, "agent2 rung")
        (placed,) = rig.pbx.placed
        assert placed.variables["CB_HOLD"] == "yes"  # QUEUE_MIN_PENALTY: no member rung
        assert (rung.agent, rung.attempt, rung.affinity) == ("PJSIP/agent2", 2, "ringing")
        ring = await ring_of(rig)
        assert len(rig.pbx.rung) == 1
        assert (ring["CB_AGENT"], ring["CB_AGENT_RING"], ring["CB_ATTEMPT"]) == (
            "PJSIP/agent2", "30", "2"
        )  # fmt: skip
        (originate,) = [a for a in rig.pbx.actions("Originate") if "preferred" in a["Channel"]]
        assert originate["Context"] == "callback-customer"  # the customer once agent2 answers
        assert originate["ChannelId"] == f"cb-{request_id}-2-c"
        await eventually_local(
            lambda: rig.serving.screen_pops, lambda p: p == {"PJSIP/agent2": request_id},
            within=5, what="agent2's screen-pop",
        )  # fmt: skip
        # Meanwhile the placeholder keeps the place.
        assert rig.pbx.waiting() == [f"cb-{request_id}-1-q"]
        rig.pbx.preferred_answers(request_id, 2)
        dialing = await rig.until(request_id, lambda r: r.state is State.DIALING, "answered")
        assert (dialing.agent, dialing.affinity) == ("PJSIP/agent2", "over")
        await eventually_local(
            rig.pbx.waiting, lambda w: w == [], within=5, what="the placeholder gone"
        )
        rig.pbx.dial_customer(request_id, 2, "ANSWER")
        await rig.until(request_id, lambda r: r.state is State.CONNECTED, "connected")
        rig.pbx.hang_up(f"cb-{request_id}-2-c")
        done = await rig.until(request_id, lambda r: r.state is State.DONE, "done")
        assert (done.call_outcome, done.agent) == (CallOutcome.ANSWERED, "PJSIP/agent2")
        assert len(rig.pbx.placed) == 1  # never placed for any agent


async def test_unanswered_by_the_preferred_agent_it_goes_to_any_agent_at_its_place(
    tmp_path: Path,
) -> None:
    """agent2 lets it ring out: the placeholder of the affinity goes and a normal one is
    placed at the same place (before a live caller who came later); any agent takes it."""
    async with serving_on(tmp_path) as rig:
        request = await rig.add(NUMBER, preferred_agent="PJSIP/agent2", waited=60)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.OFFERED, "agent2 rung")
        await ring_of(rig)
        rig.pbx.live_caller("support", "live-1")
        rig.pbx.preferred_answers(request.id, 2, "NOANSWER")
        await rig.until_placed(2)
        again = rig.pbx.placed[1]
        assert (again.attempt, again.position, again.variables["CB_HOLD"]) == (3, 1, "")
        await eventually_local(
            rig.pbx.waiting, lambda w: w == [f"cb-{request.id}-3-q", "live-1"], within=5,
            what="placed again at its place, for any agent",
        )  # fmt: skip
        waiting = await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        assert waiting.affinity == "over"
        rig.pbx.ring(request.id, 3, "PJSIP/agent1")
        rig.pbx.answer(request.id, 3, "PJSIP/agent1")
        answered = await rig.until(request.id, lambda r: r.state is State.DIALING, "agent1")
        assert answered.agent == "PJSIP/agent1"
        assert len(rig.pbx.rung) == 1  # agent2 was rung once only


async def test_a_busy_preferred_agent_is_waited_for_until_the_timeout(tmp_path: Path) -> None:
    """agent2 on a call: its turn is kept for agent2 (nobody rung) for affinity_timeout,
    then it is placed again for any agent."""
    now = [datetime.now(UTC)]
    async with serving_on(tmp_path, clock=lambda: now[0]) as rig:
        rig.pbx.members["support"][1].status = "2"  # agent2 in use
        request_id = await waiting_for(rig, "PJSIP/agent2", timeout=20)
        await rig.until(request_id, lambda r: r.state is State.WAITING, "waiting")
        await rig.serving.turns.check()
        await rig.serving.turns.check()
        assert rig.pbx.rung == [] and len(rig.pbx.placed) == 1
        now[0] += timedelta(seconds=21)
        await rig.until_placed(2)
        assert rig.pbx.placed[1].variables["CB_HOLD"] == ""
        assert rig.pbx.rung == []
        (over,) = [e for e in await rig.store.events(request_id) if e.event == "AffinityOver"]
        assert over.detail["why"] == "PJSIP/agent2 not free within 20s"


async def test_a_preferred_agent_freed_within_the_timeout_is_rung_for_what_is_left(
    tmp_path: Path,
) -> None:
    now = [datetime.now(UTC)]
    async with serving_on(tmp_path, clock=lambda: now[0]) as rig:
        rig.pbx.members["support"][1].status = "2"
        request_id = await waiting_for(rig, "PJSIP/agent2", timeout=20)
        await rig.until(request_id, lambda r: r.state is State.WAITING, "waiting")
        await rig.serving.turns.check()  # its turn came: waited for from now
        now[0] += timedelta(seconds=8)
        rig.pbx.members["support"][1].status = "1"
        await rig.until(request_id, lambda r: r.state is State.OFFERED, "agent2 rung")
        assert (await ring_of(rig))["CB_AGENT_RING"] == "12"


async def test_last_is_the_agent_who_last_handled_the_number(tmp_path: Path) -> None:
    """preferred_agent=last: found in the store at its turn (the newest answered callback to
    the same number); without one, any agent at once."""
    async with serving_on(tmp_path) as rig:
        now = rig.clock()
        for agent, minutes in (("PJSIP/agent1", 60), ("PJSIP/agent2", 10)):
            old = await rig.add(NUMBER, channel=f"old-{agent}")
            done = replace(
                old, state=State.DONE, agent=agent, call_outcome=CallOutcome.ANSWERED,
                agent_answered_at=now - timedelta(minutes=minutes),
            )  # fmt: skip
            await rig.store.save(old, done, "Test", now)
        assert await rig.store.last_agent(NUMBER) == "PJSIP/agent2"
        request_id = await waiting_for(rig, "last")
        rung = await rig.until(request_id, lambda r: r.state is State.OFFERED, "rung")
        assert rung.agent == "PJSIP/agent2"
        assert (await ring_of(rig))["CB_AGENT"] == "PJSIP/agent2"
        # Another number nobody handled yet: no preferred agent to wait for.
        other = await rig.add("+15551230002", preferred_agent="last")
        await rig.serving.request_stored(other)
        await rig.until_placed(3)
        assert [p.variables["CB_HOLD"] for p in rig.pbx.placed] == ["yes", "yes", ""]


async def test_a_preferred_agent_not_in_the_queue_is_given_up_at_once(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        request_id = await waiting_for(rig, "PJSIP/agent9")
        await rig.until_placed(2)
        assert rig.pbx.rung == []
        request = await rig.get(request_id)
        assert request.affinity == "over"


async def test_cancelled_while_the_preferred_agent_rings_both_legs_go(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        request_id = await waiting_for(rig, "PJSIP/agent2")
        await rig.until(request_id, lambda r: r.state is State.OFFERED, "agent2 rung")
        await ring_of(rig)
        await rig.serving.cancel(request_id, "supervisor", credential="web:sup")
        await rig.until(request_id, lambda r: r.state is State.DONE, "cancelled")
        await eventually_local(
            lambda: set(rig.pbx.channels), lambda c: c == set(), within=5,
            what="the ring and the placeholder hung up",
        )  # fmt: skip
        assert rig.pbx.waiting() == []


async def test_a_ring_found_at_login_is_stopped_and_any_agent_takes_it(tmp_path: Path) -> None:
    """The service went away while agent2 rang: at login the ring is hung up and the request
    placed again at its place for any agent; one agent2 answered goes on."""
    async with serving_on(tmp_path) as rig:
        ringing_id = await waiting_for(rig, "PJSIP/agent2")
        await rig.until(ringing_id, lambda r: r.state is State.OFFERED, "agent2 rung")
        await ring_of(rig)
        rig.pbx.lose_link()
        rig.pbx.login()
        again = await rig.until(ringing_id, lambda r: r.attempt == 3, "placed again")
        assert again.affinity == "over"
        assert f"cb-{ringing_id}-2-a" not in rig.pbx.channels  # the ring stopped
        await rig.until_placed(2)
        assert rig.pbx.placed[1].variables["CB_HOLD"] == ""


async def test_a_ring_answered_while_away_goes_on(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        request_id = await waiting_for(rig, "PJSIP/agent2")
        await rig.until(request_id, lambda r: r.state is State.OFFERED, "agent2 rung")
        await ring_of(rig)
        rig.pbx.lose_link()
        rig.pbx.preferred_answers(request_id, 2)  # unseen: the link is down
        rig.pbx.login()
        answered = await rig.until(request_id, lambda r: r.state is State.DIALING, "answered")
        assert answered.agent == "PJSIP/agent2"
        assert len(rig.pbx.placed) == 1
