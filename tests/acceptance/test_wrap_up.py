"""A wrap-up code from the agent panel, over the real stack: agent1 answers a callback over
SIP, talks to the customer and hangs up; their panel in Chromium then offers the settings'
codes for that call, and the code chosen is kept with the request (and the panel clears)."""

from contextlib import AsyncExitStack
from pathlib import Path

from panoramisk import Manager

from agi_app.config.settings import Settings
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    hang_up_agent,
    invites,
    request_callback,
    set_paused,
    the_request,
)
from tests.acceptance.web import AGENT1 as AGENT1_TOKEN
from tests.acceptance.web import base, sign_in, web_service
from tests.support.ami import eventually
from tests.support.browser import chromium, policy_violations
from tests.support.testbed import CARRIER_PORT
from tests.support.uas import Behaviour

NUMBER = "+15551230141"
CODES = ["resolved", "call-again"]


async def test_the_agent_gives_the_call_its_wrap_up_code_from_the_panel(
    ami: Manager, settings: Settings, phones: Phones, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.ANSWER, "carrier")
    async with (
        web_service(settings, disposition_codes=CODES) as live,
        async_playwright() as pw,
    ):
        store = live.store
        assert store is not None
        browser = await chromium(pw)
        panel = await browser.new_page()
        refused = policy_violations(panel)
        await panel.goto(f"{base(live)}/agents")
        await sign_in(panel, AGENT1_TOKEN)
        async with AsyncExitStack() as stack:
            await request_callback(stack, ami, tmp_path, "5000", NUMBER)
        request = await the_request(store, State.WAITING)
        assert await panel.locator("section.wrap-up").count() == 0  # nothing talked on yet

        await set_paused(ami, AGENT1, False)
        await invites(agent, 1)
        await invites(customer, 1)
        await the_request(store, State.CONNECTED)
        await set_paused(ami, AGENT1, True)
        await hang_up_agent(ami, AGENT1)
        done = await the_request(store, State.DONE)
        assert done.call_outcome is CallOutcome.ANSWERED and done.disposition == ""

        wrap_up = panel.locator(f'section.wrap-up[data-id="{request.id}"]')
        await wrap_up.wait_for(timeout=10000)
        assert await wrap_up.locator("select.code option").all_inner_texts() == CODES
        await wrap_up.locator("select.code").select_option("call-again")
        await wrap_up.locator("button.dispose").click()
        kept = await eventually(
            lambda: store.get(request.id),
            lambda r: r is not None and r.disposition != "",
            within=10,
            what="the wrap-up code kept",
        )
        assert kept is not None and kept.disposition == "call-again"
        await wrap_up.wait_for(state="detached", timeout=10000)  # given: the panel clears
        events = [e.event for e in await store.events(request.id)]
        assert events[-1] == "Disposed"
        assert refused == []
