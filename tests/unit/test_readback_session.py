"""readback=yes through the request handler, over FastAGI, against a scripted Asterisk: the
exact AGI commands the caller's channel gets, and what the store holds at the end."""

import logging
from collections.abc import AsyncIterator, Callable

import pytest

from agi_app.domain.numbers import NumberRules
from agi_app.ivr.fastagi import FastAgiServer
from agi_app.ivr.request_dialogue import RequestHandler
from agi_app.store.memory import MemoryStore
from tests.support.fake_asterisk import AgiCall

ARGS = [
    "queue=support",
    "destination=number",
    "number_var=CALLBACK_NUMBER",
    "readback=yes",
]
FACTS = 'GET FULL VARIABLE "${QUEUE_EXISTS(support)}|${QUEUEPOSITION}|${QUEUE_PRIO}|${QUEUEWAIT}"'
INTRO = 'STREAM FILE callback/number-readback "12"'
CONFIRM = "GET DATA callback/confirm-number 5000 1"
ENTER = "GET DATA callback/enter-number 10000 15"
SUCCESS = 'SET VARIABLE CALLBACK_PROMPT "callback/request-successful"'
ERROR = 'SET VARIABLE CALLBACK_PROMPT "callback/error-in-request"'


def caller(typed: str, *answers: str) -> Callable[[str], str]:
    """Asterisk's replies for a caller who typed ``typed`` earlier and then answers each
    GET DATA in turn (a digit string, or '' for a time-out); prompts play out."""
    pending = list(answers)

    def reply(command: str) -> str:
        if command.startswith("GET FULL VARIABLE"):
            return "200 result=1 (1|1|5|30)"
        if command == "GET VARIABLE CALLBACK_NUMBER":
            return f"200 result=1 ({typed})"
        if command.startswith("GET DATA"):
            keys = pending.pop(0)
            return f"200 result={keys}" if keys else "200 result= (timeout)"
        if command.startswith(("STREAM FILE", "SAY DIGITS")):
            return "200 result=0 endpos=8000"
        return "200 result=1"

    return reply


@pytest.fixture
async def session() -> AsyncIterator[tuple[MemoryStore, int]]:
    store = MemoryStore()
    handler = RequestHandler(store, NumberRules(allowed_prefixes=("+1555",)))
    server = FastAgiServer({"callback": handler}, allowed_peers=["127.0.0.1"])
    await server.start("127.0.0.1", 0)
    yield store, server.port
    await server.stop()


async def test_confirmed_number_is_stored(session: tuple[MemoryStore, int]) -> None:
    store, port = session
    commands = await AgiCall(ARGS, reply=caller("5551239999", "1")).run(port)
    assert commands == [
        FACTS,
        "GET VARIABLE CALLBACK_NUMBER",
        INTRO,
        'SAY DIGITS 5551239999 "12"',
        CONFIRM,
        SUCCESS,
    ]
    (request,) = await store.requests()
    assert request.callback_number == "+15551239999"


async def test_re_entered_number_replaces_the_first(session: tuple[MemoryStore, int]) -> None:
    store, port = session
    commands = await AgiCall(ARGS, reply=caller("5551239999", "2", "5551237777", "1")).run(port)
    assert commands[2:] == [
        INTRO,
        'SAY DIGITS 5551239999 "12"',
        CONFIRM,
        ENTER,
        INTRO,
        'SAY DIGITS 5551237777 "12"',
        CONFIRM,
        SUCCESS,
    ]
    (request,) = await store.requests()
    assert request.callback_number == "+15551237777"


async def test_a_key_that_cuts_the_read_back_short_is_the_answer(
    session: tuple[MemoryStore, int],
) -> None:
    store, port = session

    def reply(command: str) -> str:
        if command.startswith("SAY DIGITS"):
            return "200 result=49 endpos=4000"  # "1" while the digits were said
        return caller("5551239999")(command)

    commands = await AgiCall(ARGS, reply=reply).run(port)
    assert commands[2:] == [INTRO, 'SAY DIGITS 5551239999 "12"', SUCCESS]
    (request,) = await store.requests()
    assert request.callback_number == "+15551239999"


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        (("",), "not-confirmed"),  # no key after the question
        (("9",), "not-confirmed"),
        (("2", "911", "1"), "blocked-number"),
        (("2", "", "1"), "invalid-number"),  # nothing typed
        (("2", "5551230101", "2", "5551230102", "2"), "not-confirmed"),
    ],
)
async def test_nothing_stored_without_a_confirmed_valid_number(
    session: tuple[MemoryStore, int],
    caplog: pytest.LogCaptureFixture,
    answers: tuple[str, ...],
    code: str,
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    store, port = session
    commands = await AgiCall(ARGS, reply=caller("5551239999", *answers)).run(port)
    assert commands[-1] == ERROR
    assert SUCCESS not in commands
    assert await store.requests() == []
    assert any(f"code={code}" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("destination", ["destination=original", "destination=extension"])
async def test_readback_needs_destination_number(
    session: tuple[MemoryStore, int], caplog: pytest.LogCaptureFixture, destination: str
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    store, port = session
    args = ["queue=support", destination, "extension_var=X", "readback=yes"]
    commands = await AgiCall(args, reply=caller("5551239999")).run(port)
    assert commands == [ERROR]
    assert await store.requests() == []
    assert any("readback needs destination=number" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("value", ["maybe", "", "yes please"])
async def test_readback_takes_yes_or_no(
    session: tuple[MemoryStore, int], caplog: pytest.LogCaptureFixture, value: str
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    store, port = session
    commands = await AgiCall([*ARGS[:-1], f"readback={value}"], reply=caller("5551239999")).run(
        port
    )
    assert commands == [ERROR]
    assert await store.requests() == []
    assert any(
        "readback: Input should be a valid boolean" in r.getMessage() for r in caplog.records
    )


async def test_readback_no_reads_nothing_back(session: tuple[MemoryStore, int]) -> None:
    store, port = session
    commands = await AgiCall([*ARGS[:-1], "readback=no"], reply=caller("5551239999")).run(port)
    assert commands == [FACTS, "GET VARIABLE CALLBACK_NUMBER", SUCCESS]
    assert len(await store.requests()) == 1
