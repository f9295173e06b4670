"""The supervisor's screen in process: the web app over serving on the fake PBX, called
through httpx's ASGI transport. Who may read and act, the snapshot's line and agents, the
pause action's validation (nothing unvalidated reaches AMI), and the lost-Asterisk flag; the
limits on open live streams (per credential, agents apart), and the headers every response
carries (Content-Security-Policy: the pages hold no inline script or style)."""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from panoramisk.message import Message
from starlette.types import ASGIApp
from starlette.types import Message as AsgiMessage

from agi_app.config.credentials import WebCredential, digest
from agi_app.domain.priority import queue_prio
from agi_app.pbx.ami import Fields
from agi_app.web.app import create_app
from agi_app.web.config import WebConfig
from tests.support.fake_pbx import FakePbx
from tests.support.poll import eventually
from tests.unit.serving.rig import Rig, serving_on

TOKENS = {"boss": "supervisor", "wall": "viewer", "agent1": "agent", "agent2": "agent"}


class PausingPbx(FakePbx):
    """The fake PBX with QueuePause as Asterisk answers it."""

    def _action_queuepause(self, fields: Fields) -> list[Message]:
        for member in self.members.get(str(fields.get("Queue")), []):
            if member.interface == fields.get("Interface"):
                member.paused = fields.get("Paused") == "true"
                return [Message({"Response": "Success", "Message": "Interface paused"})]
        return [Message({"Response": "Error", "Message": "Interface not found"})]


@dataclass
class Screen:
    rig: Rig
    pbx: PausingPbx
    client: httpx.AsyncClient
    app: ASGIApp

    async def get(self, path: str, token: str | None = "wall") -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}-token"} if token else {}
        return await self.client.get(path, headers=headers)

    async def pause(self, body: Any, token: str = "boss") -> httpx.Response:
        return await self.client.post(
            "/api/supervisor/pause", json=body, headers={"Authorization": f"Bearer {token}-token"}
        )

    async def queue(self, name: str = "support") -> dict[str, Any]:
        response = await self.get("/api/supervisor")
        assert response.status_code == 200
        found: dict[str, Any] = next(q for q in response.json()["queues"] if q["name"] == name)
        return found

    def pauses(self) -> list[Fields]:
        return [f for f in self.pbx.sent if f.get("Action") == "QueuePause"]


@asynccontextmanager
async def screen(tmp_path: Path, **more: object) -> AsyncIterator[Screen]:
    credentials = [
        WebCredential.model_validate(
            {
                "name": name,
                "role": role,
                "token_sha256": digest(f"{name}-token"),
                "agent": f"PJSIP/{name}" if role == "agent" else None,
            }
        )
        for name, role in TOKENS.items()
    ]
    pbx = PausingPbx({"support": ["PJSIP/agent1", "PJSIP/agent2"]})
    settings = {
        "web_credentials": credentials,
        "queue_log_path": tmp_path / "queue_log",
        "supervisor_timezone": "Europe/Paris",
        **more,
    }
    async with serving_on(tmp_path, pbx, **settings) as rig:  # type: ignore[arg-type]
        app = create_app(rig.serving, WebConfig.of(rig.settings))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield Screen(rig, pbx, client, app)


async def test_reads_need_a_viewer_or_supervisor_and_pausing_a_supervisor(
    tmp_path: Path,
) -> None:
    async with screen(tmp_path) as s:
        assert (await s.get("/supervisor", None)).status_code == 200  # the page holds no data
        for path in ("/api/supervisor", "/api/supervisor/events"):
            assert (await s.get(path, None)).status_code == 401
            assert (await s.get(path, "agent1")).status_code == 403
        body = {"queue": "support", "interface": "PJSIP/agent1", "paused": True}
        for token in ("wall", "agent1", "nobody"):
            assert (await s.pause(body, token)).status_code in (401, 403)
        assert s.pauses() == []


