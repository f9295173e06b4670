"""The supervisor's screen in Debian's Chromium over the real stack: a scripted morning.

Callbacks and a live caller wait (the line interleaves them in serving order), one callback
expires, the supervisor unpauses an agent from the screen, the agent serves the first
callback and is paused from the screen while on it; the figures of the day are the CLI
report's. A screenshot of each state lands in test-artifacts/.
"""

import asyncio
import json
import subprocess
import sys
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from panoramisk import Manager

if TYPE_CHECKING:
    from playwright.async_api import Page

from agi_app.config.settings import Settings
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    AGENT1,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    request_callback,
    set_paused,
)
from tests.acceptance.web import BOSS, base, keep_shot, shot, sign_in, web_service
from tests.support.ami import eventually
from tests.support.browser import chromium, policy_violations
from tests.support.cli_env import cli_env
from tests.support.testbed import AGENTS, current
from tests.support.uas import Behaviour

CENTRE = "Europe/Paris"


async def rows(page: "Page") -> list[tuple[str, str, str]]:
    """The line as the screen shows it: (kind, number, state) per row, top to bottom."""
    found = []
    for row in await page.locator("section.queue tbody tr[data-kind]").all():
        number = await row.locator(".number").inner_text()
        found.append(
            (
                str(await row.get_attribute("data-kind")),
                number,
                str(await row.get_attribute("data-state")),
            )
        )
    return found


async def until_rows(page: "Page", wanted: list[tuple[str, str, str]], what: str) -> None:
    await eventually(lambda: rows(page), lambda r: r == wanted, within=20, what=what)


async def agent_state(page: "Page") -> tuple[str, str, str]:
    row = page.locator(f'tr[data-agent="{AGENT1}"]')
    pills = " ".join(await row.locator("td.state .pill").all_inner_texts())
    return (
        str(await row.get_attribute("data-state")),
        pills,
        await row.locator(".handling").inner_text(),
    )


async def figure(page: "Page", key: str) -> str:
    return await page.locator(f'[data-figure="{key}"] .value').inner_text()


def cli_report(settings: Settings) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "agi_app", "report", "--format", "json"],
        env=cli_env(settings, CALLBACK_SUPERVISOR_TIMEZONE=CENTRE),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    today = datetime.now(ZoneInfo(CENTRE)).date().isoformat()  # the centre's day, as the screen
    # Not next() bare: a StopIteration out of a thread hangs asyncio.to_thread for good.
    rows = [r for r in json.loads(done.stdout) if r["day"] == today]
    assert len(rows) == 1, done.stdout
    row: dict[str, Any] = rows[0]
    return row


async def press_pause(page: "Page") -> None:
    """Agent1's Pause / Unpause button, from the keyboard."""
    await page.locator(f'tr[data-agent="{AGENT1}"] button.pause').focus()
    await page.keyboard.press("Enter")


async def screenshot(page: "Page", name: str) -> None:
    await page.screenshot(path=str(shot(f"supervisor-{name}.png")), full_page=True)
    keep_shot(f"supervisor-{name}.png")


