"""Least privilege in what is shipped: asterisk_conf/ has no test AMI account, no AMI account
that may change Asterisk itself, no demo numbers that exist only for tests, and no agent
that can be reached or impersonated without a password. The test bed adds the test-only
parts from tests/asterisk_conf/ (docker/sandbox mounts it at /etc/callback-testbed)."""

import re
from pathlib import Path

from agi_app.domain.options import ComponentOptions

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "asterisk_conf"
TESTBED = REPO / "tests" / "asterisk_conf"
COMPONENT = "extensions_callback.conf"
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
    for name in ("extensions.conf", COMPONENT):
        text = (SHIPPED / name).read_text()
        assert not re.search(r"^\s*exten\s*=>\s*5005\s*,", text, re.MULTILINE), name


def test_shipped_files_include_only_shipped_files_or_what_may_be_absent() -> None:
    """A plain #include names a file of asterisk_conf/ (it must be there); the test bed and
    the secrets come in by #tryinclude: absent, they add nothing."""
    for path in SHIPPED.glob("*.conf"):
        for included in re.findall(r'^#include\s+"?([^"\s]+)"?', path.read_text(), re.MULTILINE):
            assert "/" not in included and (SHIPPED / included).is_file(), (path.name, included)
    assert "/etc/callback-testbed/manager.conf" in includes(SHIPPED / "manager.conf")
    assert "/etc/callback-testbed/extensions.conf" in includes(SHIPPED / "extensions.conf")


def test_the_component_is_one_file_with_only_its_own_contexts() -> None:
    """extensions_callback.conf drops into any Asterisk: it holds the component's contexts
    and adds its defaults to the admin's [globals], and the test bed's numbers live apart."""
    assert COMPONENT in includes(SHIPPED / "extensions.conf")
    text = (SHIPPED / COMPONENT).read_text()
    headers = re.findall(r"^\[([^\]]+)\](.*)$", text, re.MULTILINE)
    assert dict(headers) == {
        "globals": "(+)",
        "callback": "",
        "callback-status": "",
        "callback-offer-check": "",
        "callback-queue-exit": "",
        "live-queue": "",
        "callback-placeholder": "",
        "callback-preferred": "",
        "callback-agent-predial": "",
        "callback-customer": "",
        "callback-customer-end": "",
        "callback-agent-language": "",
        "callback-amd": "",
        "callback-customer-first": "",
        "callback-customer-first-end": "",
    }
    assert set(sections(SHIPPED / COMPONENT)["globals"]) == {
        "callback_agi", "callback_status_agi", "callback_offer_agi", "callback_fallback_error",
        "callback_agent_language",
    }  # fmt: skip
    assert not re.search(r"^#", text, re.MULTILINE)  # no include of its own


def test_the_component_header_lists_every_option() -> None:
    text = (SHIPPED / COMPONENT).read_text()
    header = text[: text.index("\n[")]
    listed = set(re.findall(r"^;\s+([a-z_]+)=", header, re.MULTILINE))
    assert listed >= set(ComponentOptions.model_fields), set(ComponentOptions.model_fields) - listed


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