async def test_the_line_interleaves_live_callers_and_callbacks_with_agents(
    tmp_path: Path,
) -> None:
    async with screen(tmp_path) as s:
        s.pbx.live_caller("support", "1795680000.1", prio=queue_prio(5))
        first = await s.rig.add("+15551230001", waited=120)  # entered before the live caller
        urgent = await s.rig.add("+15551230002", priority=1)
        for request in (first, urgent):
            await s.rig.serving.request_stored(request)
        await s.rig.until_placed(2)
        queue = await eventually(
            s.queue, lambda q: len(q["rows"]) == 3, within=3, what="three calls in the line"
        )
        assert [(r["kind"], r["id"], r["position"], r["state"]) for r in queue["rows"]] == [
            ("callback", urgent.id, 1, "waiting"),
            ("callback", first.id, 2, "waiting"),
            ("live", "1795680000.1", 3, "waiting"),
        ]
        assert queue["rows"][1]["waited_s"] >= 120
        assert (queue["waiting_now"], queue["waiting_live"], queue["waiting_callbacks"]) == (
            3,
            1,
            2,
        )
        assert [(a["interface"], a["state"]) for a in queue["agents"]] == [
            ("PJSIP/agent1", "free"),
            ("PJSIP/agent2", "free"),
        ]
        assert queue["day"]["requested"] == 2 and queue["day"]["threshold_s"] == 60
        assert queue["day"]["charts"]["waiting"].startswith("<svg")


async def test_pause_sends_only_a_member_asterisk_listed(tmp_path: Path) -> None:
    async with screen(tmp_path) as s:
        hostile = [
            {"queue": "support", "interface": "PJSIP/agent1\r\nAction: Originate", "paused": True},
            {"queue": "support\r\n", "interface": "PJSIP/agent1", "paused": True},
            {"queue": "support", "interface": "PJSIP/agent1", "paused": "yes"},
            {"queue": "support", "interface": "PJSIP/agent1", "paused": True, "reason": "a\nb"},
            {"queue": "support", "interface": "PJSIP/agent1", "paused": True, "extra": 1},
        ]
        for body in hostile:
            assert (await s.pause(body)).status_code == 400, body
        not_member = {"queue": "support", "interface": "PJSIP/agent9", "paused": True}
        assert (await s.pause(not_member)).status_code == 404
        other_queue = {"queue": "sales", "interface": "PJSIP/agent1", "paused": True}
        assert (await s.pause(other_queue)).status_code == 404
        assert s.pauses() == []

        body = {"queue": "support", "interface": "PJSIP/agent1", "paused": True, "reason": "lunch"}
        response = await s.pause(body)
        assert response.status_code == 200 and response.json()["paused"] is True
        assert s.pauses() == [
            {
                "Action": "QueuePause",
                "Queue": "support",
                "Interface": "PJSIP/agent1",
                "Paused": "true",
                "Reason": "supervisor boss: lunch",
            }
        ]
        queue = await s.queue()
        assert next((a["interface"], a["state"]) for a in queue["agents"]) == (
            "PJSIP/agent1",
            "paused",
        )
        body["paused"] = False
        assert (await s.pause(body)).status_code == 200
        assert (await s.queue())["agents"][0]["state"] == "free"


async def test_a_lost_asterisk_is_said_not_hidden(tmp_path: Path) -> None:
    async with screen(tmp_path) as s:
        await s.rig.add("+15551230001")
        s.pbx.lose_link()
        snapshot = (await s.get("/api/supervisor")).json()
        assert snapshot["asterisk"]["connected"] is False
        assert snapshot["asterisk"]["lost_since"]
        assert snapshot["timezone"] == "Europe/Paris"
        (queue,) = snapshot["queues"]
        assert [r["kind"] for r in queue["rows"]] == ["callback"]  # the store still tells
        pause = {"queue": "support", "interface": "PJSIP/agent1", "paused": True}
        assert (await s.pause(pause)).status_code == 503


@asynccontextmanager
async def held_open(app: ASGIApp, path: str, token: str) -> AsyncIterator[int]:
    """A live stream held open as a browser holds it (httpx's ASGI transport would wait for
    its end): its status, a refusal's too; on exit the client goes away."""
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    gone, asked = asyncio.Event(), False

    async def receive() -> AsgiMessage:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: AsgiMessage) -> None:
        if message["type"] == "http.response.start" and not started.done():
            started.set_result(message["status"])

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 40000),
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}-token".encode())],
    }  # fmt: skip
    task = asyncio.ensure_future(app(scope, receive, send))
    try:
        yield await asyncio.wait_for(started, 5)
    finally:
        gone.set()
        await asyncio.wait_for(task, 5)


