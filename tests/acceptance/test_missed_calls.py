"""Missed calls called back, over real SIP: a live caller of a queue named in
missed_call_queues hangs up after waiting min_wait; a callback request keeps their place and
is served agent first (the agent rung with the screen-pop, then the customer dialed)."""

from pathlib import Path

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.missed_calls import MissedCallRule
from agi_app.config.settings import Settings
from agi_app.domain.request import State
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invites,
    set_paused,
    store,
    the_request,
)
from tests.support.ami import action, eventually
from tests.support.testbed import CARRIER_PORT
from tests.support.uas import Behaviour

NUMBER = "+15551230141"
EARLY = "+15551230142"
MIN_WAIT = 3


async def test_a_caller_who_hangs_up_after_waiting_is_called_back(
    settings: Settings, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.ANSWER, "carrier")
    rules = {"support": MissedCallRule(min_wait=MIN_WAIT)}
    async with Service(settings.model_copy(update={"missed_call_queues": rules})) as service:
        # One who hangs up at once is not called back (the events come in order: by the time
        # the second caller's request is there, the first's hang-up was seen).
        async with calling(tmp_path, "5000", EARLY, []):
            early = await in_queue(ami, EARLY)
            await action(ami, Action="Hangup", Channel=early["Channel"])
        async with calling(tmp_path, "5000", NUMBER, []):
            entry = await in_queue(ami, NUMBER)
            # Waited long enough (Asterisk's own count of the caller's wait), then gone.
            await eventually(
                lambda: in_queue(ami, NUMBER),
                lambda e: int(e.get("Wait", "0")) > MIN_WAIT,
                within=20,
                what=f"{NUMBER} waiting over {MIN_WAIT} s",
            )
            await action(ami, Action="Hangup", Channel=entry["Channel"])
            request = await the_request(store(service), State.WAITING)
        assert (request.source, request.callback_number) == ("missed", NUMBER)
        assert len(await store(service).requests()) == 1  # none for the one who did not wait
        assert customer.invites() == []  # nothing dialed while it waits
        await set_paused(ami, AGENT1, False)
        (offer,) = await invites(agent, 1)
        assert offer["x-callback-request-id"] == request.id
        (dialed,) = await invites(customer, 1)
        assert NUMBER in dialed["to"]
        await hang_up_agent(ami, AGENT1)
        await the_request(store(service), State.DONE)
