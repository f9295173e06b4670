"""A voice message with the request (message=yes) over real SIP: after the key the caller hears
the prompt and the tone and speaks (espeak-ng speech sent as RTP); Asterisk records it; when
an agent answers the callback they hear it, before the customer is dialed, and the customer
never does; the Live view plays it in Chromium to a supervisor, and the request API gives it
to a token with the read scope."""

from contextlib import AsyncExitStack
from pathlib import Path

import httpx
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.credentials import ApiCredential, digest
from agi_app.config.settings import Settings
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    SOUNDS,
    SUCCESS,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invites,
    not_heard,
    set_paused,
    store,
    the_request,
)
from tests.acceptance.web import AGENT2 as AGENT2_TOKEN
from tests.acceptance.web import BOSS, base, sign_in, web_service
from tests.support.browser import chromium, policy_violations
from tests.support.rtp import (
    MATCH_WINDOW_SECONDS,
    SAMPLE_RATE,
    load_prompt,
    match_score,
    wait_heard,
)
from tests.support.speech import message_pcap, spoken_wav
from tests.support.testbed import CARRIER_PORT
from tests.support.uas import Behaviour

NUMBER = "+15551230131"
READER = "crm-reader-token"
TONE_S = 1.0  # Record()'s tone (Asterisk's beep), with some room
PROMPT = SOUNDS / "leave-message.wav"
INTRO = SOUNDS / "message-intro.wav"


async def test_the_agent_hears_the_callers_message_and_the_customer_never_does(
    ami: Manager, settings: Settings, phones: Phones, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    _, agent_heard = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, customer_heard = await phones.start(CARRIER_PORT, Behaviour.ANSWER, "carrier")
    said = spoken_wav()
    reader = ApiCredential.model_validate(
        {"name": "crm", "token_sha256": digest(READER), "scopes": ["read"]}
    )
    async with web_service(settings, api_credentials=[reader]) as live:
        store = live.store
        assert store is not None
        await leave_message(ami, tmp_path, "5030", NUMBER)
        request = await the_request(store, State.WAITING)
        assert request.message == f"{request.id}.wav"
        recording = settings.voice_messages.readable_dir / request.message
        # What Asterisk recorded is what the caller said.
        assert match_score(load_prompt(recording), load_prompt(said)) > 0.8

        # The request API's read scope links it; the web serves it to a supervisor.
        async with httpx.AsyncClient(base_url=base(live)) as http:
            shown = await http.get(f"/api/callbacks/{request.id}", headers=_bearer(READER))
            link = shown.json()["message_url"]
            assert link == f"/api/callbacks/{request.id}/message"
            for token in (READER, BOSS):  # the API's read scope, a supervisor's web token
                served = await http.get(link, headers=_bearer(token))
                assert served.status_code == 200 and served.content == recording.read_bytes()
                assert served.headers["content-type"] == "audio/wav"
            nobody = await http.get(link)
            other_agent = await http.get(link, headers=_bearer(AGENT2_TOKEN))
        assert nobody.status_code == 401
        assert other_agent.status_code == 404  # no agent of it: as if there were none

        # The Live view plays it in the browser (fetched with the token, no CSP refusal).
        async with async_playwright() as pw:
            browser = await chromium(pw)
            page = await browser.new_page()
            refused = policy_violations(page)
            await page.goto(f"{base(live)}/")
            await sign_in(page, BOSS)
            button = page.locator(f'tr[data-id="{request.id}"] button.message')
            await button.wait_for(timeout=10000)
            async with page.expect_response(f"**/api/callbacks/{request.id}/message") as got:
                await button.click()
            assert (await got.value).status == 200
            assert refused == []

        await set_paused(ami, AGENT1, False)
        await wait_heard(agent_heard, INTRO, timeout=30)
        await wait_heard(agent_heard, said, timeout=30)
        (dialed,) = await invites(customer, 1, within=30)  # only after the message
        assert NUMBER in dialed["request_uri"]
        await the_request(store, State.CONNECTED)
        await hang_up_agent(ami, AGENT1)
        done = await the_request(store, State.DONE)
        assert done.call_outcome is CallOutcome.ANSWERED
        assert not_heard(customer_heard, said)


async def test_in_customer_first_the_agent_hears_it_as_they_answer(
    ami: Manager, service: Service, phones: Phones, tmp_path: Path
) -> None:
    _, agent_heard = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, customer_heard = await phones.start(
        CARRIER_PORT, Behaviour.PERSON_PRESSES_1, "person"
    )
    await leave_message(ami, tmp_path, "5031", NUMBER)
    request = await the_request(store(service), State.WAITING)
    assert request.message == f"{request.id}.wav"
    await set_paused(ami, AGENT1, False)
    await invites(customer, 1, within=30)  # the customer first, judged, presses 1
    await wait_heard(agent_heard, INTRO, timeout=40)
    await wait_heard(agent_heard, spoken_wav(), timeout=30)
    await the_request(store(service), State.CONNECTED)
    await hang_up_agent(ami, AGENT1)
    await the_request(store(service), State.DONE)
    assert not_heard(customer_heard, spoken_wav())


async def leave_message(ami: Manager, workdir: Path, did: str, number: str) -> None:
    """A caller on ``did`` presses 1 in the queue, hears the prompt and the tone, says
    speech.MESSAGE, and hears success."""
    # The caller speaks once the prompt and Record()'s tone are over: the nudge comes as the
    # prompt's first seconds are recognised (MATCH_WINDOW_SECONDS), the rest and the tone follow.
    rest_ms = int((len(load_prompt(PROMPT)) / SAMPLE_RATE - MATCH_WINDOW_SECONDS + TONE_S) * 1000)
    async with AsyncExitStack() as stack:
        caller, heard = await stack.enter_async_context(
            calling(workdir, did, number, ["1", ""], pcaps={1: message_pcap(rest_ms)})
        )
        await in_queue(ami, number)
        await caller.nudge()  # the key
        await wait_heard(heard, PROMPT, timeout=20)
        await caller.nudge()  # after the tone: the message, then a pause
        await wait_heard(heard, SUCCESS, timeout=40)
        await caller.finished()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
