"""`agi-callback check`: the report on stdout, exit status 1 on errors only, defaults from
asterisk.conf and the service's own settings file."""

import argparse
import os
from pathlib import Path

import pytest

from agi_app.admin.check_command import target_of
from agi_app.admin.cli import build_parser, main
from tests.unit.config_check.bed import AMI_SECRET, REPO, SECRETS, TESTBED, Bed


def run(bed: Bed, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    code = main(
        [
            "check",
            str(bed.root / "etc"),
            "--sounds",
            str(REPO / "sounds"),
            "--placeholder-sounds",
            str(REPO / "sounds" / "placeholder"),
            "--mount",
            f"{TESTBED}={bed.root / 'testbed'}",
            *extra,
        ]
    )
    first, *report = capsys.readouterr().out.splitlines()
    assert first.startswith("settings: ")  # which file the report is against
    return code, report


@pytest.fixture
def service_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test bed's settings, as the service reads them (CALLBACK_CONFIG), and nothing
    from this environment."""
    for name in [n for n in os.environ if n.startswith("CALLBACK_")]:
        monkeypatch.delenv(name)
    toml = tmp_path / "callback.toml"
    toml.write_text(
        f'ami_secret = "{AMI_SECRET}"\n'
        '[schedules.office]\ntimezone = "UTC"\nhours = { mon = "09:00-17:00" }\n'
    )
    monkeypatch.setenv("CALLBACK_CONFIG", str(toml))


@pytest.mark.usefixtures("service_settings")
def test_clean_configuration_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bed = Bed.make(tmp_path / "bed")
    code, out = run(bed, capsys, "--mount", f"{SECRETS}={bed.root / 'secrets'}")
    assert (code, out) == (0, [f"{bed.root / 'etc'}: no mistakes found"])


@pytest.mark.usefixtures("service_settings")
def test_warnings_alone_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bed = Bed.make(tmp_path / "bed")  # the secrets not mounted: four warnings
    code, out = run(bed, capsys)
    assert code == 0
    assert [line.split(": ")[1] for line in out[:-1]] == ["warning"] * 4
    assert out[-1] == f"{bed.root / 'etc'}: 0 error(s), 4 warning(s)"


@pytest.mark.usefixtures("service_settings")
def test_an_error_exits_one_and_comes_before_the_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bed = Bed.make(tmp_path / "bed")
    bed.replace("queues.conf", "context = callback-queue-exit", "context = callback-exit")
    code, out = run(bed, capsys)
    assert code == 1
    assert out[0] == (
        f"queues.conf:{bed.line_of('queues.conf', 'context = ')}: error: queue 'support' exits"
        " to context [callback-exit], which extensions.conf does not define"
    )
    assert out[-1] == f"{bed.root / 'etc'}: 1 error(s), 4 warning(s)"


def test_sound_directories_default_to_asterisk_conf(tmp_path: Path) -> None:
    (tmp_path / "asterisk.conf").write_text("[directories](!)\nastdatadir => /opt/ast\n")
    args = argparse.Namespace(
        config_dir=str(tmp_path), sounds_dir=None, sounds=None, placeholder_sounds=None, mount=[]
    )
    target = target_of(args)
    assert target.sounds.dirs == (Path("/opt/ast/sounds/en"), Path("/opt/ast/sounds"))
    assert target.sounds.placeholder == Path("/opt/ast/sounds/callback-placeholder")
    (tmp_path / "asterisk.conf").unlink()
    assert target_of(args).sounds.dirs[0] == Path("/usr/share/asterisk/sounds/en")


def test_sounds_dir_is_the_installers(tmp_path: Path) -> None:
    """--sounds-dir names what install-asterisk-config's does: the prompts in DIR/en and DIR,
    the silent twins in DIR/callback-placeholder (astdatadir is then not asked)."""
    (tmp_path / "asterisk.conf").write_text("[directories](!)\nastdatadir => /opt/ast\n")
    sounds = tmp_path / "sounds"
    target = target_of(
        build_parser().parse_args(["check", str(tmp_path), "--sounds-dir", str(sounds)])
    )
    assert target.sounds.dirs == (sounds / "en", sounds)
    assert target.sounds.placeholder == sounds / "callback-placeholder"


def test_a_bad_mount_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path), "--mount", "relative=/x"]) == 2
    assert "is not /PATH=DIR" in capsys.readouterr().out
