"""The docs that are generated from the code are up to date, and the site's pages all reachable."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import yaml

REPO = Path(__file__).resolve().parents[2]


def _reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference", REPO / "docs" / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "docs" / script), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_module_index_of_the_architecture_page_is_current() -> None:
    _check("modules.py")


def test_the_reference_pages_are_current() -> None:
    _check("reference.py")


def test_every_package_is_on_the_map() -> None:
    text = (REPO / "docs" / "architecture.md").read_text()
    for package in sorted(p.parent for p in (REPO / "agi_app").glob("*/__init__.py")):
        if package.name != "static":
            assert f"agi_app.{package.name}" in text, package.name


def test_every_setting_has_a_description() -> None:
    reference = _reference()
    models = reference.setting_models()
    assert {m.__name__ for m in models} >= {"Settings", "ScheduleSettings", "WebhookSubscription"}
    assert reference.undescribed(models) == set(), "settings without a description="


def test_every_dialplan_option_has_a_description() -> None:
    reference = _reference()
    models = {m.__name__: m for m in reference.option_models().values()}
    assert set(models) >= {"ComponentOptions", "StatusOptions", "OfferOptions"}
    assert reference.undescribed(list(models.values())) == set(), "options without description="


def _nav_pages() -> list[tuple[str, str]]:
    """(section, page) of every page of the nav (the section: its top entry's title)."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    found: list[tuple[str, str]] = []

    def walk(entries: object, section: str) -> None:
        if isinstance(entries, str):
            found.append((section, entries))
        elif isinstance(entries, list):
            for entry in entries:
                walk(entry, section)
        elif isinstance(entries, dict):
            for value in entries.values():
                walk(value, section)

    for top in config["nav"]:
        for title, entries in top.items():
            walk(entries, title)
    return found


def test_every_page_is_in_the_nav() -> None:
    written = {p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md")}
    assert {page for _, page in _nav_pages()} == written


def test_every_page_is_linked_from_its_sections_index_and_the_readme() -> None:
    # Both lists are written by hand: a page added to the nav alone would be missed by a
    # reader who starts from the README or a section's index.
    readme = (REPO / "README.md").read_text()
    indexes = {
        "Tutorials": "tutorials",
        "How-to guides": "how-to",
        "Reference": "reference",
        "Explanation": "explanation",
    }
    missing = []
    for section, page in _nav_pages():
        if page.endswith("index.md"):  # the entry pages themselves
            continue
        if f"(docs/{page})" not in readme:
            missing.append(f"README.md: docs/{page}")
        folder = indexes.get(section)
        if folder is None:
            continue
        index = (REPO / "docs" / folder / "index.md").read_text()
        target = (
            Path(page).relative_to(folder).as_posix()
            if page.startswith(folder + "/")
            else f"../{page}"
        )
        if f"({target})" not in index:
            missing.append(f"docs/{folder}/index.md: {target}")
    assert not missing, missing


def test_every_screenshot_of_the_site_is_taken_by_a_browser_test() -> None:
    """An image the pages show is one a browser test saves (`make screenshots` refreshes
    them), not a picture of how the product once looked."""
    from tests.acceptance.web import SITE_SHOTS

    pages = [*(REPO / "docs").rglob("*.md"), REPO / "README.md"]
    shown = {
        Path(link).name
        for page in pages
        for link in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", page.read_text())
    }
    assert shown, "no screenshot found: the pattern no longer matches the pages"
    assert shown <= set(SITE_SHOTS.values())
    assert all((REPO / "docs" / name).is_file() for name in SITE_SHOTS.values())
