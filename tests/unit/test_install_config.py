"""`agi-callback install-asterisk-config`: the component added to an admin's configuration
with nothing of theirs changed but the #include lines, its files the shipped bytes, and a
second run that changes nothing and says so."""

import difflib
import os
import re
import tomllib
from pathlib import Path

import pytest

from agi_app.admin.cli import main
from agi_app.admin.install import text
from tests.unit.admin_config import (
    EXTENSIONS,
    MANAGER_DEBIAN,
    MANAGER_PLAIN,
    install,
    write_config,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "asterisk_conf"
SOUNDS = REPO / "sounds"
WRAPPER = "extensions_agi_callback.conf"


def snapshot(*dirs: Path) -> dict[Path, tuple[bytes, int, int]]:
    return {
        p: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode)
        for d in dirs
        if d.exists()
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


def added_lines(before: str, after: str) -> list[str]:
    """The lines ``after`` has that ``before`` lacks; fails if any line was removed or changed."""
    diff = list(difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)))
    assert not [d for d in diff if d.startswith("- ")], "".join(diff)
    return [d[2:] for d in diff if d.startswith("+ ")]


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    return write_config(tmp_path)


def test_admin_files_get_only_the_include_line(tmp_path: Path, conf: Path) -> None:
    before = snapshot(conf)
    assert install(tmp_path, conf) == 0
    after = snapshot(conf)
    for path, (data, _, _) in before.items():
        if path.name == "extensions.conf":
            assert added_lines(data.decode(), after[path][0].decode()) == [
                f'#include "{WRAPPER}"\n'
            ]
        else:  # manager.conf includes manager.d/*.conf: untouched, as queues.conf
            assert after[path][0] == data, path
    new = sorted(str(p.relative_to(conf)) for p in set(after) - set(before))
    assert new == ["amd.conf", "extensions_agi_callback.conf", "extensions_callback.conf",
                   "manager.d/agi-callback.conf"]  # fmt: skip


def test_include_lands_after_the_last_global_setting(tmp_path: Path, conf: Path) -> None:
    """Not inside the block comment, not between [main]'s comments and [main]."""
    install(tmp_path, conf)
    lines = (conf / "extensions.conf").read_text().splitlines()
    at = lines.index(f'#include "{WRAPPER}"')
    assert lines[at - 1].startswith("GREETING = ")
    assert lines[at + 1] == ";-- retired:"


def test_component_files_are_the_shipped_bytes(tmp_path: Path, conf: Path) -> None:
    install(tmp_path, conf)
    assert (conf / "extensions_callback.conf").read_bytes() == (
        SHIPPED / "extensions_callback.conf"
    ).read_bytes()
    wrapper = (conf / WRAPPER).read_text()
    assert '#include "extensions_callback.conf"' in wrapper
    assert "CALLBACK_AGI = agi://127.0.0.1:4573/callback\n" in wrapper
    for wav in (SOUNDS / "callback").glob("*.wav"):
        assert (tmp_path / "sounds" / "callback" / wav.name).read_bytes() == wav.read_bytes()
    silent = SOUNDS / "placeholder"
    for wav in silent.rglob("*.wav"):
        installed = tmp_path / "sounds" / "callback-placeholder" / wav.relative_to(silent)
        assert installed.read_bytes() == wav.read_bytes()
    # Other languages where Asterisk looks for them: sounds/<language>/callback/.
    spanish = sorted((SOUNDS / "es" / "callback").glob("*.wav"))
    assert spanish
    for wav in spanish:
        assert (tmp_path / "sounds" / "es" / "callback" / wav.name).read_bytes() == wav.read_bytes()
    assert not (tmp_path / "sounds" / "placeholder").exists()  # the twins are no language


