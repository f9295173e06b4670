"""Which changed settings SIGHUP applies, and which it reports as needing a restart."""

from pathlib import Path
from typing import Any

import pytest

from agi_app.config.reload import split_changes
from agi_app.config.settings import Settings


@pytest.fixture(autouse=True)
def no_settings_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")


RUNNING: dict[str, Any] = {"store_path": Path("/var/lib/cb.sqlite3"), "ami_enabled": False}
CHANGED: dict[str, Any] = {
    "log_level": "DEBUG",
    "allowed_number_prefixes": ["+1555"],
    "rate_limit_per_caller": 3,
    "agi_port": 4574,
    "store_path": Path("/var/lib/other.sqlite3"),
}


def test_without_serving_the_intake_policy_and_log_level_reload() -> None:
    take, restart = split_changes(
        Settings(**RUNNING), Settings(**{**RUNNING, **CHANGED}), serving=False
    )
    assert take == ["allowed_number_prefixes", "log_level", "rate_limit_per_caller"]
    assert restart == ["agi_port", "store_path"]


def test_with_serving_the_dialer_keeps_the_policy_so_only_the_log_level_reloads() -> None:
    take, restart = split_changes(
        Settings(**RUNNING), Settings(**{**RUNNING, **CHANGED}), serving=True
    )
    assert take == ["log_level"]
    assert restart == [
        "agi_port",
        "allowed_number_prefixes",
        "rate_limit_per_caller",
        "store_path",
    ]


def test_nothing_changed_nothing_to_do() -> None:
    # An unknown log level never gets here: Settings refuses it, and the reload with it.
    assert split_changes(Settings(**RUNNING), Settings(**RUNNING), serving=False) == ([], [])
