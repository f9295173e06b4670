"""The test bed's second Asterisk (docs/testbed.md, "A second Asterisk"): the same
configuration on the worker's second address, beside the first, with its own queue, agents'
phones, uniqueids ("b-") and FastAGI address; restarting it leaves the first one's calls up."""

import asyncio
from pathlib import Path

from panoramisk import Manager

from tests.acceptance.calls import Phones, calling, in_queue, invites
from tests.support import second_asterisk as asterisk2
from tests.support.ami import action, channels, eventually, queue_callers
from tests.support.testbed import AGI_PORT
from tests.support.uas import Behaviour

ON_1 = "+15550002101"
ON_2 = "+15550002102"


class FastAgiListener:
    """Whatever connects to the second address's FastAGI port, where the service takes its
    FastAGI: the environment of each session, which is then closed (the dialplan goes on)."""

    def __init__(self) -> None:
        self.sessions: list[dict[str, str]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        env: dict[str, str] = {}
        while line := (await reader.readline()).decode().strip():
            key, _, value = line.partition(":")
            env[key] = value.strip()
        self.sessions.append(env)
        writer.close()


async def test_a_call_to_the_second_asterisk_asks_its_fastagi_and_waits_in_its_queue(
    ami: Manager, ami2: Manager, tmp_path: Path
) -> None:
    listener = FastAgiListener()
    server = await asyncio.start_server(listener.serve, asterisk2.HOST, AGI_PORT)
    # 5050: the status check (FastAGI) first; with no answer from it, on into queue support.
    async with server, calling(tmp_path, "5050", ON_2, [], host=asterisk2.HOST):
        entry = await in_queue(ami2, ON_2)
        assert entry["Uniqueid"].startswith(asterisk2.UNIQUEID_PREFIX), entry
        (session,) = listener.sessions
        assert session["agi_request"] == asterisk2.SECOND.agi_url("callback-status")
        assert session["agi_uniqueid"] == entry["Uniqueid"]
        assert [e for e in await queue_callers(ami, "support") if e["CallerIDNum"] == ON_2] == []


async def test_the_second_asterisk_rings_the_agents_phones_on_its_address(
    ami: Manager, ami2: Manager, phones: Phones
) -> None:
    phone_1, _ = await phones.start(5071, Behaviour.ANSWER, "agent1-on-1")
    phone_2, _ = await phones.start(5071, Behaviour.ANSWER, "agent1-on-2", host=asterisk2.HOST)
    await action(
        ami2,
        Action="Originate",
        Channel="PJSIP/agent1",
        Application="Playback",
        Data="callback/welcome",
        Async="true",
    )
    (offer,) = await invites(phone_2, 1)
    assert offer["request_uri"] == asterisk2.SECOND.contact("agent1")
    assert asterisk2.SECOND.sip in offer["via"]
    (agent,) = await eventually(
        lambda: channels(ami2),
        lambda cs: len(cs) == 1 and cs[0]["ChannelStateDesc"] == "Up",
        within=10,
        what="agent1's call up on the second Asterisk",
    )
    assert agent["Channel"].startswith("PJSIP/agent1-")
    assert agent["Uniqueid"].startswith(asterisk2.UNIQUEID_PREFIX), agent
    assert phone_1.invites() == []


async def test_restarting_the_second_asterisk_leaves_the_first_ones_calls_up(
    ami: Manager, ami2: Manager, tmp_path: Path
) -> None:
    async with (
        calling(tmp_path, "5000", ON_1, []) as (caller_1, _),
        calling(tmp_path, "5000", ON_2, [], host=asterisk2.HOST),
    ):
        waiting_1, _ = await asyncio.gather(in_queue(ami, ON_1), in_queue(ami2, ON_2))
        await asterisk2.restart()
        async with asterisk2.ami() as after:
            assert await queue_callers(after, "support") == []
        assert (await in_queue(ami, ON_1))["Uniqueid"] == waiting_1["Uniqueid"]
        assert not caller_1.received("BYE")
