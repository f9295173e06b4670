"""Each server's systemname, read at its AMI login: two alike are said loudly (their
uniqueids, which requests are kept by, could clash)."""

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agi_app.app.asterisk_site import AsteriskSite
from agi_app.config.settings import Settings
from agi_app.pbx.ami import AmiError
from agi_app.store.memory import MemoryStore


class CoreSettingsOnly:
    """What read_system_name asks of AMI: CoreSettings, answered with ``name``."""

    def __init__(self, name: str | None) -> None:
        self.name = name

    async def send(self, fields: dict[str, str], *, timeout: float = 5.0) -> dict[str, str]:
        assert fields == {"Action": "CoreSettings"}
        if self.name is None:
            raise AmiError("no answer")
        return {"Response": "Success", "SystemName": self.name}


def site(name: str, system_name: str | None, tmp_path: Path) -> AsteriskSite:
    settings = Settings(store_path=tmp_path / "cb.sqlite3", ami_secret="unused")
    made = AsteriskSite.of(name, settings, MemoryStore(), lambda: datetime.now(UTC))
    made.ami = CoreSettingsOnly(system_name)  # type: ignore[assignment]
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
    await one.read_system_name([two])  # the other not logged in yet: nothing to compare
    await two.read_system_name([one])
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert [m.split(":")[0] for m in said] == errors


async def test_one_server_or_no_answer_says_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    alone = site("default", "", tmp_path)
    await alone.read_system_name([])
    assert alone.system_name is None  # not even asked
    silent = site("two", None, tmp_path)
    await silent.read_system_name([alone])
    assert silent.system_name is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]  # could not read it
