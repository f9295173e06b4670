"""Seeing and steering: the Live view's data, supervisor actions, metrics, queue_log, the
command line, and the pages in a real browser (Debian's Chromium driven by Playwright)."""

import asyncio
import csv
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import CallOutcome, State
from tests.acceptance.calls import (
    Phones,
    hang_up_agent,
    placeholder_at,
    request_callback,
    set_paused,
    the_request,
)
from tests.acceptance.web import (
    AGENT1,
    AGENT2,
    BOSS,
    TOKEN,
    VIEWER,
    base,
    keep_shot,
    shot,
    sign_in,
    web_service,
)
from tests.support.ami import eventually, queue_callers
from tests.support.browser import chromium, policy_violations
from tests.support.cli_env import cli_env
from tests.support.http import EventStream, get, post
from tests.support.testbed import current
from tests.support.uas import Behaviour


@pytest.fixture
async def live(ami: Manager, settings: Settings) -> AsyncIterator[Service]:
    async with web_service(settings) as service:
        yield service


async def test_list_cancel_and_reprioritize(live: Service, ami: Manager, tmp_path: Path) -> None:
    assert live.store is not None
    async with AsyncExitStack() as stack:
        for number in ("+15551230201", "+15551230202"):
            await request_callback(stack, ami, tmp_path, "5000", number)
        await placeholder_at(ami, 2, 2)
        status, body = await get(f"{base(live)}/api/callbacks", VIEWER)
        assert status == 200
        listed = json.loads(body)["callbacks"]
        assert [(c["destination"], c["position"], c["priority"]) for c in listed] == [
            ("+15551230201", 1, 5),
            ("+15551230202", 2, 5),
        ]
        first, second = listed[0]["id"], listed[1]["id"]

        # The second moves ahead: level 1 outranks the first's level 5.
        assert (await post(f"{base(live)}/api/callbacks/{second}/priority", {"level": 1}))[0] == 401
        status, _ = await post(
            f"{base(live)}/api/callbacks/{second}/priority", {"level": 1, "by": "ann"}, BOSS
        )
        assert status == 200
        queue = await eventually(
            lambda: queue_callers(ami, "support"),
            lambda es: len(es) == 2 and es[0]["CallerIDNum"] == "+15551230202",
            within=10,
            what="reprioritized callback first",
        )
        assert queue[0]["Priority"] == "9"

        status, _ = await post(f"{base(live)}/api/callbacks/{first}/cancel", {"by": "bob"}, TOKEN)
        assert status == 200
        await eventually(
            lambda: queue_callers(ami, "support"),
            lambda es: [e["CallerIDNum"] for e in es] == ["+15551230202"],
            within=10,
            what="cancelled callback out of the queue",
        )
    cancelled = await live.store.get(first)
    assert cancelled is not None and cancelled.call_outcome is CallOutcome.CANCELLED
    events = await live.store.events(first)
    assert ("Cancelled", "bob") in [(e.event, e.detail.get("by")) for e in events]
    moved = await live.store.events(second)
    assert ("Reprioritized", "ann", 1) in [
        (e.event, e.detail.get("by"), e.detail.get("level")) for e in moved
    ]
    status, metrics = await get(f"{base(live)}/metrics", VIEWER)
    assert status == 200
    assert 'callback_requests_total{queue="support"} 2.0' in metrics
    assert 'callback_waiting{queue="support"} 1.0' in metrics
    assert 'call_outcome="Cancelled"' in metrics


