"""Least privilege in what is shipped: asterisk_conf/ has no test AMI account, no AMI account
that may change Asterisk itself, no demo numbers that exist only for tests, and no agent
that can be reached or impersonated without a password. The test bed adds the test-only
parts from tests/asterisk_conf/ (docker/sandbox mounts it at /etc/callback-testbed)."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "asterisk_conf"
TESTBED = REPO / "tests" / "asterisk_conf"
# AMI write classes that change Asterisk itself: shell commands, CLI, dialplan, config files.
ADMIN_WRITE = {"system", "command", "dialplan", "config", "all"}


def sections(path: Path) -> dict[str, dict[str, list[str]]]:
    """Asterisk config sections of one file (comments dropped, templates merged by name)."""
    out: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if header := re.fullmatch(r"\[([^\]]+)\].*", line):
            current = out.setdefault(header.group(1), {})
        elif current is not None and (m := re.fullmatch(r"([\w()]+)\s*=>?\s*(.*)", line)):
            current.setdefault(m.group(1).lower(), []).append(m.group(2).strip())
    return out


def includes(path: Path) -> list[str]:
    return re.findall(r'^#(?:try)?include\s+"?([^"\s]+)"?', path.read_text(), re.MULTILINE)


def test_shipped_manager_conf_has_no_tests_account_and_no_admin_write() -> None:
    accounts = {
        name: fields
        for name, fields in sections(SHIPPED / "manager.conf").items()
        if name != "general"
    }
    assert "tests" not in accounts
    for name, fields in accounts.items():
        granted = {c.strip() for w in fields.get("write", []) for c in w.split(",")}
        assert not granted & ADMIN_WRITE, f"AMI account {name} may write {granted & ADMIN_WRITE}"


def test_shipped_dialplan_has_no_test_only_numbers() -> None:
    text = (SHIPPED / "extensions.conf").read_text()
    assert not re.search(r"^\s*exten\s*=>\s*5005\s*,", text, re.MULTILINE)


def test_shipped_files_only_tryinclude_what_may_be_absent() -> None:
    """The test bed and the secrets come in by #tryinclude: absent, they add nothing."""
    for path in SHIPPED.glob("*.conf"):
        assert not re.search(r"^#include", path.read_text(), re.MULTILINE), path.name
    assert "/etc/callback-testbed/manager.conf" in includes(SHIPPED / "manager.conf")
    assert "/etc/callback-testbed/extensions.conf" in includes(SHIPPED / "extensions.conf")


def test_test_bed_holds_what_the_shipped_files_lack() -> None:
    assert "tests" in sections(TESTBED / "manager.conf")
    testbed_dialplan = (TESTBED / "extensions.conf").read_text()
    assert re.search(r"^exten\s*=>\s*5005\s*,", testbed_dialplan, re.MULTILINE)


def test_every_agent_authenticates() -> None:
    pjsip = sections(SHIPPED / "pjsip.conf")
    agents = [name for name in pjsip if re.fullmatch(r"agent\d+", name)]
    assert agents
    for agent in agents:
        (auth,) = pjsip[agent]["auth"]
        assert pjsip[auth]["username"] == [agent]
    # Passwords come from /etc/callback-secrets/, never from git.
    assert not [name for name, fields in pjsip.items() if "password" in fields]
    # The carrier is known by its address only: "pstn" in From identifies no one.
    assert pjsip["pstn"]["identify_by"] == ["ip"]
