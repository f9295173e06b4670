"""`agi-callback check` on a CONFIG_DIR that is not a directory: unusable arguments (exit 2),
not a configuration with every file missing (exit 1)."""

import os
from pathlib import Path

import pytest

from agi_app.admin.cli import main


@pytest.fixture(autouse=True)
def no_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The defaults: no settings file here, nothing from this environment."""
    for name in [n for n in os.environ if n.startswith("CALLBACK_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("name", ["no-such-dir", "a-file"])
def test_a_config_dir_that_is_not_a_directory_exits_two(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("")
    assert main(["check", str(tmp_path / name)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"agi-callback check: {tmp_path / name} is not a directory"


def test_an_empty_directory_is_checked_and_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "etc").mkdir()
    assert main(["check", str(tmp_path / "etc")]) == 1
    assert f"error: no extensions.conf in {tmp_path / 'etc'}" in capsys.readouterr().out