async def test_reads_need_a_credential_and_a_known_host(
    live: Service, ami: Manager, tmp_path: Path
) -> None:
    assert live.store is not None
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230231", name="Gina Secret")
        await placeholder_at(ami, 1, 1)
        url = base(live)
        status, body = await get(f"{url}/api/callbacks", VIEWER)
        assert status == 200 and "+15551230231" in body and "Gina Secret" in body
        for path in ("/api/callbacks", "/api/whoami", "/metrics"):
            for token in (None, "wrong-token", BOSS + "x"):
                status, body = await get(f"{url}{path}", token)
                assert (path, token, status) == (path, token, 401)
                assert "+1555" not in body and "Gina" not in body and "callback_" not in body
        async with EventStream(f"{url}/api/events") as stream:
            assert stream.status == 401 and "+1555" not in stream.body
        async with EventStream(f"{url}/api/events", "wrong-token") as stream:
            assert stream.status == 401 and "+1555" not in stream.body
        for path in ("/", "/agents"):  # the pages hold no data, only the sign-in form
            status, body = await get(f"{url}{path}")
            assert status == 200 and 'id="login"' in body and "+1555" not in body
            assert '<link rel="stylesheet" href="/app.css">' in body
        status, body = await get(f"{url}/app.css")
        assert status == 200 and "font-family" in body

        # DNS rebinding: a page on evil.example whose name now resolves to us.
        for path in ("/", "/api/callbacks", "/api/events", "/metrics"):
            status, body = await get(f"{url}{path}", VIEWER, host="evil.example:8080")
            assert (path, status) == (path, 400) and "+1555" not in body

        # A viewer and an agent read but may not act; a supervisor may.
        (request,) = await live.store.requests(State.WAITING)
        for token in (VIEWER, AGENT1):
            status, body = await post(f"{url}/api/callbacks/{request.id}/cancel", {}, token)
            assert status == 403 and "+1555" not in body
            status, _ = await post(
                f"{url}/api/callbacks/{request.id}/priority", {"level": 1}, token
            )
            assert status == 403
        still = await live.store.get(request.id)
        assert still is not None and still.state is State.WAITING and still.priority == 5
        status, _ = await post(f"{url}/api/callbacks/{request.id}/cancel", {}, BOSS)
        assert status == 200
    cancelled = await live.store.get(request.id)
    assert cancelled is not None and cancelled.call_outcome is CallOutcome.CANCELLED
    events = await live.store.events(request.id)
    assert ("Cancelled", "ann") in [(e.event, e.detail.get("by")) for e in events]


