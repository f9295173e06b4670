"""The supervisor's "today" is the centre's day, not UTC's (the store keeps UTC times)."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from agi_app.config.settings import Settings
from agi_app.store.memory import MemoryStore
from agi_app.web.config import SupervisorConfig
from agi_app.web.supervisor_day import DayBoard
from tests.support.samples import PENDING


async def test_today_starts_at_the_centres_midnight(tmp_path: Path) -> None:
    store = MemoryStore()
    # 23:50 in Paris on the 26th, then 00:10 on the 27th (both the 26th in UTC).
    for n, (hour, minute) in enumerate([(22, 50), (23, 10)]):
        at = datetime(2026, 11, 26, hour, minute, tzinfo=UTC)
        await store.add(
            replace(
                PENDING,
                id=f"{n:08d}-0000-4000-8000-000000000000",
                channel=f"1795680000.{n}",
                callback_number=f"+1555000000{n}",
                requested_at=at,
                queue_entered_at=at,
            )
        )
    settings = Settings(queue_log_path=tmp_path / "queue_log", supervisor_timezone="Europe/Paris")
    now = datetime(2026, 11, 26, 23, 20, tzinfo=UTC)  # 00:20 on the 27th in Paris
    board = DayBoard(store, SupervisorConfig.of(settings), lambda: now)
    figures = await board.figures({"support"}, set())
    assert figures["support"]["requested"] == 1
