"""A corpus of bad input over real SIP: every case hears "Error in request", gets a BYE, is
logged once with its reason, and leaves the store unchanged; and nothing a caller sends can
reach an outbound dial except the callback flow.

Bad component options come from extensions the test adds to the running dialplan (AMI
DialplanExtensionAdd), as an admin's mistakes would; the shipped dialplan stays clean.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from tests.acceptance.calls import (
    ERROR,
    SUCCESS,
    Phones,
    calling,
    heard_then_press,
    not_heard,
    typed_then_press,
)
from tests.support.ami import action, ami_client, eventually
from tests.support.rtp import RtpSink, wait_heard
from tests.support.sipp import Caller
from tests.support.uas import Behaviour


@dataclass(frozen=True)
class Case:
    did: str
    number: str
    keys: tuple[str, ...] = ()
    anonymous: bool = False
    code: str = ""


def ivr(number: str, code: str, anonymous: bool = False) -> Case:
    """From the IVR step (5004): the caller's own number is the problem."""
    return Case("5004", number, ("1",), anonymous, code)


def typed(n: int, digits: str, code: str) -> Case:
    """5002: the number the caller typed is the problem."""
    return Case("5002", f"+1555124{n:04d}", (digits, "1"), code=code)


BAD_OPTIONS = {
    "5901": ("priority=5", "invalid-options"),  # no queue
    "5902": ("queue=nosuchqueue", "unknown-queue"),
    "5903": ("queue=support,priority=0", "invalid-options"),
    "5904": ("queue=support,priority=11", "invalid-options"),
    "5905": ("queue=support,priority=high", "invalid-options"),
    "5906": ("queue=support,destination=bogus", "invalid-options"),
    "5907": ("queue=support,destination=number", "invalid-options"),
    "5908": ("queue=support,destination=extension", "invalid-options"),
    "5909": ("queue=support,max_wait=0", "invalid-options"),
    "5910": ("queue=support,max_wait=soon", "invalid-options"),
    "5911": ("queue=support,key=12", "invalid-options"),
    "5912": ("queue=support,colour=blue", "invalid-options"),
    "5913": ("queue=support,queue=sales", "invalid-options"),
    "5914": ("queue=support,success=../../../etc/passwd", "invalid-options"),
    "5915": ("queue=support,timeout_prompt=/etc/passwd", "invalid-options"),
    "5916": ("queue=support,destination=number,number_var=1BAD", "invalid-options"),
    "5917": ("queue=support,justaword", "invalid-options"),
    "5918": ("queue=sup port", "invalid-options"),
}

CORPUS = [
    ivr("anonymous", "anonymous-caller", anonymous=True),
    ivr("anonymous", "anonymous-caller"),
    ivr("restricted", "anonymous-caller"),
    ivr("unavailable", "anonymous-caller"),
    ivr("unknown", "anonymous-caller"),
    ivr("private", "anonymous-caller"),
    ivr("withheld", "anonymous-caller"),
    ivr("abc", "invalid-number"),
    ivr("+", "invalid-number"),
    ivr("12", "invalid-number"),
    ivr("0", "invalid-number"),
    ivr("+0", "invalid-number"),
    ivr("1-800-FLOWERS", "invalid-number"),
    ivr("+1555123000123456789", "invalid-number"),
    ivr("555.12", "invalid-number"),
    ivr("911", "blocked-number"),
    ivr("112", "blocked-number"),
    ivr("+19005551234", "blocked-number"),
    ivr("19005551234", "blocked-number"),
    typed(1, "#", "invalid-number"),
    typed(2, "0#", "invalid-number"),
    typed(3, "00#", "invalid-number"),
    typed(4, "12#", "invalid-number"),
    typed(5, "*#", "invalid-number"),
    typed(6, "1*2#", "invalid-number"),
    typed(7, "911#", "blocked-number"),
    typed(8, "112#", "blocked-number"),
    typed(9, "19005551234#", "blocked-number"),
    typed(10, "9005551234#", "blocked-number"),
    typed(11, "12345678901234567#", "invalid-number"),
    typed(12, "999999999999999999#", "invalid-number"),
    Case("5001", "+15551241101", ("#", "1"), code="invalid-extension"),
    *(Case(did, f"+1555125{did}", code=code) for did, (_, code) in BAD_OPTIONS.items()),
]


