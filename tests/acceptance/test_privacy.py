"""Erasure over real SIP: a caller asks for a callback by phone and, while it waits in the
queue, their number is forgotten (POST /api/forget, the forget scope): the callback is
cancelled, its placeholder leaves the Asterisk queue, their phone is never called, and the
store holds no trace of the number.

SIPp callers on the carrier, an agent phone (5071) and the customers' phone (5090); the queue
as AMI reports it, what the phones received, and the store.
"""

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.credentials import ApiCredential, digest
from agi_app.config.settings import Settings
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    hang_up_agent,
    invites,
    placeholder_at,
    request_callback,
    set_paused,
    store,
    the_request,
)
from tests.support.ami import eventually, queue_callers
from tests.support.http import post
from tests.support.privacy_trace import traces
from tests.support.testbed import current
from tests.support.uas import Behaviour

TOKEN = "dpo-token-for-the-acceptance-tests"
FORGOTTEN = "+15551230081"
OTHER = "+15551230082"


@pytest.fixture
async def privacy_service(ami: Manager, settings: Settings) -> AsyncIterator[Service]:
    dpo = ApiCredential.model_validate(
        {"name": "dpo", "token_sha256": digest(TOKEN), "scopes": ["forget"]}
    )
    update = {"web_port": 0, "api_credentials": [dpo]}
    async with Service(settings.model_copy(update=update)) as service:
        yield service


async def test_forget_cancels_a_waiting_callback_and_leaves_no_trace(
    privacy_service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customers, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    service = privacy_service
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", FORGOTTEN)
        await placeholder_at(ami, 1, 1)
        request = await the_request(store(service), State.WAITING)
        assert await traces(store(service), FORGOTTEN)  # kept while it waits

        url = current().url(service.web_port, "/api/forget")
        status, text = await post(url, {"number": FORGOTTEN}, TOKEN)
        assert status == 200, text
        assert json.loads(text) == {"requests": 1, "cancelled": 1}
        await eventually(
            lambda: queue_callers(ami, "support"),
            lambda es: es == [],
            within=20,
            what="the placeholder gone from the queue",
        )
        done = await store(service).get(request.id)
        assert done is not None
        assert (done.state, done.call_outcome) == (State.DONE, CallOutcome.CANCELLED)
        assert await traces(store(service), FORGOTTEN) == []

        # Another caller's callback is served next: had the forgotten one still waited, it
        # would have come first; only the other number is dialed.
        await request_callback(stack, ami, tmp_path, "5000", OTHER)
        await placeholder_at(ami, 1, 1)
        other = await the_request(store(service), State.WAITING)
        await set_paused(ami, AGENT1, False)
        (dialed,) = await invites(customers, 1)
        assert OTHER in dialed["request_uri"]
        # Hung up once the customer's answer is seen (the INVITE alone is not an answer).
        await the_request(store(service), State.CONNECTED)
        await hang_up_agent(ami, AGENT1)
        await eventually(
            lambda: store(service).get(other.id),
            lambda r: r is not None and r.call_outcome is CallOutcome.ANSWERED,
            within=20,
            what="the other callback answered",
        )
    assert all(FORGOTTEN not in i["request_uri"] for i in customers.invites())
    assert len(agent.invites()) == 1  # rung for the other callback alone
    assert await traces(store(service), FORGOTTEN) == []
