"""The request handler over real FastAGI sockets, against a scripted Asterisk and real SQLite."""

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import State
from tests.support.ami import eventually_local
from tests.support.fake_asterisk import CLOSE, AgiCall, default_reply
from tests.support.fastagi_process import OPTIONS, port_of
from tests.support.testbed import TESTBED_NUMBERS


async def stored(service: Service) -> list[tuple[str, str, int | None, str | None]]:
    assert service.store is not None
    return [
        (r.callback_number, r.dialed_number, r.position, r.extension)
        for r in await service.store.requests()
    ]


def queue_reply(values: str, **variables: str) -> Callable[[str], str]:
    def reply(command: str) -> str:
        if command.startswith("GET FULL VARIABLE"):
            return f"200 result=1 ({values})"
        if command.startswith("GET VARIABLE"):
            name = command.split()[-1]
            return f"200 result=1 ({variables[name]})" if name in variables else "200 result=0"
        return default_reply(command)

    return reply


async def test_request_from_the_queue_is_stored_before_success(service: Service) -> None:
    call = AgiCall(OPTIONS, reply=queue_reply("1|2|5|42"))
    commands = await call.run(port_of(service))
    assert commands == [
        'GET FULL VARIABLE "${QUEUE_EXISTS(support)}|${QUEUEPOSITION}|${QUEUE_PRIO}|${QUEUEWAIT}"',
        'SET VARIABLE CALLBACK_PROMPT "callback/request-successful"',
    ]
    assert await stored(service) == [("+15551230001", "5000", 2, None)]
    assert service.store is not None
    (request,) = await service.store.requests()
    assert request.state is State.PENDING
    assert (request.requested_at - request.queue_entered_at).total_seconds() == 42


async def test_the_callers_language_is_kept_from_the_environment(service: Service) -> None:
    """agi_language is CHANNEL(language) when the AGI started: no round trip asks for it."""
    call = AgiCall(OPTIONS, reply=queue_reply("1|2|5|42"), language="es")
    commands = await call.run(port_of(service))
    assert not any("language" in command.lower() for command in commands)
    assert service.store is not None
    (request,) = await service.store.requests()
    assert request.language == "es"


async def test_extension_destination_reads_its_variable(service: Service) -> None:
    args = ["queue=support", "destination=extension", "extension_var=CALLBACK_EXTENSION"]
    call = AgiCall(args, reply=queue_reply("1|1|5|3", CALLBACK_EXTENSION="77#"))
    commands = await call.run(port_of(service))
    assert "GET VARIABLE CALLBACK_EXTENSION" in commands
    assert await stored(service) == [("+15551230001", "5000", 1, "77#")]


async def test_ivr_offer_accepted(service: Service) -> None:
    def reply(command: str) -> str:
        if command.startswith("GET DATA"):
            return "200 result=1"
        return queue_reply("1|3|5|9")(command)  # stale queue variables are ignored

    call = AgiCall(["queue=support", "offer=callback/ivr-offer", "key=1"], reply=reply)
    commands = await call.run(port_of(service))
    assert commands[0] == "GET DATA callback/ivr-offer 5000 1"
    assert commands[-1] == 'SET VARIABLE CALLBACK_PROMPT "callback/request-successful"'
    assert await stored(service) == [("+15551230001", "5000", None, None)]


async def test_ivr_offer_declined_continues_in_the_dialplan(service: Service) -> None:
    def reply(command: str) -> str:
        if command.startswith("GET DATA"):
            return "200 result= (timeout)"
        return default_reply(command)

    call = AgiCall(["queue=support", "offer=callback/ivr-offer"], reply=reply)
    commands = await call.run(port_of(service))
    assert commands == [
        "GET DATA callback/ivr-offer 5000 1",
        'SET VARIABLE CALLBACK_RESULT "CONTINUE"',
    ]
    assert await stored(service) == []


@pytest.mark.parametrize(
    ("args", "callerid", "code"),
    [
        (["queue=support", "priority=42", "error=callback/custom"], "+15551230001", "invalid"),
        (OPTIONS, "anonymous", "anonymous-caller"),
        (OPTIONS, "911", "blocked-number"),
        (OPTIONS, "not-a-number", "invalid-number"),
        (["queue=nosuchqueue"], "+15551230001", "unknown-queue"),
    ],
)
async def test_refusals_play_the_error_prompt_and_store_nothing(
    service: Service, caplog: pytest.LogCaptureFixture, args: list[str], callerid: str, code: str
) -> None:
    exists = "0" if "queue=nosuchqueue" in args else "1"
    call = AgiCall(args, callerid=callerid, reply=queue_reply(f"{exists}|1|5|0"))
    with caplog.at_level(logging.INFO, logger="agi_app"):
        commands = await call.run(port_of(service))
    expected_prompt = (
        "callback/custom" if "error=callback/custom" in args else "callback/error-in-request"
    )
    assert commands[-1] == f'SET VARIABLE CALLBACK_PROMPT "{expected_prompt}"'
    assert await stored(service) == []
    refusals = [r.getMessage() for r in caplog.records if "callback refused" in r.getMessage()]
    assert len(refusals) == 1 and code in refusals[0]


