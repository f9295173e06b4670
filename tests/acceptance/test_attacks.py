"""Attacks over real SIP (docs/explanation/security.md): toll fraud through the callback, rate
limits, and caller-controlled text that tries to become AGI or AMI syntax. Each attack hears the
error prompt (or is stored exactly as an honest call would be), and the carrier never gets
an INVITE for a number the policy refuses.
"""

import asyncio
import logging
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    ERROR,
    SUCCESS,
    Phones,
    calling,
    heard_then_press,
    in_queue,
    invites,
    not_heard,
    placeholder_at,
    request_callback,
    store,
    stored_requests,
    the_request,
    typed_then_press,
)
from tests.support.ami import action, eventually
from tests.support.rtp import wait_heard
from tests.support.uas import Behaviour


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "callback refused" in r.getMessage()]


async def refused_over_sip(
    ami: Manager, workdir: Path, did: str, number: str, typed: str = "", name: str = ""
) -> None:
    """One caller tries; they hear the error prompt and never the success one."""
    keys = [f"{typed}#", "1"] if typed else ["1"]
    async with calling(workdir, did, number, keys, name=name) as (caller, sink):
        if did == "5004":
            await heard_then_press(caller, sink, "ivr-offer")
        elif typed:
            await typed_then_press(caller, sink, ami, number, "enter-number")
        else:
            await in_queue(ami, number)
            await caller.nudge()
        await wait_heard(sink, ERROR, timeout=30)
        await caller.finished()
        assert not_heard(sink, SUCCESS)


async def test_toll_fraud_destinations_are_refused_and_never_dialed(
    service: Service,
    ami: Manager,
    phones: Phones,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    carrier, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    attempts = [
        ("5002", "+15551242001", "011881612345678"),  # typed: a satellite network
        ("5002", "+15551242002", "18765551234"),  # typed: Jamaica, which shares +1
        ("5000", "+18765551234", ""),  # presented: a Jamaican caller ID
        ("5004", "+2693212345", ""),  # presented: Comoros
        ("5005", "+18765551235", ""),  # max wait 5 s: the informative call would go out
    ]
    await asyncio.gather(*(refused_over_sip(ami, tmp_path, *a) for a in attempts))
    assert await store(service).requests() == []
    assert [r.count("code=blocked-number") for r in refusals(caplog)] == [1] * len(attempts)
    # A barrier: an honest request on 5005 made after them expires and its customer gets
    # the informative call. Had any refused one been stored, its call would be first.
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5005", "+15551242009")
    (informed,) = await invites(carrier, 1, within=30)
    assert informed["request_uri"].startswith("sip:+15551242009@")
    await the_request(store(service), State.DONE)
    assert len(carrier.invites()) == 1


async def test_a_number_stored_under_a_wider_policy_is_never_dialed(
    ami: Manager, settings: Settings, phones: Phones
) -> None:
    """Policy is checked again before placing and before the informative call: a request
    stored earlier (a wider policy, an older version) rings no agent and calls no one."""
    carrier, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    await stored_requests(settings, ["+18765551236", "+15551242010"], max_wait=[3, 3])
    async with Service(settings) as service:
        (informed,) = await invites(carrier, 1, within=30)
        done = await eventually(
            lambda: store(service).requests(State.DONE),
            lambda rs: len(rs) == 2,
            within=20,
            what="both done",
        )
        (jamaica,) = [r for r in done if r.callback_number == "+18765551236"]
        events = await store(service).events(jamaica.id)
    assert informed["request_uri"].startswith("sip:+15551242010@")
    outcomes = {r.callback_number: r.call_outcome for r in done}
    assert outcomes == {"+18765551236": CallOutcome.CANCELLED, "+15551242010": CallOutcome.EXPIRED}
    (cancelled,) = [e for e in events if e.event == "Cancelled"]
    assert str(cancelled.detail["by"]).startswith("destination policy: ")
    assert len(carrier.invites()) == 1


async def test_rate_limit_per_caller_over_sip(
    ami: Manager, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One caller asking for callbacks to one number after another (traffic pumping)."""
    caplog.set_level(logging.INFO, logger="agi_app")
    limited = settings.model_copy(update={"rate_limit_per_caller": 2})
    caller = "+15551242101"
    async with Service(limited) as service:
        for typed in ["15551242111", "15551242112"]:  # stored before the prompt plays
            async with calling(tmp_path, "5002", caller, [f"{typed}#", "1"]) as (call, sink):
                await typed_then_press(call, sink, ami, caller, "enter-number")
                await wait_heard(sink, SUCCESS, timeout=30)
                await call.finished()
        await refused_over_sip(ami, tmp_path, "5002", caller, typed="15551242113")
        stored = await store(service).requests()
    assert sorted(r.callback_number for r in stored) == ["+15551242111", "+15551242112"]
    (refused,) = refusals(caplog)
    assert "code=rate-limited" in refused


async def test_display_name_cannot_smuggle_agi_lines(
    service: Service, ami: Manager, tmp_path: Path
) -> None:
    """Line separators other than LF (U+2028, U+0085) in the caller's display name used to
    split the FastAGI environment, and an `agi_callerid:` line chose the callback number."""
    number = "+15551242201"
    name = "Bob\u2028agi_callerid: +15559990000\u0085agi_arg_1: queue=evil"
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", number, name=name)
    request = await the_request(store(service), State.WAITING)
    assert (request.callback_number, request.caller_number) == (number, number)
    assert request.queue == "support"
    assert request.caller_name == "Bob agi_callerid: +15559990000 agi_arg_1: queue=evil"
    (entry,) = await placeholder_at(ami, 1, 1)
    for variable, honest in (("CB_CALLBACK_NUMBER", number), ("CB_CALLER_NUMBER", number)):
        (got,) = await action(ami, Action="Getvar", Channel=entry["Channel"], Variable=variable)
        assert got.get("Value") == honest


@pytest.mark.parametrize("did", ["5000", "5002"])
async def test_from_user_with_dialplan_syntax_is_refused(
    did: str, service: Service, ami: Manager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A caller ID with commas and brackets would split an Originate Variable header
    (`1,CB_ID=forged,DB(cb/x)=1`) and feed Dial() arguments: refused in every mode."""
    caplog.set_level(logging.INFO, logger="agi_app")
    typed = "15551242301" if did == "5002" else ""
    await refused_over_sip(ami, tmp_path, did, "1,CB_ID=forged,DB(cb/x)=1", typed=typed)
    assert await store(service).requests() == []
    (refused,) = refusals(caplog)
    assert "code=invalid-number" in refused
