"""The request API in process: the web app over serving on the fake PBX and a SQLite store
(or a PostgreSQL one: ``store_url``), called through httpx's ASGI transport (same event loop,
no sockets), with API tokens."""

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from starlette.applications import Starlette

from agi_app.config.credentials import ApiCredential, digest
from agi_app.web.app import create_app
from agi_app.web.config import WebConfig
from tests.unit.serving.rig import Rig, serving_on

TOKENS = {  # token -> (name, scopes)
    "all-token": ("crm", ["request", "read", "cancel"]),
    "other-token": ("app", ["request", "read", "cancel"]),
    "request-token": ("form", ["request"]),
    "read-token": ("reader", ["read"]),
    "cancel-token": ("undo", ["cancel"]),
    "forget-token": ("dpo", ["forget"]),
}
STORES = ("sqlite", "postgres")
# What a request could change, each in a stable order.
TABLES = {
    "requests": "id",
    "request_events": "seq",
    "idempotency_keys": "token, key",
}


def store_url_for(request: pytest.FixtureRequest) -> str | None:
    """A parametrized fixture's store (its param one of STORES): None for SQLite, else the
    URL of the session's PostgreSQL database, emptied."""
    return str(request.getfixturevalue("postgres_url")) if request.param == "postgres" else None


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
    store_url: str | None = None  # None: the rig's SQLite file
    existing: str = ""  # a request a test made beforehand

    async def post(self, body: Any, token: str = "all-token", **headers: str) -> httpx.Response:
        return await self.client.post("/api/callbacks", json=body, headers=auth(token, **headers))

    def rows(self) -> dict[str, list[tuple[object, ...]]]:
        """Everything the store holds that a request could change, read from the database."""
        if self.store_url is not None:
            with psycopg.connect(self.store_url) as pg:
                return {
                    t: pg.execute(f"SELECT * FROM {t} ORDER BY {order}".encode()).fetchall()
                    for t, order in TABLES.items()
                }
        with sqlite3.connect(self.rig.settings.store_path) as db:
            return {
                t: db.execute(f"SELECT * FROM {t} ORDER BY {order}").fetchall()
                for t, order in TABLES.items()
            }

    def age_keys(self, hours: float) -> None:
        """Make every kept idempotency key ``hours`` older, as if kept that long ago."""
        if self.store_url is not None:
            with psycopg.connect(self.store_url) as pg:
                pg.execute(
                    b"UPDATE idempotency_keys SET created_at = created_at - %s",
                    (timedelta(hours=hours),),
                )
            return
        with sqlite3.connect(self.rig.settings.store_path) as db:
            for token, key, at in db.execute("SELECT token, key, created_at FROM idempotency_keys"):
                older = datetime.fromisoformat(at).astimezone(UTC) - timedelta(hours=hours)
                db.execute(
                    "UPDATE idempotency_keys SET created_at = ? WHERE token = ? AND key = ?",
                    (older.isoformat(), token, key),
                )


@asynccontextmanager
async def api_on(
    tmp_path: Path, *, login: bool = True, store_url: str | None = None, **values: object
) -> AsyncIterator[Api]:
    settings: dict[str, object] = {
        "api_credentials": credentials(),
        "api_queues": ["support", "sales"],
        "web_credentials": [],
    }
    if store_url is not None:
        settings["store_url"] = store_url
    async with serving_on(tmp_path, login=login, **(settings | values)) as rig:  # type: ignore[arg-type]
        app = create_app(rig.serving, WebConfig.of(rig.settings), personal=rig.store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield Api(rig, client, app, store_url)