async def test_locked_store_gives_the_error_prompt(service: Service, tmp_path: Path) -> None:
    locker = sqlite3.connect(tmp_path / "cb.sqlite3", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        commands = await AgiCall(OPTIONS, reply=queue_reply("1|1|5|0")).run(port_of(service))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert commands[-1] == 'SET VARIABLE CALLBACK_PROMPT "callback/error-in-request"'
    assert await stored(service) == []


async def test_a_repeated_session_for_the_same_channel_stores_once(service: Service) -> None:
    for _ in range(2):
        commands = await AgiCall(OPTIONS, reply=queue_reply("1|3|5|0")).run(port_of(service))
        assert commands[-1] == 'SET VARIABLE CALLBACK_PROMPT "callback/request-successful"'
    assert await stored(service) == [("+15551230001", "5000", 3, None)]


async def test_caller_hanging_up_mid_request_is_handled(service: Service) -> None:
    def reply(command: str) -> str:
        return "HANGUP" if command.startswith("SET VARIABLE") else queue_reply("1|1|5|0")(command)

    commands = await AgiCall(OPTIONS, reply=reply).run(port_of(service))
    # Stored (durable first), then the hangup ends the session without a crash.
    assert commands[-1].startswith("SET VARIABLE CALLBACK_PROMPT")
    assert len(await stored(service)) == 1


async def test_peer_closing_before_its_headers_does_not_hang(service: Service) -> None:
    _reader, writer = await asyncio.open_connection("127.0.0.1", port_of(service))
    writer.write(b"agi_network: yes\n")
    await writer.drain()
    writer.close()
    # The server is still serving: a full session afterwards works.
    commands = await AgiCall(OPTIONS, reply=queue_reply("1|1|5|0")).run(port_of(service))
    assert commands[-1] == 'SET VARIABLE CALLBACK_PROMPT "callback/request-successful"'


async def test_unknown_script_is_closed_without_commands(service: Service) -> None:
    assert await AgiCall(OPTIONS, script="other").run(port_of(service)) == []


async def test_disallowed_peer_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    settings = Settings(
        store_path=tmp_path / "cb.sqlite3",
        agi_port=0,
        agi_allowed_peers=["192.0.2.1"],
        ami_enabled=False,
        allowed_number_prefixes=TESTBED_NUMBERS,
    )
    async with Service(settings) as running:
        assert await AgiCall(OPTIONS).run(port_of(running)) == []
        assert await stored(running) == []


async def test_line_breaks_in_the_caller_name_stay_in_the_name(service: Service) -> None:
    # Over SIP this name once made the service call +15559990000 back.
    name = "Bob\u2028agi_callerid: +15559990000\x85agi_uniqueid: forged\x1cagi_arg_7: x"
    call = AgiCall(OPTIONS, calleridname=name, reply=queue_reply("1|2|5|0"))
    commands = await call.run(port_of(service))
    assert commands[-1] == 'SET VARIABLE CALLBACK_PROMPT "callback/request-successful"'
    assert service.store is not None
    (request,) = await service.store.requests()
    assert (request.callback_number, request.channel) == ("+15551230001", "1795650000.1")
    assert "+15559990000" in request.caller_name  # shown as the name it is, never dialed


@pytest.mark.parametrize(
    ("options", "prompt"),
    [
        (OPTIONS, "callback/error-in-request"),
        ([*OPTIONS, "error=callback/custom"], "callback/custom"),
    ],
)
async def test_a_smuggled_environment_line_is_refused_with_the_error_prompt(
    service: Service, caplog: pytest.LogCaptureFixture, options: list[str], prompt: str
) -> None:
    name = "Bob\nagi_callerid: +15559990000"
    call = AgiCall(options, calleridname=name, reply=queue_reply("1|2|5|0"))
    with caplog.at_level(logging.INFO, logger="agi_app"):
        commands = await call.run(port_of(service))
    assert commands == [f'SET VARIABLE CALLBACK_PROMPT "{prompt}"']
    assert await stored(service) == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "repeated key 'agi_callerid'" in warnings[0]


async def test_asterisk_closing_mid_command_is_a_hangup(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    def reply(command: str) -> str:
        return CLOSE if command.startswith("GET FULL VARIABLE") else default_reply(command)

    with caplog.at_level(logging.INFO, logger="agi_app"):
        commands = await AgiCall(OPTIONS, reply=reply).run(port_of(service))
        await eventually_local(
            lambda: [r.getMessage() for r in caplog.records if "hung up" in r.getMessage()],
            bool,
            within=5,
            what="the hangup logged",
        )
    assert commands[0].startswith("GET FULL VARIABLE")
    assert await stored(service) == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert all(r.exc_info is None for r in caplog.records)


async def test_sessions_past_the_cap_hear_the_error_prompt_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    settings = Settings(
        store_path=tmp_path / "cb.sqlite3",
        agi_port=0,
        ami_enabled=False,
        agi_max_sessions=3,
        allowed_number_prefixes=TESTBED_NUMBERS,
    )
    hold = asyncio.Event()
    async with Service(settings) as running:
        held = [
            AgiCall(
                OPTIONS,
                uniqueid=f"held.{n}",
                callerid=f"+1555123000{n}",
                reply=queue_reply("1|1|5|0"),
                hold=hold,
            )
            for n in range(3)
        ]
        sessions = [asyncio.ensure_future(call.run(port_of(running))) for call in held]
        try:
            await eventually_local(
                lambda: [bool(call.commands) for call in held],
                all,
                within=5,
                what="3 sessions in the handler",
            )
            extra = AgiCall([*OPTIONS, "error=callback/busy"], uniqueid="extra.1")
            with caplog.at_level(logging.INFO, logger="agi_app"):
                commands = await extra.run(port_of(running), within=2)
            assert commands == ['SET VARIABLE CALLBACK_PROMPT "callback/busy"']
            busy = [r.getMessage() for r in caplog.records if "agi_max_sessions" in r.getMessage()]
            assert len(busy) == 1 and "extra.1" in busy[0]
        finally:
            hold.set()
            await asyncio.gather(*sessions)
        # The held sessions were served; the refused one stored nothing.
        assert running.store is not None
        assert sorted(r.channel for r in await running.store.requests()) == [
            "held.0",
            "held.1",
            "held.2",
        ]
