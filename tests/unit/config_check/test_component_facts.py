"""An older [callback], whose AGI() sends no callback_facts, still works (the service asks
the channel): `check` says so, naming the line, so the admin knows what the update buys."""

from pathlib import Path

from agi_app.admin.check.check import check
from tests.unit.config_check.bed import Bed, settings


def test_the_shipped_component_sends_its_facts(tmp_path: Path) -> None:
    bed = Bed.make(tmp_path)
    assert [f for f in check(bed.target, settings()) if "callback_facts" in f.message] == []


def test_an_older_component_is_named_with_its_line(tmp_path: Path) -> None:
    bed = Bed.make(tmp_path)
    bed.replace(
        "extensions_callback.conf",
        ",callback_facts=${QUEUEPOSITION}|${QUEUE_PRIO}|${QUEUEWAIT})",
        ")",
    )
    (found,) = [f for f in check(bed.target, settings()) if "callback_facts" in f.message]
    assert found.severity == "warning"
    assert found.where is not None and found.where.file.endswith("extensions_callback.conf")
    assert "one more AGI round trip" in found.message
