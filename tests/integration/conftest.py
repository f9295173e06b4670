"""Fixtures of the integration tier's in-process service tests."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from tests.integration.api_rig import STORES, store_url_for
from tests.support.testbed import TESTBED_NUMBERS


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """No settings file: what a test gives and the defaults (not a ./callback.toml)."""
    monkeypatch.setenv("CALLBACK_CONFIG", "")


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
