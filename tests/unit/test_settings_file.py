"""Settings refused in words an admin can act on: one line per problem naming the file, the
TOML line and the key, on stderr, exit status 2, no traceback; a named file that is missing is
an error, not the defaults; every command takes --config; read-only commands create no store."""

import os
from pathlib import Path

import pytest

from agi_app.admin import cli
from agi_app.app.log_format import report_refused
from agi_app.config.file import SettingsError, key_lines, settings_source

BAD_ZONE = """\
log_level = "INFO"

[schedules.office]
timezone = "Europe/Pariss"
hours = { mon = "09:00-17:00" }
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("CALLBACK_") or n == "JOURNAL_STREAM"]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no ./callback.toml, and a store would land here


def refused(argv: list[str], capsys: pytest.CaptureFixture[str], *, status: int = 2) -> list[str]:
    assert cli.main(argv) == status
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err.splitlines()


def test_a_bad_time_zone_is_one_line_with_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cb.toml").write_text(BAD_ZONE)
    assert refused(["list", "--config", "cb.toml"], capsys) == [
        "agi-callback: settings error: cb.toml:4: schedules.office.timezone:"
        " unknown time zone 'Europe/Pariss'"
    ]


def test_every_problem_gets_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cb.toml").write_text(
        'supervisor_timezone = "Mars/Base"\nagi_port = "high"\nlog_levle = "DEBUG"\n'
    )
    lines = refused(["report", "--config", "cb.toml"], capsys)
    assert len(lines) == 3
    assert lines[0].endswith("cb.toml:1: supervisor_timezone: unknown time zone 'Mars/Base'")
    assert "cb.toml:2: agi_port: " in lines[1]
    assert "cb.toml:3: log_levle: " in lines[2] and "did you mean 'log_level'?" in lines[2]


def test_a_top_level_key_after_a_table_gets_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cb.toml").write_text(
        '[schedules.office]\ntimezone = "Europe/Paris"\nstore_path = "/srv/cb.sqlite3"\n'
    )
    (line,) = refused(["show", "x", "--config", "cb.toml"], capsys)
    assert "cb.toml:3: schedules.office.store_path: " in line
    assert "store_path is a top-level setting" in line
    assert "move it above the first [table] header" in line


def test_unreadable_toml_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cb.toml").write_text('agi_port = 4573\nlog_level = "INFO\n')
    (line,) = refused(["list", "--config", "cb.toml"], capsys)
    assert line.startswith("agi-callback: settings error: cb.toml:2: not valid TOML: ")


def test_the_environment_is_named_when_it_holds_the_wrong_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CALLBACK_LOG_LEVEL", "VERBOSE")
    (line,) = refused(["list"], capsys)
    assert "environment CALLBACK_LOG_LEVEL: log_level: 'VERBOSE' is not a logging level" in line


def test_a_missing_settings_file_is_an_error_not_the_defaults(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "/etc/agi-callback/calback.toml")
    assert refused(["list"], capsys) == [
        "agi-callback: settings error: /etc/agi-callback/calback.toml:"
        " the settings file CALLBACK_CONFIG names does not exist"
    ]
    (line,) = refused(["serve", "--config", "nowhere.toml"], capsys)
    assert "nowhere.toml: the settings file --config names does not exist" in line
    assert not (tmp_path / "var").exists()


def test_config_wins_over_the_environment_and_an_empty_variable_names_no_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "cb.toml").write_text("")
    monkeypatch.setenv("CALLBACK_CONFIG", "/nonexistent.toml")
    assert settings_source("cb.toml").path == Path("cb.toml")
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    assert settings_source().path is None
    monkeypatch.delenv("CALLBACK_CONFIG")
    assert settings_source().path is None
    (tmp_path / "callback.toml").write_text("")
    assert settings_source().path == Path("callback.toml")


def test_every_command_takes_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = [
        ["serve"],
        ["list"],
        ["show", "x"],
        ["cancel", "x"],
        ["reprioritize", "x", "2"],
        ["request", "+15550100", "--queue", "support"],
        ["report"],
        ["audit", "--day", "2026-12-06", "--queue", "support"],
        ["webhooks"],
        ["check", str(tmp_path)],
        ["install-asterisk-config", str(tmp_path)],
    ]
    for argv in commands:
        # A file that is not there: each command reads --config, and refuses it.
        (line,) = refused([*argv, "--config", "absent.toml"], capsys)
        assert "absent.toml: the settings file --config names does not exist" in line, argv


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("agi-callback 0.")


def test_check_names_its_settings_file_and_warns_on_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "etc").mkdir()
    cli.main(["check", str(tmp_path / "etc")])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("settings: no settings file")
    assert out[1] == "warning: checking against the default settings; pass --config PATH"
    (tmp_path / "cb.toml").write_text("agi_port = 4600\n")
    cli.main(["check", str(tmp_path / "etc"), "--config", "cb.toml"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "settings: cb.toml (--config)"
    assert not any(line.startswith("warning: checking against") for line in out)


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["report"],
        ["show", "x"],
        ["webhooks"],
        ["audit", "--day", "2026-12-06", "--queue", "q"],
    ],
)
def test_a_read_only_command_creates_no_store(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (line,) = refused(argv, capsys, status=1)
    assert line == (
        f"agi-callback {argv[0]}: no store at var/callbacks.sqlite3"
        " (store_path or store_url in the settings)"
    )
    assert list(tmp_path.iterdir()) == []


def test_serve_refuses_a_missing_ami_secret_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert refused(["serve"], capsys) == [
        "agi-callback: settings error: asterisk server default: set CALLBACK_AMI_SECRET or"
        " CALLBACK_AMI_SECRET_FILE (or ami_enabled=false)"
    ]


def test_under_journald_each_line_carries_the_error_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (tmp_path / "journal").open("w+") as stream:
        found = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{found.st_dev}:{found.st_ino}")
        assert report_refused(SettingsError(["a.toml:1: x: bad", "a.toml:2: y: bad"]), stream) == 2
        stream.seek(0)
        assert stream.read().splitlines() == [
            "<3>agi-callback: settings error: a.toml:1: x: bad",
            "<3>agi-callback: settings error: a.toml:2: y: bad",
        ]


def test_key_lines_follow_tables_and_dotted_keys() -> None:
    text = 'a = 1\n[t.u]\nb = 2\n"c.d".e = 3\n[[hooks]]\nurl = "x"\n'
    assert key_lines(text) == {
        ("a",): 1,
        ("t", "u"): 2,
        ("t", "u", "b"): 3,
        ("t", "u", "c.d", "e"): 4,
        ("hooks",): 5,
        ("hooks", "url"): 6,
    }


def test_serve_refuses_a_webhook_secret_others_may_read_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "crm.secret"
    secret.write_text("s" * 40)
    secret.chmod(0o644)
    (tmp_path / "cb.toml").write_text(
        f'ami_enabled = false\n[[webhooks]]\nname = "crm"\nurl = "http://127.0.0.1:9/h"\n'
        f'secret_file = "{secret}"\n'
    )
    (line,) = refused(["serve", "--config", "cb.toml"], capsys)
    assert f"webhook crm: secret_file {secret} has mode 0644" in line
