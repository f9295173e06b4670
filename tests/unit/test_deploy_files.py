"""The shipped systemd unit and example settings: systemd accepts the unit as it is, and the
example loads into Settings with the store in the unit's state directory."""

import configparser
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from agi_app.config.settings import Settings

DEPLOY = files("agi_app.app.deploy")
INSTALLED_AT = "/opt/agi-callback/bin/agi-callback"


def unit_text() -> str:
    return DEPLOY.joinpath("agi-callback.service").read_text()


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze (Debian package systemd; make deps installs it)"
    # verify also checks that ExecStart is executable: point it at one that is.
    assert INSTALLED_AT in unit_text()
    unit = tmp_path / "agi-callback.service"
    unit.write_text(unit_text().replace(INSTALLED_AT, sys.executable))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    # An unknown or misspelt key is only a warning naming the file: none may appear.
    said = [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line]
    assert result.returncode == 0 and said == [], result.stderr
    # systemd's own exposure score, 0 (locked down) to 10: at most 2.0 ("OK").
    score = subprocess.run(
        [analyze, "security", "--offline=true", "--threshold=20", str(unit)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert score.returncode == 0, score.stdout[-1500:]


def service_section() -> configparser.SectionProxy:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(unit_text())
    return unit["Service"]


def test_the_unit_is_hardened_and_keeps_the_store_in_its_state_directory() -> None:
    service = service_section()
    assert service["Type"] == "notify"
    assert service["DynamicUser"] == "yes" and service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict" and service["ProtectHome"] == "yes"
    assert service["PrivateTmp"] == "yes" and service["Restart"] == "on-failure"
    assert service["StateDirectory"] == "agi-callback"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillSignal"] == "SIGTERM"
    assert service["Nice"] == "-10"  # a CPU when a request arrives (BENCHMARKS.md section 6)


def test_the_unit_restarts_a_service_whose_event_loop_hangs() -> None:
    """WatchdogSec: the service pings every half of it from its event loop (sd_notify.watchdog,
    tests/unit/test_sd_notify.py); when the pings stop, systemd kills it and restarts it."""
    service = service_section()
    assert service["Type"] == "notify"  # NOTIFY_SOCKET set, the pings heard
    assert service["WatchdogSec"] == "30s"
    assert service["Restart"] == "on-failure"  # a watchdog timeout is a failure
    assert "PYTHONFAULTHANDLER=1" in unit_text()  # the stacks of the hung process logged


def test_the_example_settings_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = tmp_path / "callback.toml"
    example.write_text(DEPLOY.joinpath("callback.toml.example").read_text())
    monkeypatch.setenv("CALLBACK_CONFIG", str(example))
    settings = Settings()
    assert settings.store_path == Path("/var/lib/agi-callback/callbacks.sqlite3")
    assert settings.agi_port == 4573 and settings.ami_enabled
    # No calling hours: a first test callback goes through at any hour of the day.
    assert settings.queue_schedules == {} and settings.calling_hours() == {}


def test_the_example_calling_hours_load_once_uncommented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = DEPLOY.joinpath("callback.toml.example").read_text()
    start = text.index("# [schedules.office]")
    example = text[:start] + "\n".join(
        line.removeprefix("# ").removeprefix("#") for line in text[start:].splitlines()
    )
    (tmp_path / "callback.toml").write_text(example)
    monkeypatch.setenv("CALLBACK_CONFIG", str(tmp_path / "callback.toml"))
    settings = Settings()
    assert settings.queue_schedules == {"support": "office"}
    assert "office" in settings.calling_hours()
