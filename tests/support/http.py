"""Plain HTTP for the tests (stdlib in a thread: no client library needed)."""

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any


def _call(url: str, body: dict[str, Any] | None, token: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers=headers, method="POST" if data else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def get(url: str) -> tuple[int, str]:
    return await asyncio.to_thread(_call, url, None, None)


async def post(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, str]:
    return await asyncio.to_thread(_call, url, body, token)
