"""What the service reads of each server at its AMI login (CoreSettings): an Asterisk older
than the component needs, and two servers with one systemname (their uniqueids, which
requests are kept by, could clash), are said loudly."""

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agi_app.app.asterisk_site import AsteriskSite
from agi_app.config.settings import Settings
from agi_app.pbx.ami import AmiError
from agi_app.pbx.versions import below_minimum
from agi_app.store.memory import MemoryStore


class CoreSettingsOnly:
    """What read_core_settings asks of AMI: CoreSettings, answered with ``name`` and
    ``version`` (no answer when ``name`` is None)."""

    def __init__(self, name: str | None, version: str = "22.10.1+dfsg+~cs6.17.60671434-1") -> None:
        self.name, self.version = name, version

    async def send(self, fields: dict[str, str], *, timeout: float = 5.0) -> dict[str, str]:
        assert fields == {"Action": "CoreSettings"}
        if self.name is None:
            raise AmiError("no answer")
        return {"Response": "Success", "SystemName": self.name, "AsteriskVersion": self.version}


def site(name: str, system_name: str | None, tmp_path: Path, **version: str) -> AsteriskSite:
    settings = Settings(store_path=tmp_path / "cb.sqlite3", ami_secret="unused")
    made = AsteriskSite.of(name, settings, MemoryStore(), lambda: datetime.now(UTC))
    made.ami = CoreSettingsOnly(system_name, **version)  # type: ignore[assignment]
    return made


@pytest.mark.parametrize(
    ("names", "errors"),
    [
        (("", "b"), []),  # one without a name, one named: uniqueids differ
        (("pbx", "pbx"), ["asterisk servers one and two have the same systemname 'pbx'"]),
        (("", ""), ["asterisk servers one and two have the same systemname ''"]),
    ],
)
async def test_two_servers_with_one_systemname_are_said_loudly(
    names: tuple[str, str], errors: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = site("one", names[0], tmp_path), site("two", names[1], tmp_path)
    await one.read_core_settings([two])  # the other not logged in yet: nothing to compare
    await two.read_core_settings([one])
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert [m.split(":")[0] for m in said] == errors


async def test_one_server_or_no_answer_says_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    alone = site("default", "", tmp_path)
    await alone.read_core_settings([])
    assert alone.system_name is None  # nothing to compare it with
    silent = site("two", None, tmp_path)
    await silent.read_core_settings([alone])
    assert silent.system_name is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]  # could not read it


@pytest.mark.parametrize(
    ("version", "too_old"),
    [
        ("22.10.1+dfsg+~cs6.17.60671434-1", False),  # Debian sid's, the test bed's
        ("22.9.0", False),
        ("23.0.0-rc1", False),
        ("certified-22.8-cert1", True),
        ("22.8.2", True),
        ("21.10.0", True),
        ("20.16.0~dfsg-1", True),
        ("GIT-master-6b2a1c3", None),  # a build from git: its age is unknown
    ],
)
def test_the_asterisk_versions_the_component_runs_on(version: str, too_old: bool | None) -> None:
    assert below_minimum(version) is too_old


async def test_an_asterisk_older_than_22_9_is_said_at_each_login(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = site("default", "", tmp_path, version="21.10.0")
    await old.read_core_settings([])
    await old.read_core_settings([])  # the next login (a restarted Asterisk) says it again
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert (
        said
        == [
            "asterisk server default runs Asterisk 21.10.0: the component needs 22.9 or later"
            " (Queue()'s argument order of Asterisk 21 and the QUEUEWAIT variable of 22.9);"
            " callbacks may not keep the caller's place: upgrade Asterisk"
        ]
        * 2
    )
    caplog.clear()
    await site("default", "", tmp_path).read_core_settings([])
    assert caplog.records == []