@pytest.fixture
async def bad_dialplan(ami: Manager) -> AsyncIterator[None]:
    """The admin's mistakes: extensions calling the component with broken options."""
    for exten, (options, _) in BAD_OPTIONS.items():
        for priority, app, data in (
            ("1", "Answer", ""),
            ("2", "Gosub", f"callback,s,1({options})"),
        ):
            await action(
                ami, Action="DialplanExtensionAdd", Context="from-pstn", Extension=exten,
                Priority=priority, Application=app, ApplicationData=data, Replace="yes",
            )  # fmt: skip
    try:
        yield
    finally:
        async with ami_client() as fresh:
            for exten in BAD_OPTIONS:
                await action(
                    fresh, Action="DialplanExtensionRemove", Context="from-pstn", Extension=exten
                )


async def play(case: Case, ami: Manager, workdir: Path, limit: asyncio.Semaphore) -> None:
    async with (
        limit,
        calling(workdir, case.did, case.number, list(case.keys), anonymous=case.anonymous) as (
            caller,
            sink,
        ),
    ):
        steps: dict[str, Callable[[Caller, RtpSink], Awaitable[None]]] = {
            "5004": lambda c, s: heard_then_press(c, s, "ivr-offer"),
            "5002": lambda c, s: typed_then_press(c, s, ami, case.number, "enter-number"),
            "5001": lambda c, s: typed_then_press(c, s, ami, case.number, "enter-extension"),
        }
        if case.did in steps:
            await steps[case.did](caller, sink)
        await wait_heard(sink, ERROR, timeout=40)
        await caller.finished(deadline_s=60)
        assert caller.received("BYE"), case
        assert not_heard(sink, SUCCESS), case


async def test_corpus_of_bad_input_over_sip(
    service: Service,
    ami: Manager,
    bad_dialplan: None,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert len(CORPUS) >= 50
    caplog.set_level(logging.INFO, logger="agi_app")
    limit = asyncio.Semaphore(12)
    await asyncio.gather(*(play(case, ami, tmp_path, limit) for case in CORPUS))
    assert service.store is not None
    assert await service.store.requests() == []
    refusals = [r.getMessage() for r in caplog.records if "callback refused" in r.getMessage()]
    assert len(refusals) == len(CORPUS)
    expected: dict[str, int] = {}
    for case in CORPUS:
        expected[case.code] = expected.get(case.code, 0) + 1
    seen = {code: sum(f"code={code} " in r for r in refusals) for code in expected}
    assert seen == expected


async def test_hostile_caller_name_is_stored_as_plain_text(
    service: Service, ami: Manager, tmp_path: Path
) -> None:
    name = 'Bob "Boss", ${SHELL(id)}; HANGUP \\ O\'Neil'  # no [ ]: SIPp keywords
    async with calling(tmp_path, "5004", "+15551241201", ["1"], name=name) as (caller, sink):
        await heard_then_press(caller, sink, "ivr-offer")
        await wait_heard(sink, SUCCESS, timeout=20)
        await caller.finished()
    assert service.store is not None
    (request,) = await service.store.requests()
    assert request.caller_name == name


async def test_carrier_calls_cannot_dial_out(
    service: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    """Toll fraud: whatever a caller dials, only the callback flow reaches the carrier."""
    carrier, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    targets = ["+15551239999", "015551239999", "9011442079460000", "911", "s", "5090", "h"]
    probes = [
        Caller(target, "+15551241301", tmp_path, bye_timeout_s=5, expect_failure=True)
        for target in targets
    ]
    for probe in probes:
        await probe.start()
    for probe in probes:
        await probe.finished()
    assert carrier.invites() == []
    calls = await action(ami, Action="CoreShowChannels")
    assert not [c for c in calls if c.get("Event") == "CoreShowChannel"]


async def test_service_account_cannot_change_asterisk(ami: Manager) -> None:
    """The service's AMI account has only what it uses: no CLI, no System()."""
    async with ami_client(username="callback") as service_account:
        (denied,) = await action(service_account, Action="Command", Command="core stop now")
        assert (denied.get("Response"), denied.get("Message")) == ("Error", "Permission denied")
        (refused,) = await action(
            service_account,
            Action="Originate",
            Channel="Local/s@callback-placeholder",
            Application="System",
            Data="touch /tmp/pwned",
            Async="true",
        )
        assert refused.get("Response") == "Error"
        assert "Forbidden" in str(refused.get("Message", ""))
    pong = await eventually(
        lambda: action(ami, Action="Ping"), lambda r: bool(r), within=5, what="still up"
    )
    assert pong[0].get("Response") == "Success"
