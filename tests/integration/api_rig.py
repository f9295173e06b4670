"""The request API in process: the web app over serving on the fake PBX and a SQLite store,
called through httpx's ASGI transport (same event loop, no sockets), with API tokens."""

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from agi_app.web import create_app
from agi_app.web_auth import ApiCredential, digest
from tests.unit.serving.rig import Rig, serving_on

TOKENS = {  # token -> (name, scopes)
    "all-token": ("crm", ["request", "read", "cancel"]),
    "other-token": ("app", ["request", "read", "cancel"]),
    "request-token": ("form", ["request"]),
    "read-token": ("reader", ["read"]),
}


def credentials() -> list[ApiCredential]:
    return [
        ApiCredential.model_validate({"name": name, "token_sha256": digest(t), "scopes": s})
        for t, (name, s) in TOKENS.items()
    ]


def auth(token: str = "all-token", **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


@dataclass
class Api:
    rig: Rig
    client: httpx.AsyncClient
    app: Starlette
    existing: str = ""  # a request a test made beforehand

    async def post(self, body: Any, token: str = "all-token", **headers: str) -> httpx.Response:
        return await self.client.post("/api/callbacks", json=body, headers=auth(token, **headers))

    def rows(self) -> dict[str, list[tuple[object, ...]]]:
        """Everything the store holds that a request could change, read from the file."""
        with sqlite3.connect(self.rig.settings.store_path) as db:
            return {
                table: db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
                for table in ("requests", "request_events", "idempotency_keys")
            }


@asynccontextmanager
async def api_on(tmp_path: Path, *, login: bool = True, **values: object) -> AsyncIterator[Api]:
    settings: dict[str, object] = {
        "api_credentials": credentials(),
        "api_queues": ["support", "sales"],
        "web_credentials": [],
    }
    async with serving_on(tmp_path, login=login, **(settings | values)) as rig:  # type: ignore[arg-type]
        app = create_app(rig.serving, rig.settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield Api(rig, client, app)