async def test_an_agent_sees_only_its_own_screen_pop(
    live: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    assert live.store is not None
    await phones.start(5071, Behaviour.NO_ANSWER, "agent1")
    url = base(live)
    async with AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230241", name="Hal First")
        await request_callback(stack, ami, tmp_path, "5000", "+15551230242", name="Ida Second")
        await placeholder_at(ami, 2, 2)
        await set_paused(ami, "PJSIP/agent1", False)  # agent1's phone rings for the first
        offered = await the_request(live.store, State.OFFERED)
        assert offered.callback_number == "+15551230241"

        async def pops(token: str) -> dict[str, Any]:
            status, body = await get(f"{url}/api/callbacks", token)
            assert status == 200
            result: dict[str, Any] = json.loads(body)
            return result

        everything = await eventually(
            lambda: pops(VIEWER),
            lambda s: "PJSIP/agent1" in s["screen_pops"],
            within=10,
            what="agent1's screen-pop",
        )
        assert len(everything["callbacks"]) == 2
        own = await pops(AGENT1)
        assert own["callbacks"] == [] and list(own["screen_pops"]) == ["PJSIP/agent1"]
        assert own["screen_pops"]["PJSIP/agent1"]["CallerName"] == "Hal First"
        status, body = await get(f"{url}/api/callbacks", AGENT2)
        assert status == 200 and json.loads(body) == {
            "callbacks": [],
            "screen_pops": {},
            "wrap_ups": {},
        }
        assert "+1555" not in body and "Ida" not in body
        async with EventStream(f"{url}/api/events", AGENT1) as stream:
            event = await stream.next()
            assert event["callbacks"] == [] and list(event["screen_pops"]) == ["PJSIP/agent1"]
        async with EventStream(f"{url}/api/events", AGENT2) as stream:
            assert await stream.next() == {"callbacks": [], "screen_pops": {}, "wrap_ups": {}}
        await set_paused(ami, "PJSIP/agent1", True)
        await hang_up_agent(ami, "PJSIP/agent1")


async def test_metrics_closed_by_default_and_open_by_the_setting(
    ami: Manager, settings: Settings
) -> None:
    async with web_service(settings) as closed:
        assert (await get(f"{base(closed)}/metrics"))[0] == 401
        assert (await get(f"{base(closed)}/metrics", AGENT1))[0] == 403
        status, body = await get(f"{base(closed)}/metrics", VIEWER)
        assert status == 200 and "callback_waiting" in body
    async with web_service(settings, web_metrics_public=True) as public:
        status, body = await get(f"{base(public)}/metrics")
        assert status == 200 and "callback_waiting" in body
        assert (await get(f"{base(public)}/api/callbacks"))[0] == 401  # only /metrics opens


async def test_live_streams_past_the_cap_are_refused(
    ami: Manager, settings: Settings, tmp_path: Path
) -> None:
    async with web_service(settings, web_sse_max_clients=3) as live, AsyncExitStack() as stack:
        await request_callback(stack, ami, tmp_path, "5000", "+15551230251")
        url = f"{base(live)}/api/events"
        streams = [await stack.enter_async_context(EventStream(url, VIEWER)) for _ in range(3)]
        for stream in streams:
            assert stream.status == 200
            assert (await stream.next())["callbacks"][0]["destination"] == "+15551230251"
        async with EventStream(url, VIEWER) as refused:  # the wallboard holds its most
            assert refused.status == 429 and "+1555" not in refused.body
        async with EventStream(url, BOSS) as refused:  # and the pool is full
            assert refused.status == 503 and "+1555" not in refused.body
        await streams[0].__aexit__(None, None, None)  # one browser closes: room for another

        async def another() -> int:
            async with EventStream(url, BOSS) as stream:
                if stream.status == 200:
                    await stream.next()
                return stream.status

        await eventually(another, lambda status: status == 200, within=10, what="a free place")
        broadcaster = live.web_app.state.broadcaster
        assert broadcaster.clients <= 3


async def test_command_line(live: Service, ami: Manager, phones: Phones, tmp_path: Path) -> None:
    await phones.start(5071, Behaviour.ANSWER, "agent1")
    await phones.start(5090, Behaviour.ANSWER, "carrier")
    assert live.store is not None
    env = cli_env(live.settings, CALLBACK_WEB_PORT=str(live.web_port), CALLBACK_WEB_TOKEN=TOKEN)

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "agi_app", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    async with AsyncExitStack() as stack:
        for number in ("+15551230211", "+15551230212"):
            await request_callback(stack, ami, tmp_path, "5000", number)
        await placeholder_at(ami, 2, 2)
        listing = await asyncio.to_thread(cli, "list")
        assert "+15551230211" in listing and "+15551230212" in listing
        first, second = (r.id for r in await live.store.requests())
        assert json.loads(await asyncio.to_thread(cli, "show", first))["events"][0]["event"] == (
            "requested"
        )
        await asyncio.to_thread(cli, "cancel", second, "--by", "carol")
        await asyncio.to_thread(cli, "reprioritize", first, "2", "--by", "carol")
        await set_paused(ami, "PJSIP/agent1", False)
        await the_request(live.store, State.CONNECTED)
        await ami_hangup(ami)
        store = live.store
        # Both done: the cancelled one was done already, the answered one once its call ends.
        await eventually(
            lambda: store.requests(State.DONE), lambda rs: len(rs) == 2, within=20, what="2 done"
        )
    rows = list(csv_rows(await asyncio.to_thread(cli, "report", "--format", "csv")))
    assert len(rows) == 1
    assert (rows[0]["queue"], rows[0]["requests"], rows[0]["answered_calls"]) == (
        "support",
        "2",
        "1",
    )
    assert (rows[0]["cancelled"], rows[0]["answered_contacts"], rows[0]["missed_contacts"]) == (
        "1",
        "1",
        "1",
    )
    assert float(rows[0]["wait_p50_s"]) > 0
    table = await asyncio.to_thread(cli, "report")
    assert "answered_calls" in table.splitlines()[0]

    # The same story in Asterisk's queue_log, for standard queue reports.
    served = next(r for r in await live.store.requests() if r.agent_answered_at)
    located = await asyncio.to_thread(current().asterisk.queue_log)
    queue_log = located.read_text().splitlines()
    ours = [line.split("|")[4:] for line in queue_log if f"|{served.channel}|support|" in line]
    assert ["CALLBACKREQUEST", served.callback_number] in ours
    assert ["CALLBACKQUEUED", "2"] in ours
    assert ["CALLBACKDONE", "Answered Call", "Answered Contact"] in ours


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def ami_hangup(ami: Manager) -> None:
    await hang_up_agent(ami, "PJSIP/agent1")


async def test_live_view_and_screen_pop_in_a_browser(
    live: Service, ami: Manager, phones: Phones, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    assert live.store is not None
    await phones.start(5071, Behaviour.NO_ANSWER, "agent1")
    async with async_playwright() as pw, AsyncExitStack() as stack:
        browser = await chromium(pw)
        page = await browser.new_page(viewport={"width": 1100, "height": 520})
        agents = await browser.new_page(viewport={"width": 700, "height": 420})
        refused = [policy_violations(page), policy_violations(agents)]
        await page.goto(f"{base(live)}/")
        await sign_in(page, BOSS)
        await agents.goto(f"{base(live)}/agents")
        await sign_in(agents, AGENT1)  # agent1's own panel: its screen-pop only

        await request_callback(stack, ami, tmp_path, "5000", "+15551230221", name="Dana Scully")
        await request_callback(stack, ami, tmp_path, "5000", "+15551230222", name="Fox Mulder")
        row = page.locator("tr[data-id]")
        await row.nth(1).wait_for(timeout=5000)  # the list updates by itself
        assert await page.locator("td.destination").all_inner_texts() == [
            "+15551230221",
            "+15551230222",
        ]
        await page.screenshot(path=str(shot("live-view.png")), full_page=True)
        keep_shot("live-view.png")

        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))
        await row.nth(1).locator("button.cancel").click()
        await eventually(
            lambda: queue_callers(ami, "support"),
            lambda es: [e["CallerIDNum"] for e in es] == ["+15551230221"],
            within=10,
            what="the cancelled placeholder left the Asterisk queue",
        )
        await page.locator("tr[data-id]").nth(1).wait_for(state="detached", timeout=5000)

        await set_paused(ami, "PJSIP/agent1", False)  # agent1's phone rings for the callback
        pop = agents.locator('section[data-agent="PJSIP/agent1"]')
        await pop.wait_for(timeout=10000)
        assert await pop.locator('dd[data-field="CallerName"]').inner_text() == "Dana Scully"
        assert await pop.locator('dd[data-field="CallbackNumber"]').inner_text() == "+15551230221"
        assert await pop.locator('dd[data-field="Queue"]').inner_text() == "support"
        assert await pop.locator('dd[data-field="DialedNumber"]').inner_text() == "5000"
        await agents.screenshot(path=str(shot("agent-panel.png")))
        keep_shot("agent-panel.png")
        await set_paused(ami, "PJSIP/agent1", True)
        await hang_up_agent(ami, "PJSIP/agent1")  # the agent rejects: the screen-pop clears
        await pop.wait_for(state="detached", timeout=10000)
        await browser.close()
    assert refused == [[], []]  # the Content-Security-Policy blocks nothing the pages need
    (request,) = await live.store.requests(State.WAITING, State.OFFERED)
    assert request.callback_number == "+15551230221"
