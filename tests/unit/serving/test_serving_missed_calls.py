"""Missed calls called back (missed_call_queues): a live caller of such a queue who hangs up
after waiting min_wait gets a callback, at their original place; others do not."""

from pathlib import Path

from agi_app.config.missed_calls import MissedCallRule
from agi_app.domain.request import State
from tests.unit.serving.rig import serving_on

NUMBER = "+15551230131"
RULES = {"support": MissedCallRule(min_wait=20, priority=3)}


async def test_a_caller_who_hangs_up_after_min_wait_is_called_back(tmp_path: Path) -> None:
    async with serving_on(tmp_path, missed_call_queues=RULES) as rig:
        rig.pbx.live_caller("support", "1795680000.5", number=NUMBER)
        rig.pbx.live_caller_hangs_up("1795680000.5", waited=25, language="es")
        (request,) = await rig.eventually_requests(1)
        assert request.language == "es"  # the caller's channel's, from the event
        assert (request.source, request.callback_number, request.priority) == ("missed", NUMBER, 3)
        assert request.channel == "1795680000.5" and request.caller_name == "Ann Smith"
        assert request.consent == (
            "missed call: waited 25 s in queue support (min_wait 20 s) and hung up"
        )
        placed = await rig.until(request.id, lambda r: r.state is State.WAITING, "placed")
        assert placed.queue_entered_at <= placed.requested_at  # their original place


async def test_too_short_a_wait_another_queue_or_a_withheld_number_is_not(tmp_path: Path) -> None:
    async with serving_on(tmp_path, missed_call_queues=RULES) as rig:
        rig.pbx.live_caller("support", "1795680000.6", number=NUMBER)
        rig.pbx.live_caller_hangs_up("1795680000.6", waited=19)  # under min_wait
        rig.pbx.live_caller("sales", "1795680000.7", number=NUMBER)
        rig.pbx.live_caller_hangs_up("1795680000.7", waited=60, queue="sales")  # not named
        rig.pbx.live_caller("support", "1795680000.8", number="anonymous")
        rig.pbx.live_caller_hangs_up("1795680000.8", waited=60)  # nobody to call
        rig.pbx.live_caller("support", "1795680000.9", number=NUMBER)
        rig.pbx.live_caller_hangs_up("1795680000.9", waited=60)  # this one is
        (request,) = await rig.eventually_requests(1)
        assert request.channel == "1795680000.9"
