"""The callback's mode and what its call found, as the supervisor sees them in Chromium: a
customer-first callback whose customer (a speaking phone) pressed 1 and now waits on the line
for an agent shows "customer first" and "a person, pressed 1" on the Live view and on the
supervisor's screen, from the real stack (Asterisk's AMD(), the dialplan's human check)."""

from contextlib import AsyncExitStack
from pathlib import Path

from panoramisk import Manager

from agi_app.config.settings import Settings
from agi_app.domain.request import State
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    hang_up_agent,
    invites,
    request_callback,
    set_paused,
    the_request,
)
from tests.acceptance.web import BOSS, base, sign_in, web_service
from tests.support.ami import eventually
from tests.support.browser import chromium, policy_violations
from tests.support.testbed import CARRIER_PORT
from tests.support.uas import Behaviour

NUMBER = "+15551230121"
VERDICT = "last call: a person, pressed 1"


async def test_a_customer_on_the_line_shows_its_mode_and_verdict(
    ami: Manager, settings: Settings, phones: Phones, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.PERSON_PRESSES_1, "person")
    async with web_service(settings) as live, async_playwright() as pw:
        store = live.store
        assert store is not None
        async with AsyncExitStack() as stack:
            await request_callback(stack, ami, tmp_path, "5014", NUMBER)
        request = await the_request(store, State.WAITING)
        await set_paused(ami, AGENT1, False)
        await invites(customer, 1, within=30)
        # The agent goes away while the customer is judged: the customer, having pressed 1,
        # waits on the line at the head of the queue, a state that lasts.
        await set_paused(ami, AGENT1, True)
        await eventually(
            lambda: store.get(request.id),
            lambda r: r is not None and r.state is State.QUEUED and r.customer_key == "1",
            within=40,
            what="the customer on the line after pressing 1",
        )
        browser = await chromium(pw)
        page = await browser.new_page()
        refused = policy_violations(page)
        await page.goto(f"{base(live)}/")
        await sign_in(page, BOSS)
        row = page.locator(f'tr[data-id="{request.id}"]')
        await row.locator(".verdict").wait_for(timeout=10000)
        assert await row.locator(".mode").inner_text() == "customer first"
        assert await row.locator(".verdict").inner_text() == VERDICT

        await page.goto(f"{base(live)}/supervisor")
        row = page.locator(f'section.queue tr[data-kind="callback"][data-id="{request.id}"]')
        await row.locator(".verdict").wait_for(timeout=10000)
        assert await row.locator(".badge.mode").inner_text() == "customer first"
        assert await row.locator(".verdict").inner_text() == VERDICT
        assert await row.get_attribute("data-state") == "on the line"
        assert refused == []

        await set_paused(ami, AGENT1, False)
        await eventually(
            lambda: store.get(request.id),
            lambda r: r is not None and r.state is State.CONNECTED,
            within=30,
            what="the agent took the customer",
        )
        await hang_up_agent(ami, AGENT1)
        await eventually(
            lambda: store.get(request.id),
            lambda r: r is not None and r.state is State.DONE,
            within=20,
            what="done",
        )
