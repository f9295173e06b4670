"""message=yes through the request handler, over FastAGI, against a scripted Asterisk: the
request is stored first, named after its recording, and only then is the dialplan told to
record; a refused request records nothing, a repeat keeps the first request's message."""

from collections.abc import AsyncIterator

import pytest

from agi_app.config.voice_messages import VoiceMessages
from agi_app.domain.numbers import NumberRules
from agi_app.ivr.fastagi import FastAgiServer
from agi_app.ivr.request_dialogue import RequestHandler
from agi_app.store.memory import MemoryStore
from tests.support.fake_asterisk import AgiCall

ARGS = ["queue=support", "destination=original", "message=yes", "message_max=20"]
SUCCESS = 'SET VARIABLE CALLBACK_PROMPT "callback/request-successful"'
ERROR = 'SET VARIABLE CALLBACK_PROMPT "callback/error-in-request"'
PROMPT = 'SET VARIABLE CALLBACK_RECORD_PROMPT "callback/leave-message"'


def reply(command: str) -> str:
    if command.startswith("GET FULL VARIABLE"):
        return "200 result=1 (1|1|5|30)"
    return "200 result=1"


@pytest.fixture
async def session() -> AsyncIterator[tuple[MemoryStore, int]]:
    store = MemoryStore()
    ids = iter(["req-1", "req-2"])
    handler = RequestHandler(
        store,
        NumberRules(allowed_prefixes=("+1555",)),
        new_id=lambda: next(ids),
        messages=VoiceMessages(asterisk_dir="/var/spool/asterisk/voice"),
    )
    server = FastAgiServer({"callback": handler}, allowed_peers=["127.0.0.1"])
    await server.start("127.0.0.1", 0)
    yield store, server.port
    await server.stop()


async def test_stored_then_recorded_under_its_name(session: tuple[MemoryStore, int]) -> None:
    store, port = session
    commands = await AgiCall(ARGS, reply=reply).run(port)
    assert commands[1:] == [
        PROMPT,
        'SET VARIABLE CALLBACK_RECORD "/var/spool/asterisk/voice/req-1.wav,3,20,k"',
        SUCCESS,
    ]
    (request,) = await store.requests()
    assert request.message == "req-1.wav"


async def test_a_repeat_keeps_the_first_message(session: tuple[MemoryStore, int]) -> None:
    store, port = session
    await AgiCall(ARGS, reply=reply).run(port)
    again = await AgiCall(ARGS, reply=reply, uniqueid="1795650000.2").run(port)
    assert again[1:] == [SUCCESS]  # nothing recorded over the waiting request's message
    (request,) = await store.requests()
    assert (request.id, request.message) == ("req-1", "req-1.wav")


async def test_a_refused_request_records_nothing(session: tuple[MemoryStore, int]) -> None:
    store, port = session
    commands = await AgiCall(ARGS, reply=reply, callerid="+4420791234567").run(port)
    assert commands[1:] == [ERROR]  # not an allowed destination: no message asked for
    assert await store.requests() == []


def test_no_parent_directory_in_the_recordings_path() -> None:
    with pytest.raises(ValueError, match=r"'\.\.'"):
        VoiceMessages(asterisk_dir="/var/spool/../../etc")
