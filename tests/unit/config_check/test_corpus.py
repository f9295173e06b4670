"""The corpus (tests/config_corpus/): broken configurations, each a few edits to a copy of the
shipped one, and exactly what `agi-callback check` must say about each."""

import tomllib
from pathlib import Path
from typing import Any

import pytest

from agi_app.admin.check.check import check
from tests.unit.config_check.bed import REPO, Bed, settings

CORPUS = REPO / "tests" / "config_corpus"
CASES = sorted(CORPUS.glob("*.toml"))


def test_the_corpus_is_at_least_fifteen_cases() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_each_broken_configuration_is_reported_as_expected(case: Path, tmp_path: Path) -> None:
    spec: dict[str, Any] = tomllib.loads(case.read_text())
    bed = Bed.make(tmp_path)
    for edit in spec.get("edit", []):
        if edit.get("remove"):
            bed.path(edit["file"]).unlink()
        elif "append" in edit:
            bed.append(edit["file"], edit["append"])
        else:
            bed.replace(edit["file"], edit["replace"], edit["with"])
    for sound in spec.get("sounds", []):
        bed.add_sound(sound)
    found = check(bed.target, settings(**spec.get("settings", {})))
    assert [str(f) for f in found] == [bed.resolve(e) for e in spec["expected"]]
