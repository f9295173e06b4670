"""Calling rules on the fake PBX: a number put on the do-not-call list while its callback
waits is never dialed (the callback ends Cancelled by do-not-call, its placeholder gone, the
entry in its log); a callback outside its customer's hours waits in the store and is placed
when they open, and leaves the queue when they close."""

from datetime import UTC, datetime
from pathlib import Path

from agi_app.config.missed_calls import MissedCallRule
from agi_app.domain.calling_rules import DoNotCall, DoNotCallEntry
from agi_app.domain.request import CallOutcome, State
from agi_app.serving.calling_rules import DoNotCallList
from tests.support.clock import clock_from
from tests.support.poll import eventually, eventually_local
from tests.unit.serving.rig import serving_on

NUMBER = "+15551230001"  # no known zone: the customer's hours are in calling_rules.timezone
# Monday 1 March 2027, 2 s before the customer's window opens (08:00 UTC) or closes (21:00).
BEFORE_OPENING = datetime(2027, 3, 1, 7, 59, 58, tzinfo=UTC)
BEFORE_CLOSING = datetime(2027, 3, 1, 20, 59, 58, tzinfo=UTC)
WINDOW = "08:00-21:00"


async def test_a_number_listed_while_its_callback_waits_is_never_dialed(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        request = await rig.add(NUMBER)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        # As `agi-callback do-not-call add` does: into the store, the service not told.
        await rig.store.add_do_not_call(DoNotCallEntry("+1555123*", rig.clock(), "cli:admin"))
        # Found by the sweep, every SWEEP_EVERY_S (2 s): room for a busy machine's delay.
        ended = await rig.until(request.id, lambda r: r.state is State.DONE, "ended", within=10)
        assert ended.call_outcome is CallOutcome.CANCELLED
        await eventually_local(rig.pbx.waiting, lambda w: w == [], within=5, what="unplaced")
        logged = await rig.store.events(request.id)
        assert [(e.event, e.detail) for e in logged if e.event == "DoNotCall"] == [
            ("DoNotCall", {"entry": "+1555123*"})
        ]
        assert [e.detail["by"] for e in logged if e.event == "Cancelled"] == ["do-not-call"]
        # An agent free now is not rung for it, and nobody dials the customer.
        assert [a for a in rig.pbx.actions("Originate") if a.get("Application")] == []


async def test_a_listed_number_is_not_placed(tmp_path: Path) -> None:
    async with serving_on(tmp_path, calling_rules={"do_not_call": [NUMBER]}) as rig:
        request = await rig.add(NUMBER)  # stored before the entry (the settings changed)
        await rig.serving.request_stored(request)
        ended = await rig.until(request.id, lambda r: r.state is State.DONE, "ended")
        assert ended.call_outcome is CallOutcome.CANCELLED
        assert rig.pbx.actions("Originate") == []


async def test_outside_the_customers_hours_it_waits_and_is_placed_when_they_open(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path, clock=clock_from(BEFORE_OPENING)) as rig:
        request = await rig.add(NUMBER, customer_hours=WINDOW)
        await rig.serving.request_stored(request)
        held = await rig.until(request.id, lambda r: r.not_before is not None, "held")
        assert held.state is State.PENDING
        assert held.not_before == datetime(2027, 3, 1, 8, tzinfo=UTC)
        assert rig.pbx.actions("Originate") == []
        placed = await rig.until(request.id, lambda r: r.state is State.WAITING, "placed")
        assert rig.clock() >= datetime(2027, 3, 1, 8, tzinfo=UTC)
        assert placed.queue_entered_at == request.queue_entered_at  # its original place


async def test_when_the_customers_hours_close_it_leaves_the_queue_until_they_open(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path, clock=clock_from(BEFORE_CLOSING)) as rig:
        request = await rig.add(NUMBER, customer_hours=WINDOW)
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
        carried = await rig.until(request.id, lambda r: r.state is State.PENDING, "carried")
        assert carried.not_before == datetime(2027, 3, 2, 8, tzinfo=UTC)
        await eventually_local(rig.pbx.waiting, lambda w: w == [], within=5, what="unplaced")


async def test_the_centres_zone_decides_for_a_number_of_no_known_zone(tmp_path: Path) -> None:
    """08:00 in Paris is 07:00 UTC: at 07:59:58 UTC the window is open there."""
    clock = clock_from(BEFORE_OPENING)
    async with serving_on(tmp_path, clock=clock, calling_rules={"timezone": "Europe/Paris"}) as rig:
        request = await rig.add(NUMBER, customer_hours=WINDOW)
        await rig.serving.request_stored(request)
        placed = await rig.until(request.id, lambda r: r.state is State.WAITING, "placed")
        assert placed.not_before is None


async def test_a_missed_call_obeys_the_list_and_keeps_its_queues_customer_hours(
    tmp_path: Path,
) -> None:
    rules = {"do_not_call": ["+15551230002"], "customer_hours": {"support": WINDOW}}
    missed = {"support": MissedCallRule(min_wait=20)}
    async with serving_on(tmp_path, calling_rules=rules, missed_call_queues=missed) as rig:
        rig.pbx.live_caller("support", "1795680001.1", number="+15551230002")
        rig.pbx.live_caller_hangs_up("1795680001.1", waited=60)  # listed: not called back
        rig.pbx.live_caller("support", "1795680001.2", number=NUMBER)
        rig.pbx.live_caller_hangs_up("1795680001.2", waited=60)
        (request,) = await rig.eventually_requests(1)
        assert (request.callback_number, request.customer_hours) == (NUMBER, WINDOW)


async def test_the_intake_reads_the_list_again_once_it_is_older_than_its_freshness(
    tmp_path: Path,
) -> None:
    """One read of the store's entries serves the checks within fresh_for_s; after it, an
    entry added meanwhile is seen."""
    async with serving_on(tmp_path) as rig:
        listed = DoNotCallList(rig.store, (), fresh_for_s=0.2)
        await listed.check("+15551230077")  # read: nothing listed
        await rig.store.add_do_not_call(DoNotCallEntry("+15551230077", rig.clock(), "cli:ann"))
        await listed.check("+15551230077")  # within its freshness: the read before serves
        await eventually(
            lambda: _refused(listed, "+15551230077"), bool, within=3, what="the entry seen"
        )


async def _refused(listed: DoNotCallList, number: str) -> bool:
    try:
        await listed.check(number)
    except DoNotCall:
        return True
    return False
