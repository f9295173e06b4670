"""Several Asterisk servers over real SIP: one service serves the test bed's two Asterisks
(the worker's two, docs/testbed.md). A callback taken on the second is kept as its
own, waits in its queue and is dialed from it while the first carries its own callers; a
restart of the second leaves the first's callbacks where they were."""

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from panoramisk import Manager
from pydantic import SecretStr

from agi_app.app.service import Service
from agi_app.config.servers import AsteriskServer
from agi_app.config.settings import Settings
from agi_app.domain.request import CallbackRequest, State
from agi_app.store.open import ServiceStore
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invite_from,
    request_callback,
    set_paused,
)
from tests.support import second_asterisk as asterisk2
from tests.support.ami import eventually, queue_callers
from tests.support.http import get, post
from tests.support.testbed import AGENTS, current
from tests.support.uas import Behaviour

ON_1 = "+15551230161"
ON_2 = "+15551230162"
LIVE_ON_1 = "+15551230163"
SUPERVISOR = "two-servers-supervisor-token"


def two_servers(settings: Settings) -> Settings:
    """The service's settings with both Asterisks: each its AMI and its FastAGI listener
    (the second's dialplan names its own address); the web on a free port."""
    servers = {
        "one": AsteriskServer(ami_host=current().host, agi_host=current().host),
        "two": AsteriskServer(ami_host=asterisk2.HOST, agi_host=asterisk2.HOST),
    }
    web = {"web_port": 0, "web_token": SecretStr(SUPERVISOR)}
    return settings.model_copy(update={"asterisk_servers": servers, **web})


@asynccontextmanager
async def serving_both(settings: Settings) -> AsyncIterator[tuple[Service, ServiceStore]]:
    async with Service(two_servers(settings)) as service:
        assert service.store is not None and set(service.sites) == {"one", "two"}
        yield service, service.store


async def stored(store: ServiceStore, number: str, *states: State) -> CallbackRequest:
    async def read() -> list[CallbackRequest]:
        return [r for r in await store.requests() if r.callback_number == number]

    (request,) = await eventually(
        read,
        lambda rs: len(rs) == 1 and rs[0].state in states,
        within=20,
        what=f"{number}'s request in {', '.join(s.value for s in states)}",
    )
    return request


async def placeholders(manager: Manager) -> list[str]:
    """The callbacks' placeholders waiting in support, by uniqueid."""
    return [
        e["Uniqueid"]
        for e in await queue_callers(manager, "support")
        if e["Uniqueid"].startswith("cb-")
    ]


async def test_a_callback_taken_on_the_second_server_is_served_there(
    ami: Manager, ami2: Manager, settings: Settings, phones: Phones, tmp_path: Path
) -> None:
    agent_1, _ = await phones.start(5071, Behaviour.ANSWER, "agent1-on-1")
    carrier_1, _ = await phones.start(5090, Behaviour.ANSWER, "carrier-1")
    agent_2, _ = await phones.start(5071, Behaviour.ANSWER, "agent1-on-2", host=asterisk2.HOST)
    carrier_2, _ = await phones.start(5090, Behaviour.ANSWER, "carrier-2", host=asterisk2.HOST)
    async with serving_both(settings) as (service, store), AsyncExitStack() as stack:
        await request_callback(stack, ami2, tmp_path, "5000", ON_2, host=asterisk2.HOST)
        # The first server carries a live caller of its own meanwhile.
        await stack.enter_async_context(calling(tmp_path, "5000", LIVE_ON_1, []))
        await in_queue(ami, LIVE_ON_1)
        request = await stored(store, ON_2, State.WAITING)
        assert request.server == "two"
        assert request.channel.startswith(asterisk2.UNIQUEID_PREFIX)  # its uniqueid
        assert await placeholders(ami2) == [f"cb-{request.id}-1-q"]
        assert await placeholders(ami) == []  # nothing of it on the first server
        status, body = await get(current().url(service.web_port, "/api/callbacks"), SUPERVISOR)
        (shown,) = json.loads(body)["callbacks"]  # the Live view: every server's callbacks
        assert (status, shown["id"], shown["server"], shown["position"]) == (
            200,
            request.id,
            "two",
            1,
        )
        await set_paused(ami2, AGENT1, False)
        offer = await invite_from(agent_2, ON_2)
        assert offer["request_uri"] == asterisk2.SECOND.contact("agent1")
        dialed = await invite_from(carrier_2, "5000")  # the customer, from the second server
        assert dialed["request_uri"].startswith(asterisk2.SECOND.carrier_uri(ON_2))
        await stored(store, ON_2, State.CONNECTED)
        await hang_up_agent(ami2, AGENT1)
        done = await stored(store, ON_2, State.DONE)
        assert (done.server, done.agent) == ("two", AGENT1)
        assert agent_1.invites() == [] and carrier_1.invites() == []
        assert [e["CallerIDNum"] for e in await queue_callers(ami, "support")] == [LIVE_ON_1]


async def test_restarting_one_server_leaves_the_others_callbacks_alone(
    ami: Manager, ami2: Manager, settings: Settings, phones: Phones, tmp_path: Path
) -> None:
    # The second server's agents come back from its restart unpaused: their phones ring
    # and are not answered (no INVITE left ringing into a later test).
    for port, agent in ((5071, "agent1"), (5072, "agent2"), (5073, "agent3")):
        await phones.start(port, Behaviour.NO_ANSWER, f"{agent}-on-2", host=asterisk2.HOST)
    async with serving_both(settings) as (service, store), AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", ON_1)
        await request_callback(stack, ami2, tmp_path, "5000", ON_2, host=asterisk2.HOST)
        on_1 = await stored(store, ON_1, State.WAITING)
        on_2 = await stored(store, ON_2, State.WAITING)
        assert (on_1.server, on_2.server) == ("one", "two")
        assert await placeholders(ami) == [f"cb-{on_1.id}-1-q"]
        await asterisk2.restart()
        async with asterisk2.ami() as after:
            for agent in AGENTS:  # back unpaused: paused again, as before
                await set_paused(after, agent, True)
            again = await eventually(
                lambda: store.get(on_2.id),
                lambda r: r is not None and r.attempt > 1 and r.state is not State.PENDING,
                within=30,
                what="the second server's callback placed again after its restart",
            )
            assert again is not None
            # Attempts refused while that Asterisk shut down are the PBX's, not the request's.
            assert again.placement_failures == 0 and again.state is not State.DONE
            assert await placeholders(after) == [f"cb-{on_2.id}-{again.attempt}-q"]
            # The first server's callback kept its placeholder and its attempt throughout.
            assert await placeholders(ami) == [f"cb-{on_1.id}-1-q"]
            assert await store.get(on_1.id) == on_1
            # A supervisor's cancel reaches the serving of the request's own server.
            url = current().url(service.web_port, f"/api/callbacks/{on_2.id}/cancel")
            assert (await post(url, {}, SUPERVISOR))[0] == 200
            await eventually(
                lambda: placeholders(after),
                lambda p: p == [],
                within=10,
                what="the cancelled callback out of the second server's queue",
            )
        assert await placeholders(ami) == [f"cb-{on_1.id}-1-q"]