async def test_a_morning_on_the_supervisors_screen(
    ami: Manager, settings: Settings, phones: Phones, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    await phones.start(5071, Behaviour.ANSWER, "agent1")
    await phones.start(5090, Behaviour.ANSWER, "carrier")
    centre = {"supervisor_timezone": CENTRE, "queue_log_path": current().asterisk.queue_log()}
    async with (
        web_service(settings, **centre) as live,
        async_playwright() as pw,
        AsyncExitStack() as stack,
    ):
        store = live.store
        assert store is not None
        browser = await chromium(pw)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        refused = policy_violations(page)
        await page.goto(f"{base(live)}/supervisor")
        await sign_in(page, BOSS)
        await page.locator('section.queue[data-queue="support"]').wait_for(timeout=5000)
        assert await page.locator("#zone").inner_text() == CENTRE
        assert await page.locator("section.queue .empty").first.inner_text() == "No calls waiting."
        # Every agent paused (the fixture's pause may land before app_queue answers, right
        # after the sandbox starts): only agent1, brought in from the screen, takes calls.
        for agent in AGENTS:
            await set_paused(ami, agent, True)
        await eventually(
            lambda: page.locator("tr[data-agent]").evaluate_all(
                "rows => rows.map(r => r.dataset.state)"
            ),
            lambda states: states == ["paused"] * len(AGENTS),
            within=10,
            what="every agent paused on the screen",
        )
        await screenshot(page, "1-quiet")

        # The line: a callback, a live caller who came after its caller, a later callback.
        await request_callback(stack, ami, tmp_path, "5000", "+15551230301", name="Dana Scully")
        await stack.enter_async_context(calling(tmp_path, "5000", "+15551230310", []))
        await in_queue(ami, "+15551230310")
        await request_callback(stack, ami, tmp_path, "5000", "+15551230302", name="Fox Mulder")
        await until_rows(
            page,
            [
                ("callback", "+15551230301", "waiting"),
                ("live", "+15551230310", "waiting"),
                ("callback", "+15551230302", "waiting"),
            ],
            "callbacks and the live caller in serving order",
        )
        first = next(r for r in await store.requests() if r.callback_number == "+15551230301")
        entered = first.queue_entered_at.astimezone(ZoneInfo(CENTRE)).strftime("%H:%M:%S")
        cell = page.locator(f'tr[data-id="{first.id}"] td.entered')
        assert await cell.inner_text() == entered  # the centre's time, not the server's
        await screenshot(page, "2-line")

        # One that may wait 5 s only (5005): it expires, and the day counts it.
        await request_callback(stack, ami, tmp_path, "5005", "+15551230303")
        await eventually(
            lambda: figure(page, "expired"), lambda v: v == "1", within=20, what="one expired"
        )

        # The supervisor brings agent1 in from the keyboard; it serves the first callback.
        await press_pause(page)
        await eventually(
            lambda: agent_state(page),
            lambda s: s == ("on a callback", "on a callback", "+15551230301"),
            within=20,
            what="agent1 on the first callback",
        )
        await until_rows(
            page,
            [
                ("live", "+15551230310", "waiting"),
                ("callback", "+15551230302", "waiting"),
                ("callback", "+15551230301", "talking"),
            ],
            "the served callback with its agent",
        )
        # The button kept its focus through the updates: Enter again pauses agent1 while on
        # the call, so it takes no next call.
        focused = await page.evaluate("document.activeElement.dataset.focus")
        assert focused == f"pause-support-{AGENT1}"
        await press_pause(page)
        await eventually(
            lambda: agent_state(page),
            lambda s: s[1] == "on a callback paused",
            within=10,
            what="agent1 paused while on the callback",
        )
        await screenshot(page, "3-serving")
        await hang_up_agent(ami, AGENT1)
        await eventually(
            lambda: store.requests(State.DONE),
            lambda done: len(done) == 2,  # the expired one and the served one
            within=20,
            what="the callback served",
        )
        await eventually(
            lambda: agent_state(page), lambda s: s[0] == "paused", within=10, what="paused"
        )
        await until_rows(
            page,
            [("live", "+15551230310", "waiting"), ("callback", "+15551230302", "waiting")],
            "the line after the callback was served",
        )
        # The figures of the day are the CLI report's.
        done = await store.requests(State.DONE)
        outcomes = sorted(str(r.call_outcome) for r in done)
        assert outcomes == sorted([str(CallOutcome.ANSWERED), str(CallOutcome.EXPIRED)])
        report = await asyncio.to_thread(cli_report, live.settings)
        assert (report["requests"], report["answered_calls"], report["expired"]) == (3, 1, 1)
        await eventually(
            lambda: figure(page, "served"), lambda v: v == "1", within=10, what="served 1"
        )
        for key, column in [
            ("requested", "requests"),
            ("served", "answered_calls"),
            ("missed", "missed_calls"),
            ("expired", "expired"),
            ("abandoned", "abandoned_calls"),
        ]:
            assert (key, await figure(page, key)) == (key, str(report[column]))
        assert await figure(page, "waiting") == "2"
        assert await page.locator("svg.chart").count() == 3
        await screenshot(page, "4-day")
        await page.set_viewport_size({"width": 1920, "height": 1080})
        await screenshot(page, "5-wall")
        await browser.close()
    assert refused == []  # the Content-Security-Policy blocks nothing the page needs

    # The pauses are in Asterisk's queue_log, with who did them.
    log = current().asterisk.queue_log().read_text().splitlines()[-200:]
    ours = [line.split("|")[3:] for line in log if "|support|PJSIP/agent1|" in line]
    assert ["PJSIP/agent1", "UNPAUSE", "supervisor ann"] in ours
    assert ["PJSIP/agent1", "PAUSE", "supervisor ann"] in ours
