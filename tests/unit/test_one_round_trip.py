"""One AGI round trip per request (issue 31): the component sends what the channel knows of
its queue with the request (callback_facts=position|prio|wait), serving says whether the
queue exists over AMI, and the only command the channel gets is the answer. An older
component without the facts, or a process that cannot ask AMI, still works: it asks the
channel, as before."""

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from agi_app.domain.numbers import NumberRules
from agi_app.ivr.fastagi import FastAgiServer
from agi_app.ivr.request_dialogue import RequestHandler
from agi_app.store.memory import MemoryStore
from tests.support.fake_asterisk import AgiCall

OPTIONS = ["queue=support", "destination=original"]
FACTS = "callback_facts=3|5|42"  # third in the queue, level 5 (QUEUE_PRIO 5), 42 s waited
SUCCESS = 'SET VARIABLE CALLBACK_PROMPT "callback/request-successful"'
ERROR = 'SET VARIABLE CALLBACK_PROMPT "callback/error-in-request"'
Known = Callable[[str], Awaitable[bool | None]]
Serve = Callable[[Known], Awaitable[tuple[MemoryStore, int]]]


def answers(exists: str = "1") -> Callable[[str], str]:
    def reply(command: str) -> str:
        if command.startswith("GET FULL VARIABLE") and "QUEUEPOSITION" in command:
            return "200 result=1 (1|3|5|42)"  # an older component's question
        if command.startswith("GET FULL VARIABLE"):
            return f"200 result=1 ({exists})"
        return "200 result=1"

    return reply


def knowing(answer: bool | None) -> Known:
    async def known(_queue: str) -> bool | None:
        return answer

    return known


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[FastAgiServer] = []

    async def start(known: Known) -> tuple[MemoryStore, int]:
        store = MemoryStore()
        handler = RequestHandler(store, NumberRules(allowed_prefixes=("+1555",)), queue_known=known)
        server = FastAgiServer({"callback": handler}, allowed_peers=["127.0.0.1"])
        await server.start("127.0.0.1", 0)
        servers.append(server)
        return store, server.port

    yield start
    for server in servers:
        await server.stop()


async def test_the_facts_sent_with_the_request_need_no_round_trip(serve: Serve) -> None:
    store, port = await serve(knowing(True))
    commands = await AgiCall([*OPTIONS, "", "", FACTS], reply=answers()).run(port)
    assert commands == [SUCCESS]  # one round trip: the answer
    (request,) = await store.requests()
    assert (request.position, request.priority) == (3, 5)


async def test_a_queue_asterisk_does_not_have_is_refused(serve: Serve) -> None:
    store, port = await serve(knowing(False))
    assert await AgiCall([*OPTIONS, FACTS], reply=answers()).run(port) == [ERROR]
    assert await store.requests() == []


async def test_without_ami_the_channel_says_whether_the_queue_exists(serve: Serve) -> None:
    store, port = await serve(knowing(None))
    commands = await AgiCall([*OPTIONS, FACTS], reply=answers("0")).run(port)
    assert commands == ['GET FULL VARIABLE "${QUEUE_EXISTS(support)}"', ERROR]
    assert await store.requests() == []


async def test_an_older_component_is_asked_as_before(serve: Serve) -> None:
    store, port = await serve(knowing(True))
    commands = await AgiCall(OPTIONS, reply=answers()).run(port)
    assert commands == [
        'GET FULL VARIABLE "${QUEUE_EXISTS(support)}|${QUEUEPOSITION}|${QUEUE_PRIO}|${QUEUEWAIT}"',
        SUCCESS,
    ]
    (request,) = await store.requests()
    assert request.position == 3
