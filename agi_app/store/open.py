"""The store the settings name: ``store_url`` (sqlite:///path or postgresql://...), else the
SQLite file ``store_path`` as before, so nothing changes for an existing install."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from agi_app.config.settings import SQLITE, Settings
from agi_app.domain.errors import StoreMissing
from agi_app.store.port import RequestStore, WebhookOutbox
from agi_app.store.postgres import PgStore
from agi_app.store.sqlite.store import Store


class ServiceStore(RequestStore, WebhookOutbox, Protocol):
    """What the service runs on: the requests, their event log read as the webhooks' outbox
    and the offer checks (agi_app.store.sqlite.store.Store and agi_app.store.postgres.PgStore
    both are)."""


def shown(url: str) -> str:
    """The URL without a password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@asynccontextmanager
async def open_store(settings: Settings, *, existing: bool = False) -> AsyncIterator[ServiceStore]:
    """Open the settings' store, checked and migrated (StoreUnavailable, or StoreCorrupt for
    a damaged SQLite file, if it cannot be); ``existing``: one that is there already, else
    StoreMissing (for the commands that only read)."""
    url = settings.store_address()
    if url.startswith(SQLITE):
        path = Path(url.removeprefix(SQLITE))
        if existing and not await asyncio.to_thread(path.exists):
            raise StoreMissing(f"no store at {path} (store_path or store_url in the settings)")
        async with Store.open(path, busy_timeout=settings.store_busy_timeout) as store:
            yield store
        return
    async with PgStore.open(
        url, pool_size=settings.store_pool_size, timeout=settings.store_timeout, existing=existing
    ) as on_postgres:
        yield on_postgres
