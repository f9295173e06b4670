"""The shipped asterisk_conf/, with tests/asterisk_conf/ where the sandbox mounts it, has no
mistake. Without the secrets docker/sandbox writes (they are not in the repository), the
only findings are the four warnings saying so; with them, none at all."""

from pathlib import Path

from agi_app.admin.check.check import Target, check
from agi_app.admin.check.findings import Severity
from tests.unit.config_check.bed import REPO, TESTBED, Bed, settings


def test_the_shipped_configuration_with_its_secrets_is_clean(tmp_path: Path) -> None:
    assert check(Bed.make(tmp_path).target, settings()) == []


def test_without_the_secrets_only_their_absence_is_reported(tmp_path: Path) -> None:
    shipped = Target(
        REPO / "asterisk_conf",
        Bed.make(tmp_path).target.sounds,
        {TESTBED: REPO / "tests" / "asterisk_conf"},  # the secrets: nowhere
    )
    found = check(shipped, settings())
    assert {f.severity for f in found} == {Severity.WARNING}
    assert [f"{f.where}" for f in found] == [
        "manager.conf:18",
        "pjsip.conf:62",
        "pjsip.conf:72",
        "pjsip.conf:82",
    ]
    assert str(found[0]) == (
        "manager.conf:18: warning: AMI account [callback] has no secret here; it may come from"
        " /etc/callback-secrets/callback.conf (#tryinclude), not there now: until it is, the"
        " service cannot log in"
    )
    assert str(found[1]) == (
        "pjsip.conf:62: warning: auth 'agent1' of agent 'agent1' has no password here; it may"
        " come from /etc/callback-secrets/sip-agent1.conf (#tryinclude), not there now: until"
        " it is, Asterisk refuses the auth and nobody can log in as agent1"
    )
