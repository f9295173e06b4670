"""Reconciliation at login on the fake PBX: after a restart of the service, after a lost link."""

from pathlib import Path

from agi_app.domain.channel_ids import Leg, channel_id
from agi_app.domain.options import Mode
from agi_app.domain.request import CallOutcome, State
from tests.support.fake_pbx import Entry
from tests.support.poll import eventually_local
from tests.unit.serving.rig import serving_on


async def test_after_a_restart_a_kept_place_is_kept_and_a_lost_one_placed_again(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path, login=False) as rig:
        kept = await rig.add("+15551230001", waited=30, state=State.WAITING, attempt=1)
        lost = await rig.add("+15551230002", waited=20, state=State.WAITING, attempt=1)
        served = await rig.add("+15551230003", state=State.DIALING, attempt=2, agent="PJSIP/agent1")
        placeholder = channel_id(kept.id, 1, Leg.PLACEHOLDER)
        rig.pbx.queues["support"].append(Entry(placeholder, "Local/s@x-1;2", 5, 0.0))
        # The customer leg of the third ended while the service was down: AstDB says how.
        rig.pbx.astdb[f"callback/{served.id}"] = "2|1795650000.0|ANSWER|42|1795650100.0"
        rig.pbx.login()
        again = await rig.until(lost.id, lambda r: r.attempt == 2, "placed again")
        await rig.until_placed(1)  # its Originate follows the saved attempt
        assert [p.request_id for p in rig.pbx.placed] == [lost.id]  # the kept one: never twice
        assert (await rig.get(kept.id)).state is State.WAITING
        done = await rig.until(served.id, lambda r: r.state is State.DONE, "outcome read")
        assert done.call_outcome is CallOutcome.ANSWERED
        assert done.customer_ended_at is not None
        assert again.placement_failures == 0


async def test_after_a_lost_link_what_happened_meanwhile_is_read_back(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        first = await rig.add("+15551230001")
        await rig.serving.request_stored(first)
        await rig.until(first.id, lambda r: r.state is State.WAITING, "waiting")
        rig.pbx.lose_link()
        assert not rig.serving.synced.is_set()
        # Meanwhile (unseen): an agent took it and the call ended; and a new request came.
        rig.pbx.queues["support"].clear()
        rig.pbx.channels.clear()
        rig.pbx.astdb[f"callback/{first.id}"] = "1|1795650000.0|ANSWER|30|1795650060.0"
        second = await rig.add("+15551230002")
        await rig.serving.request_stored(second)
        assert len(rig.pbx.placed) == 1  # nothing is placed while the link is down
        rig.pbx.login()
        done = await rig.until(first.id, lambda r: r.state is State.DONE, "served meanwhile")
        assert done.call_outcome is CallOutcome.ANSWERED
        await rig.until(second.id, lambda r: r.state is State.WAITING, "placed after login")
        assert [p.request_id for p in rig.pbx.placed] == [first.id, second.id]


async def test_a_placeholder_of_no_waiting_request_is_hung_up_at_login(tmp_path: Path) -> None:
    """A stray (another store's, or of a request cancelled while it was being placed) found in
    a queue at login is never offered to an agent."""
    async with serving_on(tmp_path, login=False) as rig:
        kept = await rig.add("+15551230001", state=State.WAITING, attempt=1)
        done = await rig.add("+15551230002", state=State.DONE, attempt=1)
        ours = channel_id(kept.id, 1, Leg.PLACEHOLDER)
        strays = [
            channel_id(done.id, 1, Leg.PLACEHOLDER),
            channel_id("0b5c8f7e-3d7a-4a53-9d65-0d7c1e2f4a11", 3, Leg.PLACEHOLDER),
        ]
        for n, uniqueid in enumerate([ours, *strays]):
            rig.pbx.queues["support" if n < 2 else "sales"].append(
                Entry(uniqueid, f"Local/s@x-{n};2", 5, 0.0)
            )
            rig.pbx.channels[uniqueid] = {"Uniqueid": uniqueid, "Channel": f"Local/s@x-{n};2"}
        rig.pbx.queues["support"].append(Entry("live-1", "PJSIP/pstn-1", 5, 0.0))
        rig.pbx.login()
        await rig.until(kept.id, lambda r: rig.serving.synced.is_set(), "resumed")
        hung = sorted(str(a["Channel"]) for a in rig.pbx.actions("Hangup"))
        assert hung == ["Local/s@x-1;2", "Local/s@x-2;2"]
        assert ours in rig.pbx.waiting("support") and "live-1" in rig.pbx.waiting("support")


async def test_a_customer_called_first_waiting_in_the_queue_is_no_stray(tmp_path: Path) -> None:
    """Found by the trials (seed 4134): at login the stray-placeholder sweep hung up the
    customer's own channel, waiting in the queue after pressing 1."""
    async with serving_on(tmp_path) as rig:
        request = await rig.add("+15551230001", mode=Mode.CUSTOMER_FIRST)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.CALLING, "its turn came")
        rig.pbx.customer_first_answers(request.id, 1, "1")
        await rig.until(request.id, lambda r: r.state is State.QUEUED, "on the line")
        rig.pbx.lose_link()
        rig.pbx.login()
        await eventually_local(lambda: rig.serving.synced.is_set(), bool, within=5, what="resumed")
        assert rig.pbx.waiting() == [f"cb-{request.id}-1-f"]
        assert (await rig.get(request.id)).state is State.QUEUED
        customer = rig.pbx.channels[f"cb-{request.id}-1-f"]["Channel"]
        assert customer not in [a["Channel"] for a in rig.pbx.actions("Hangup")]


async def test_a_customer_first_call_served_while_away_is_answered_not_called_again(
    tmp_path: Path,
) -> None:
    """Found by the trials (seed 4128): the customer pressed 1 and talked to an agent while
    the service was away; at login its record in AstDB says so, and it is not redialed."""
    async with serving_on(tmp_path) as rig:
        request = await rig.add("+15551230001", mode=Mode.CUSTOMER_FIRST)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.CALLING, "its turn came")
        rig.pbx.lose_link()
        # Meanwhile: key 1, agent1 answered, the call ended ([callback-customer-first-end]).
        rig.pbx.channels.pop(f"cb-{request.id}-1-f", None)
        ended = rig.clock().timestamp()
        rig.pbx.astdb[f"callback/{request.id}"] = f"first|1|1|PJSIP/agent1|{ended}"
        rig.pbx.login()
        done = await rig.until(request.id, lambda r: r.state is State.DONE, "done")
        assert (done.call_outcome, done.agent, done.customer_attempts) == (
            CallOutcome.ANSWERED, "PJSIP/agent1", 0
        )  # fmt: skip
        calls = [a for a in rig.pbx.actions("Originate") if a.get("Context")
                 == "callback-customer-first"]  # fmt: skip
        assert len(calls) == 1  # called once


async def test_a_customer_first_call_without_key_while_away_is_a_retry(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        request = await rig.add("+15551230001", mode=Mode.CUSTOMER_FIRST, retries=1,
                                retry_interval=300)  # fmt: skip
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.CALLING, "its turn came")
        rig.pbx.lose_link()
        rig.pbx.channels.pop(f"cb-{request.id}-1-f", None)
        rig.pbx.astdb[f"callback/{request.id}"] = f"first|1|||{rig.clock().timestamp()}"
        rig.pbx.login()
        # An unanswered dial, as if seen: one attempt counted, held for the retry.
        retried = await rig.until(request.id, lambda r: r.customer_attempts == 1, "retry")
        assert retried.call_outcome is None and retried.customer_key == ""
