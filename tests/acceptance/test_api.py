"""The request API over real SIP: a POST puts a callback in the queue, the agent's phone rings
with the screen-pop headers, and once the agent answers the carrier gets the customer's
INVITE (and the extension as DTMF); a DELETE takes a waiting one's placeholder out."""

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.credentials import ApiCredential, digest
from agi_app.config.settings import Settings
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import AGENT1, Phones, hang_up_agent, invites, set_paused, the_request
from tests.support.ami import eventually, queue_callers
from tests.support.http import post
from tests.support.rtp import wait_dtmf
from tests.support.testbed import current
from tests.support.uas import Behaviour

TOKEN = "crm-token-for-the-acceptance-tests"
NUMBER = "+15551230601"


@pytest.fixture
async def api_service(ami: Manager, settings: Settings) -> AsyncIterator[Service]:
    crm = ApiCredential.model_validate(
        {"name": "crm", "token_sha256": digest(TOKEN), "scopes": ["request", "read", "cancel"]}
    )
    update = {"web_port": 0, "api_credentials": [crm], "api_queues": ["support"]}
    async with Service(settings.model_copy(update=update)) as service:
        yield service


def _delete(url: str) -> tuple[int, str]:
    call = urllib.request.Request(
        url, method="DELETE", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_an_api_request_rings_the_agent_then_dials_the_customer(
    api_service: Service, ami: Manager, phones: Phones
) -> None:
    assert api_service.store is not None
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    carrier, customer_heard = await phones.start(5090, Behaviour.ANSWER, "carrier")
    body = {"number": NUMBER, "queue": "support", "caller_name": "Dee", "extension": "42"}
    status, text = await post(current().url(api_service.web_port, "/api/callbacks"), body, TOKEN)
    assert status == 201, text
    created = json.loads(text)
    request = await the_request(api_service.store, State.WAITING)
    assert request.id == created["id"]

    await set_paused(ami, AGENT1, False)
    (invite,) = await invites(agent, 1)
    expected = {
        "request-id": request.id,
        "caller-name": "Dee",
        "caller-number": NUMBER,
        "callback-number": NUMBER,
        "extension": "42",
        "queue": "support",
        "priority": "5",
        "requested-at": request.requested_at.isoformat(),
    }
    assert {k: invite.get(f"x-callback-{k}") for k in expected} == expected
    (customer,) = await invites(carrier, 1)  # only once the agent answered
    assert NUMBER in customer["request_uri"]
    await wait_dtmf(customer_heard, "42", timeout=20)
    await hang_up_agent(ami, AGENT1)
    store = api_service.store
    await eventually(
        lambda: store.get(request.id),
        lambda r: r is not None and r.call_outcome is CallOutcome.ANSWERED,
        within=20,
        what="answered",
    )


async def test_delete_takes_a_waiting_placeholder_out_of_the_queue(
    api_service: Service, ami: Manager
) -> None:
    assert api_service.store is not None
    url = current().url(api_service.web_port, "/api/callbacks")
    status, text = await post(url, {"number": NUMBER, "queue": "support"}, TOKEN)
    assert status == 201, text
    request = await the_request(api_service.store, State.WAITING)
    await eventually(
        lambda: queue_callers(ami, "support"), lambda es: len(es) == 1, within=10, what="placed"
    )
    status, text = await asyncio.to_thread(_delete, f"{url}/{request.id}")
    assert status == 200, text
    assert json.loads(text)["call_outcome"] == "Cancelled"
    await eventually(
        lambda: queue_callers(ami, "support"), lambda es: not es, within=10, what="withdrawn"
    )
    done = await api_service.store.get(request.id)
    assert done is not None and done.state is State.DONE
