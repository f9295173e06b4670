"""Fixtures of the integration tier's in-process service tests."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.store.memory import MemoryStore
from agi_app.store.open import ServiceStore
from agi_app.store.postgres import PgStore
from agi_app.store.sqlite.store import Store
from tests.integration.api_rig import STORES, store_url_for
from tests.support.testbed import TESTBED_NUMBERS


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """No settings file: what a test gives and the defaults (not a ./callback.toml)."""
    monkeypatch.setenv("CALLBACK_CONFIG", "")


@pytest.fixture(params=["sqlite", "memory", "postgres"])
async def each_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ServiceStore]:
    """Each store the contract tests hold to the same rules: SQLite on a real file, the
    in-memory one, and PostgreSQL (the session's server, its database emptied)."""
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "postgres":
        async with PgStore.open(request.getfixturevalue("postgres_url")) as on_postgres:
            yield on_postgres
        return
    async with Store.open(tmp_path / "cb.sqlite3") as opened:
        yield opened


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest) -> str | None:
    """Each test that asks runs on both stores: None for SQLite, else a PostgreSQL URL."""
    return store_url_for(request)


@pytest.fixture
async def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Service]:
    """The service in this process without AMI: FastAGI on a free port takes requests (none is
    served) into a SQLite file in tmp_path, which gives up after 0.2 s when locked."""
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    settings = Settings(
        store_path=tmp_path / "cb.sqlite3",
        agi_port=0,
        store_busy_timeout=0.2,
        ami_enabled=False,
        allowed_number_prefixes=TESTBED_NUMBERS,
    )
    async with Service(settings) as running:
        yield running
