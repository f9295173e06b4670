"""The store the settings name (StoreConfig): ``store_url`` (sqlite:///path or
postgresql://...), else the SQLite file ``store_path`` as before, so nothing changes for an
existing install.

The commands open the store alone (``open_store``); the service opens the backend
(``open_backend``): the store with the serving role, the store serving writes through and
the requests other processes stored, behind the interfaces below, so that nothing outside
agi_app.store names a backend.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from agi_app.config.settings import SQLITE
from agi_app.domain.errors import DriverMissing, NotLeader, StoreMissing
from agi_app.store.config import StoreConfig
from agi_app.store.port import PersonalData, RequestStore, WebhookOutbox
from agi_app.store.sqlite.store import Store

__all__ = [
    "Backend",
    "Leadership",
    "NotLeader",  # a write refused, or the role lost: another process serves now
    "ServiceStore",
    "SoloLeadership",
    "StoreConfig",
    "open_backend",
    "open_store",
    "shown",
]


class ServiceStore(RequestStore, WebhookOutbox, PersonalData, Protocol):
    """What the service runs on: the requests, their event log read as the webhooks' outbox
    and the offer checks, and their personal data removed (agi_app.store.sqlite.store.Store and
    agi_app.store.postgres.PgStore both are)."""


class Leadership(Protocol):
    """The serving role of this process (what the service is written against): on SQLite
    SoloLeadership, on PostgreSQL the database chooses (agi_app/store/postgres/leadership.py).
    """

    lost: asyncio.Event  # set when this process no longer leads (not by ``release``)

    async def acquire(self) -> int:
        """Wait until this process leads; its epoch (higher than any leader's before)."""
        ...

    async def release(self) -> None:
        """Step down: another process may lead at once."""
        ...

    def leads(self) -> bool:
        """Whether this process may act as the leader at this moment (asked just before an
        action the database cannot fence: an AMI Originate)."""
        ...


class SoloLeadership:
    """One process on one store (SQLite): it always leads, and never loses the role."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()

    async def acquire(self) -> int:
        return 1

    async def release(self) -> None:
        pass

    def leads(self) -> bool:
        return True


@dataclass(frozen=True)
class Backend:
    """What the service runs on, from ``open_backend``."""

    store: ServiceStore  # every process's: intake, reads, webhooks when it does not serve
    leadership: Leadership  # released when the backend closes
    # The store serving writes through while this process leads at an epoch: on PostgreSQL
    # each write is fenced (NotLeader once another process took over); SQLite's one process
    # needs no fence.
    fenced: Callable[[int], ServiceStore]


def shown(url: str) -> str:
    """The URL without a password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@asynccontextmanager
async def open_store(config: StoreConfig, *, existing: bool = False) -> AsyncIterator[ServiceStore]:
    """Open the configured store, checked and migrated (StoreUnavailable, or StoreCorrupt for
    a damaged SQLite file, if it cannot be); ``existing``: one that is there already, else
    StoreMissing (for the commands that only read)."""
    async with open_backend(config, existing=existing) as backend:
        yield backend.store


@asynccontextmanager
async def open_backend(
    config: StoreConfig,
    *,
    stored_elsewhere: Callable[[str], None] | None = None,
    existing: bool = False,
) -> AsyncIterator[Backend]:
    """The configured store (as ``open_store``) with its serving role: SQLite's one process
    always leads; on PostgreSQL the database chooses one process, which, while it leads, hands
    ``stored_elsewhere`` the id of each request another process stored (to place it now)."""
    url = config.url
    if url.startswith(SQLITE):
        path = Path(url.removeprefix(SQLITE))
        if existing and not await asyncio.to_thread(path.exists):
            raise StoreMissing(f"no store at {path} (store_path or store_url in the settings)")
        async with Store.open(path, busy_timeout=config.busy_timeout) as store:
            yield Backend(store, SoloLeadership(), lambda epoch: store)
        return
    try:  # an extra (agi-callback[postgresql]): a SQLite-only site has no driver to import
        from agi_app.store.postgres import FencedStore, PgLeadership, PgStore
        from agi_app.store.postgres.notices import listen
    except ImportError as exc:
        raise DriverMissing(
            f"store_url names PostgreSQL, but its driver is not installed ({exc.name}):"
            " pip install 'agi-callback[postgresql]'"
        ) from exc
    timeout = config.timeout
    async with PgStore.open(
        url, pool_size=config.pool_size, timeout=timeout, existing=existing
    ) as on_postgres:
        # No connection until acquire(): the commands, which never lead, open none.
        leadership = PgLeadership(
            url, timeout=timeout, listen=listen(stored_elsewhere) if stored_elsewhere else None
        )
        try:
            yield Backend(on_postgres, leadership, partial(FencedStore, on_postgres))
        finally:
            await leadership.release()
