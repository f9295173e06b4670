"""The service purges by itself: at its start a finished callback past retention_days loses
its personal data; the task survives a store that is unavailable for a while (it tries again
later) and, dying of anything else, stops the service loudly (agi_app/app/supervision.py)."""

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agi_app.app.service import Service
from agi_app.config.privacy import Privacy
from agi_app.config.settings import Settings
from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.request import CallbackRequest, CallOutcome, State
from agi_app.serving.privacy import purge_every
from agi_app.store.memory import MemoryStore
from agi_app.store.sqlite.store import Store
from tests.support.poll import eventually, eventually_local
from tests.support.samples import PENDING
from tests.support.testbed import TESTBED_NUMBERS


async def test_the_service_purges_at_its_start(tmp_path: Path) -> None:
    path = tmp_path / "cb.sqlite3"
    long_ago = datetime.now(UTC) - timedelta(days=31)
    old = replace(PENDING, requested_at=long_ago, queue_entered_at=long_ago)
    async with Store.open(path) as store:
        await store.add(old)
        ended = replace(old, state=State.DONE, call_outcome=CallOutcome.EXPIRED)
        await store.save(old, ended, "LeftQueue", long_ago + timedelta(minutes=30))
    settings = Settings(
        store_path=path,
        agi_port=0,
        ami_enabled=False,
        allowed_number_prefixes=TESTBED_NUMBERS,
        privacy=Privacy(retention_days=30),
    )
    async with Service(settings) as service:
        assert service.store is not None
        running = service.store
        purged = await eventually(
            lambda: running.get(old.id),
            lambda r: r is not None and r.callback_number.startswith("anon:"),
            within=10,
            what="the old callback purged",
        )
        assert purged is not None and purged.caller_name == ""
        assert service.failed is not None and not service.failed.done()


class _Failing(MemoryStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.calls = 0

    async def done_before(self, before: datetime, limit: int) -> list[CallbackRequest]:
        self.calls += 1
        raise self.error


async def test_an_unavailable_store_postpones_the_purge(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _Failing(StoreUnavailable("locked"))
    with caplog.at_level(logging.WARNING):
        task = asyncio.ensure_future(
            purge_every(store, Privacy(), tmp_path / "cb", lambda: datetime.now(UTC), tmp_path)
        )
        await eventually_local(
            lambda: [r.getMessage() for r in caplog.records],
            lambda lines: "purge of personal data postponed: store-unavailable: locked" in lines,
            within=5,
            what="the warning",
        )
    assert not task.done()  # waiting for its next turn
    task.cancel()


async def test_any_other_error_ends_the_task(tmp_path: Path) -> None:
    store = _Failing(RuntimeError("a bug"))
    task = asyncio.ensure_future(
        purge_every(store, Privacy(), tmp_path / "cb", lambda: datetime.now(UTC), tmp_path)
    )
    with pytest.raises(RuntimeError, match="a bug"):
        await asyncio.wait_for(task, 5)


async def test_a_purge_that_dies_stops_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def dying(*_args: object) -> None:
        raise RuntimeError("a bug in the purge")

    monkeypatch.setattr("agi_app.app.service.purge_every", dying)
    settings = Settings(store_path=tmp_path / "cb.sqlite3", agi_port=0, ami_enabled=False)
    async with Service(settings) as service:
        assert service.failed is not None
        error = await asyncio.wait_for(service.failed, 5)
    assert str(error) == "a bug in the purge"
    assert any(
        r.levelno == logging.CRITICAL and "the purge of personal data died" in r.getMessage()
        for r in caplog.records
    )
