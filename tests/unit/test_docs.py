"""The docs that are generated from the code are up to date."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_module_index_of_the_architecture_page_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "docs" / "modules.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_every_package_is_on_the_map() -> None:
    text = (REPO / "docs" / "architecture.md").read_text()
    for package in sorted(p.parent for p in (REPO / "agi_app").glob("*/__init__.py")):
        if package.name != "static":
            assert f"agi_app.{package.name}" in text, package.name
