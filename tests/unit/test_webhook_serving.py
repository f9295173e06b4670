"""Webhooks of a callback served on the fake PBX (tests/unit/serving/rig.py) with the SQLite
store: what the receiver gets is the request's event log, row for row, in order, signed."""

from datetime import UTC, datetime
from pathlib import Path

from agi_app.config.webhooks import WebhookSubscription
from agi_app.domain.request import State
from agi_app.webhooks.delivery import Webhooks
from tests.support.http_receiver import HttpReceiver, carried, logged
from tests.support.poll import eventually_local
from tests.unit.serving.rig import Rig, serving_on

SECRET = "test-secret-0123456789"
AGENT = "PJSIP/agent1"


async def served(rig: Rig, number: str) -> str:
    """A callback placed, offered, answered by the agent, the customer reached, then over."""
    request = await rig.add(number)
    await rig.serving.request_stored(request)
    await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
    rig.pbx.ring(request.id, 1, AGENT)
    await rig.until(request.id, lambda r: r.state is State.OFFERED, "offered")
    rig.pbx.answer(request.id, 1, AGENT)
    await rig.until(request.id, lambda r: r.state is State.DIALING, "agent answered")
    rig.pbx.dial_customer(request.id, 1, "ANSWER")
    await rig.until(request.id, lambda r: r.state is State.CONNECTED, "customer answered")
    rig.pbx.hang_up(f"cb-{request.id}-1-q")
    await rig.until(request.id, lambda r: r.state is State.DONE, "done")
    return request.id


async def test_a_served_callback_reaches_the_receiver_as_the_store_logged_it(
    tmp_path: Path,
) -> None:
    receiver = HttpReceiver(SECRET)
    await receiver.start()
    await receiver.stop()  # down while the first callback is served
    async with serving_on(tmp_path) as rig:
        hook = WebhookSubscription(
            name="crm", url=receiver.url, secret=SECRET, retry_initial=0.01, retry_max=0.05,
            start="beginning",
        )  # fmt: skip
        webhooks = Webhooks([hook], rig.store, clock=lambda: datetime.now(UTC), poll=0.01)
        ((_, task),) = webhooks.start()
        try:
            first = await served(rig, "+15551230001")
            await receiver.start()  # back: the backlog, then the second callback as it goes
            second = await served(rig, "+15551230002")
            rows = await rig.store.events_after(0, 1000)
            got = await eventually_local(
                receiver.accepted, lambda ds: len(ds) >= len(rows), within=5, what="all"
            )
            assert not task.done()
        finally:
            await webhooks.stop()
            await receiver.stop()
    bodies = [d.json() for d in got]
    assert carried(got) == logged(rows)  # every row as stored, in order
    assert all(d.signed for d in got)
    for request_id in (first, second):
        mine = [b for b in bodies if b["request_id"] == request_id]
        assert [b["event"] for b in mine] == [
            "requested", "PlacementDue", "Placed", "Joined", "Offered", "AgentAnswered",
            "CustomerDialed", "CustomerAnswered", "CallEnded",
        ]  # fmt: skip
        assert mine[-1]["outcome"] == {"call": "Answered Call", "contact": "Answered Contact"}
        assert all(b["outcome"] is None for b in mine[:-1])
        assert mine[0]["request"]["callback_number"] in ("+15551230001", "+15551230002")