async def test_one_agent_token_cannot_take_every_stream(tmp_path: Path) -> None:
    async with screen(tmp_path, web_sse_max_clients=50) as s, AsyncExitStack() as stack:
        for _ in range(10):  # web_broadcast.PER_CREDENTIAL
            assert await stack.enter_async_context(held_open(s.app, "/api/events", "agent1")) == 200
        refused = await s.get("/api/events", "agent1")  # a refusal ends: httpx reads it
        assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
        assert "'agent1' has 10 live streams open" in refused.json()["error"]
        async with held_open(s.app, "/api/events", "agent2") as status:
            assert status == 200  # another agent's credential is not held back
        async with (
            held_open(s.app, "/api/events", "boss") as live,
            held_open(s.app, "/api/supervisor/events", "boss") as screen_,
        ):
            assert (live, screen_) == (200, 200)
        assert s.app.state.stream_limits.by_name == {"agent1": 10}  # type: ignore[attr-defined]


async def test_agents_cannot_starve_supervisors(tmp_path: Path) -> None:
    async with screen(tmp_path, web_sse_max_clients=2) as s, AsyncExitStack() as stack:
        first = held_open(s.app, "/api/events", "agent1")
        assert await stack.enter_async_context(first) == 200
        assert await stack.enter_async_context(held_open(s.app, "/api/events", "agent2")) == 200
        refused = await s.get("/api/events", "agent2")
        assert refused.status_code == 503 and "agents" in refused.json()["error"]
        # The agents' pool is full; the viewers' and supervisors' is theirs alone.
        assert await stack.enter_async_context(held_open(s.app, "/api/events", "boss")) == 200
        path = "/api/supervisor/events"
        assert await stack.enter_async_context(held_open(s.app, path, "wall")) == 200
        assert (await s.get(path, "boss")).status_code == 503  # that pool is full too now
        await first.__aexit__(None, None, None)  # an agent closes its panel: room for another
        async with held_open(s.app, "/api/events", "agent2") as status:
            assert status == 200


PAGES = ("/", "/agents", "/supervisor")
STATIC = Path(__file__).resolve().parents[2] / "agi_app" / "web" / "static"


async def test_every_response_carries_the_security_headers(tmp_path: Path) -> None:
    async with screen(tmp_path) as s:
        responses = [await s.get(page, None) for page in PAGES]
        responses += [await s.get("/api/supervisor", None), await s.get("/api/supervisor")]
        responses.append(await s.client.get("/", headers={"Host": "evil.example"}))
        for response in responses:
            policy = response.headers["content-security-policy"]
            assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
            assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
            assert response.headers["x-content-type-options"] == "nosniff"
        assert [r.status_code for r in responses] == [200, 200, 200, 401, 200, 400]


async def test_pages_hold_no_inline_script_or_style_and_their_files_are_served(
    tmp_path: Path,
) -> None:
    """What the policy would block in a browser: inline <script>, <style>, style="..."
    and on...= handlers (tests/acceptance checks the pages in Chromium)."""
    async with screen(tmp_path) as s:
        for page in PAGES:
            html = (await s.get(page, None)).text
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page
            assert "<style" not in html and not re.search(r"\s(style|on[a-z]+)=", html), page
            for script in re.findall(r'<script src="([^"]+)"', html):
                served = await s.get(script, None)
                assert served.status_code == 200 and "javascript" in served.headers["content-type"]
            for sheet in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
                served = await s.get(sheet, None)
                assert served.status_code == 200 and "text/css" in served.headers["content-type"]


def test_the_scripts_write_no_inline_style_or_handler() -> None:
    for script in STATIC.glob("*.js"):  # the markup they build: blocked by the policy too
        assert not re.search(r"\s(style|on[a-z]+)=", script.read_text()), script.name
