"""The service's web side in the acceptance tests: the service with its web server on a free
port and its users' tokens, its address, and signing in to its pages in a browser."""

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from agi_app.app.service import Service
from agi_app.config.credentials import WebCredential, digest
from agi_app.config.settings import Settings
from tests.support.testbed import current

if TYPE_CHECKING:
    from playwright.async_api import Page

TOKEN = "supervisor-test-token"  # web_token (CALLBACK_WEB_TOKEN): a supervisor, as before
BOSS = "ann-supervisor-token"
VIEWER = "wallboard-viewer-token"
AGENT1, AGENT2 = "agent1-token", "agent2-token"
CREDENTIALS = [
    WebCredential.model_validate(
        {"name": name, "role": role, "token_sha256": digest(token), "agent": agent}
    )
    for name, role, token, agent in [
        ("ann", "supervisor", BOSS, None),
        ("wallboard", "viewer", VIEWER, None),
        ("agent1", "agent", AGENT1, "PJSIP/agent1"),
        ("agent2", "agent", AGENT2, "PJSIP/agent2"),
    ]
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
# The site's screenshots (docs/), each what a browser test saw: the test's shot -> the page's
# image. `make screenshots` runs those tests with SCREENSHOTS_ENV=docs, which copies them there.
SITE_SHOTS = {
    "live-view.png": "live-view.png",
    "agent-panel.png": "agent-panel.png",
    "supervisor-3-serving.png": "supervisor.png",
}
SCREENSHOTS_ENV = "CALLBACK_SCREENSHOTS"


def shot(name: str) -> Path:
    """Where a browser test saves its screenshot ``name`` (test-artifacts/)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def keep_shot(name: str) -> None:
    """After the test saved ``name``: the site's copy too, when the screenshots are refreshed."""
    if os.environ.get(SCREENSHOTS_ENV) == "docs" and name in SITE_SHOTS:
        shutil.copyfile(ARTIFACTS / name, REPO / "docs" / SITE_SHOTS[name])


@asynccontextmanager
async def web_service(settings: Settings, **web: object) -> AsyncIterator[Service]:
    update = {"web_port": 0, "web_token": SecretStr(TOKEN), "web_credentials": CREDENTIALS}
    async with Service(settings.model_copy(update={**update, **web})) as service:
        yield service


def base(service: Service) -> str:
    return current().url(service.web_port)


async def sign_in(page: "Page", token: str) -> None:
    await page.locator("#login").wait_for(timeout=5000)
    await page.fill("#token", token)
    await page.click("#login button[type=submit]")
    await page.locator("#who").wait_for(timeout=5000)