def test_second_run_changes_nothing_and_says_so(
    tmp_path: Path, conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install(tmp_path, conf) == 0
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert install(tmp_path, conf) == 0
    out = capsys.readouterr().out
    assert snapshot(tmp_path) == before  # not even rewritten with the same bytes
    assert "Nothing to change: the component is already installed" in out
    assert "created" not in out and "updated" not in out and "added" not in out


def test_a_missing_amd_conf_is_written_like_the_component(
    tmp_path: Path, conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """app_amd declines to load without amd.conf, and AMD() would not exist."""
    (conf / "extensions.conf").chmod(0o640)
    assert install(tmp_path, conf) == 0
    out = capsys.readouterr().out
    amd = conf / "amd.conf"
    assert amd.read_bytes() == (SHIPPED / "amd.conf").read_bytes()
    assert amd.stat().st_mode & 0o777 == 0o640
    assert amd.stat().st_mode == (conf / "extensions_callback.conf").stat().st_mode
    assert f"{amd}: created" in out
    assert '"module load app_amd.so"' in out  # Asterisk declined app_amd when it started


def test_an_existing_amd_conf_is_the_admins_and_kept(
    tmp_path: Path, conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    amd = conf / "amd.conf"
    amd.write_bytes(b"[general]\r\ntotal_analysis_time = 3500 ; mine\r\n")
    before = snapshot(conf)[amd]
    assert install(tmp_path, conf) == 0
    out = capsys.readouterr().out
    assert snapshot(conf)[amd] == before  # bytes, mtime, mode
    assert f"{amd}: exists, kept as it is" in out
    assert "module load app_amd.so" not in out


@pytest.mark.parametrize("target", ["../elsewhere/amd.conf", "/nonexistent/amd.conf"])
def test_an_amd_conf_link_is_kept_and_a_broken_one_noted(
    tmp_path: Path, conf: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    """A link is not written through nor replaced, even one out of the configuration (the
    installer only reads and writes the files it must)."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "amd.conf").write_text("[general]\n")
    (conf / "amd.conf").symlink_to(target)
    assert install(tmp_path, conf) == 0
    out = capsys.readouterr().out
    assert os.readlink(conf / "amd.conf") == target
    assert (tmp_path / "elsewhere" / "amd.conf").read_text() == "[general]\n"
    assert f"{conf / 'amd.conf'}: exists, kept as it is" in out
    broken = f"warning: {conf / 'amd.conf'} is a symbolic link to {target}, which does not exist"
    assert (broken in out) == target.startswith("/nonexistent")


def test_dry_run_writes_no_amd_conf(
    tmp_path: Path, conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install(tmp_path, conf, "--dry-run") == 0
    assert f"{conf / 'amd.conf'}: would be created" in capsys.readouterr().out
    assert not (conf / "amd.conf").exists()


def test_ami_account_has_the_shipped_rights_and_the_service_secret(
    tmp_path: Path, conf: Path
) -> None:
    (tmp_path / "ami-secret").write_text("s3cret-Of-the-service\n")
    install(tmp_path, conf, "--ami-permit", "10.1.2.0/24")
    account = text.sections((conf / "manager.d" / "agi-callback.conf").read_text())["callback"]
    shipped = text.sections((SHIPPED / "manager.conf").read_text())["callback"]
    rights = {k: v for k, v in account if k in ("read", "write", "deny", "writetimeout")}
    assert rights == {k: v for k, v in shipped if k in rights}
    assert ("secret", "s3cret-Of-the-service") in account
    assert ("permit", "10.1.2.0/255.255.255.0") in account
    assert (conf / "manager.d" / "agi-callback.conf").stat().st_mode & 0o007 == 0


def test_a_new_secret_is_made_once_and_kept(tmp_path: Path, conf: Path) -> None:
    install(tmp_path, conf)
    secret_file = tmp_path / "ami-secret"
    secret = secret_file.read_text().strip()
    assert len(secret) >= 24 and secret_file.stat().st_mode & 0o777 == 0o600
    install(tmp_path, conf)
    assert secret_file.read_text().strip() == secret
    assert f"secret = {secret}\n" in (conf / "manager.d" / "agi-callback.conf").read_text()


def test_manager_without_an_include_dir_gets_one_include_at_its_end(tmp_path: Path) -> None:
    conf = write_config(tmp_path, manager=MANAGER_PLAIN)
    install(tmp_path, conf)
    after = (conf / "manager.conf").read_text()
    assert after == MANAGER_PLAIN + '\n#include "manager_agi_callback.conf"\n'
    assert "[callback]" in (conf / "manager_agi_callback.conf").read_text()
    assert not (conf / "manager.d" / "agi-callback.conf").exists()


def test_crlf_files_keep_their_line_endings(tmp_path: Path) -> None:
    crlf = EXTENSIONS.replace("\n", "\r\n")
    conf = write_config(tmp_path, extensions=crlf)
    install(tmp_path, conf)
    after = (conf / "extensions.conf").read_bytes().decode()
    assert added_lines(crlf, after) == [f'#include "{WRAPPER}"\r\n']


def test_agi_address_goes_to_the_wrapper(tmp_path: Path, conf: Path) -> None:
    install(tmp_path, conf, "--agi-host", "10.0.0.7", "--agi-port", "4600")
    wrapper = (conf / WRAPPER).read_text()
    for script in ("callback", "callback-status", "callback-offer"):
        assert f"= agi://10.0.0.7:4600/{script}\n" in wrapper


def test_the_admins_queue_prompts_get_silent_twins(tmp_path: Path, conf: Path) -> None:
    install(tmp_path, conf)
    twin = tmp_path / "sounds" / "callback-placeholder" / "custom" / "sales-promo.wav"
    assert twin.read_bytes() == (SOUNDS / "placeholder" / "queue-thankyou.wav").read_bytes()


@pytest.mark.parametrize(
    ("extensions", "manager", "extra", "message"),
    [
        ("[general]\n[main]\nexten => 1,1,Hangup()\n", MANAGER_DEBIAN, [], "no [globals]"),
        (EXTENSIONS, MANAGER_PLAIN, ["--ami-username", "admin"], "already has an AMI account"),
        (EXTENSIONS, MANAGER_DEBIAN, ["--agi-host", "x,DB(a)=b"], "--agi-host"),
        (EXTENSIONS, MANAGER_DEBIAN, ["--ami-permit", "everyone"], "--ami-permit"),
    ],
)
def test_refusals_write_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extensions: str,
    manager: str,
    extra: list[str],
    message: str,
) -> None:
    conf = write_config(tmp_path, manager=manager, extensions=extensions)
    before = snapshot(tmp_path)
    assert install(tmp_path, conf, *extra) == 1
    assert message in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_a_secret_asterisk_cannot_hold_is_refused(
    tmp_path: Path, conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ami-secret").write_text("half;comment\n")
    before = snapshot(tmp_path)
    assert install(tmp_path, conf) == 1
    assert "AMI secret" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_dry_run_writes_nothing(
    tmp_path: Path, conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(tmp_path)
    assert install(tmp_path, conf, "--dry-run") == 0
    out = capsys.readouterr().out
    assert f'would add #include "{WRAPPER}"' in out
    assert snapshot(tmp_path) == before


def test_warns_of_what_it_must_not_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_config(tmp_path, manager=MANAGER_DEBIAN.replace("enabled = yes", "enabled = no"))
    (conf / "modules.conf").write_text("[modules]\nautoload = no\nload => res_agi.so\n")
    install(tmp_path, conf)
    out = capsys.readouterr().out
    assert "AMI is not enabled" in out
    assert re.search(r"not loaded: pbx_config\.so, app_queue\.so", out)
    assert re.search(r"app_amd\.so, app_waitforsilence\.so", out)
    assert "enabled = no" in (conf / "manager.conf").read_text()


def test_the_wheel_carries_every_file_the_installer_reads() -> None:
    """One source: agi_app/admin/asterisk_files links to asterisk_conf/ and sounds/, and the
    package-data patterns cover all of it (setuptools copies the links' targets)."""
    data = REPO / "agi_app" / "admin" / "asterisk_files"
    assert (data / "extensions_callback.conf").resolve() == SHIPPED / "extensions_callback.conf"
    assert (data / "amd.conf").resolve() == SHIPPED / "amd.conf"
    assert (data / "sounds").resolve() == SOUNDS
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["agi_app.admin"]
    packaged = {p for pattern in patterns for p in (REPO / "agi_app" / "admin").glob(pattern)}
    read = {data / "extensions_callback.conf", data / "manager.conf", data / "amd.conf"}
    read |= set((data / "sounds" / "callback").glob("*.wav"))
    read |= set((data / "sounds" / "placeholder").rglob("*.wav"))
    assert read <= packaged


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("asterisk/extensions.conf", "elsewhere/extensions.conf"),
        ("asterisk/manager.conf", "elsewhere/manager.conf"),
        ("asterisk/manager.d", "elsewhere"),
        ("sounds/callback", "elsewhere"),
        ("sounds/callback-placeholder", "elsewhere"),
    ],
)
def test_a_link_out_of_its_tree_is_refused_and_nothing_written(
    tmp_path: Path, conf: Path, capsys: pytest.CaptureFixture[str], link: str, target: str
) -> None:
    """Run as root, the installer would otherwise read or write where the link points (an
    asterisk-writable /etc/asterisk holding extensions.conf -> /etc/shadow, say)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "extensions.conf").write_text(EXTENSIONS)
    (elsewhere / "manager.conf").write_text(MANAGER_DEBIAN)
    at = tmp_path / link
    if at.is_dir():
        (at / "README.conf").unlink()
        at.rmdir()
    else:
        at.unlink(missing_ok=True)
        at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(tmp_path / target)
    before = snapshot(tmp_path, elsewhere)
    assert install(tmp_path, conf) == 1
    err = capsys.readouterr().err
    assert f"{at} is a symbolic link to {tmp_path / target}" in err and "not followed" in err
    assert snapshot(tmp_path, elsewhere) == before
    assert not (tmp_path / "ami-secret").exists()


def test_a_link_inside_the_configuration_is_followed(tmp_path: Path, conf: Path) -> None:
    real = conf / "conf.d" / "extensions.conf"
    real.parent.mkdir()
    (conf / "extensions.conf").rename(real)
    (conf / "extensions.conf").symlink_to("conf.d/extensions.conf")
    assert install(tmp_path, conf) == 0
    assert (conf / "extensions.conf").is_symlink()
    assert added_lines(EXTENSIONS, real.read_text()) == [f'#include "{WRAPPER}"\n']


def test_an_absolute_queue_prompt_is_noted_not_a_crash(
    tmp_path: Path, conf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asterisk plays an absolute prompt from that path plus any format's extension."""
    custom = tmp_path / "custom-sounds"
    custom.mkdir()
    (custom / "promo.gsm").write_bytes(b"\0" * 33)
    missing = "/var/lib/asterisk/sounds/custom/promo-that-is-not-there"
    queues = conf / "queues.conf"
    queues.write_text(
        queues.read_text().replace(
            "callback/offer,custom/sales-promo",
            f"callback/offer,custom/sales-promo,{custom}/promo,{missing}",
        )
        + f"\n[support]\nannounce = {custom}/promo\n"
    )
    assert install(tmp_path, conf) == 0
    out = capsys.readouterr().out
    assert f"the prompt {custom}/promo is an absolute path: it gets no silent twin" in out
    assert f"the prompt {missing} is an absolute path (and no file {missing}.* exists)" in out
    assert out.count(f"{custom}/promo is an absolute path") == 1  # once, for both queues
    twin = tmp_path / "sounds" / "callback-placeholder" / "custom" / "sales-promo.wav"
    assert twin.exists()  # the relative prompt next to them still gets its twin


def test_the_service_settings_give_what_no_flag_says(
    tmp_path: Path, conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With --config, the component and the service agree on the port and the AMI account.
    settings = tmp_path / "callback.toml"
    settings.write_text(
        f'agi_host = "10.0.0.9"\nagi_port = 4600\nami_username = "cbx"\n'
        f'ami_secret_file = "{tmp_path / "service-secret"}"\n'
    )
    (tmp_path / "service-secret").write_text("s3cret-Of-the-service\n")
    monkeypatch.delenv("CALLBACK_AMI_USERNAME", raising=False)
    assert (
        main(
            [
                "install-asterisk-config",
                str(conf),
                "--sounds-dir",
                str(tmp_path / "sounds"),
                "--agi-host",
                "10.0.0.7",
                "--config",
                str(settings),
            ]
        )
        == 0
    )
    assert "= agi://10.0.0.7:4600/callback\n" in (conf / WRAPPER).read_text()  # the flag wins
    account = text.sections((conf / "manager.d" / "agi-callback.conf").read_text())["cbx"]
    assert ("secret", "s3cret-Of-the-service") in account
