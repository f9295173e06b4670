"""The running service as the command line calls it: one POST of JSON with a bearer token
(cancel and reprioritize with the web token, request with an API token), over httpx.

The service is addressed by its own settings (web_host, web_port) and by a Host name it
answers to (web_allowed_hosts): no proxy of the environment is asked (the token goes to the
service alone, as the webhooks' client does), no redirect followed, 10 s for each step.
"""

import json
from typing import Any

import httpx

from agi_app.config.settings import Settings


class Unreachable(Exception):
    """No answer from the service: ``url`` and the reason, in words."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.reason = url, reason


def service_url(settings: Settings, path: str) -> str:
    return f"http://{settings.web_host}:{settings.web_port}{path}"


def post_json(
    settings: Settings,
    path: str,
    token: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The service's answer to ``body`` POSTed at ``path``, whatever its status (the caller
    tells success from refusal); Unreachable when there is none."""
    url = service_url(settings, path)
    sent = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    named = [h for h in settings.web_allowed_hosts if not h.startswith("*")]
    if named and settings.web_host not in named:  # the service answers only to these names
        sent["Host"] = f"{named[0]}:{settings.web_port}"
    try:
        with httpx.Client(timeout=10, trust_env=False, follow_redirects=False) as client:
            return client.post(url, content=json.dumps(body), headers=sent | (headers or {}))
    except httpx.HTTPError as exc:  # refused, timed out, cut off, unparsable
        raise Unreachable(url, str(exc) or type(exc).__name__) from None
