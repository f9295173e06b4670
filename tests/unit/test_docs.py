"""The docs that are generated from the code are up to date, and the site's pages all reachable."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import yaml

REPO = Path(__file__).resolve().parents[2]

# Fields of the models nested in the settings that have no description= yet: they live in
# agi_app/config/{servers,credentials,webhooks}.py, and docs/reference/settings.md shows their
# source comment meanwhile. Take a name out when its field gets a description (the test says
# so); a new field needs one from the start, as every field of agi_app/config/settings.py has.
UNDESCRIBED_SETTINGS = {
    "ApiCredential.name",
    "ApiCredential.scopes",
    "ApiCredential.token_sha256",
    "AsteriskServer.agi_allowed_peers",
    "AsteriskServer.agi_host",
    "AsteriskServer.agi_port",
    "AsteriskServer.ami_host",
    "AsteriskServer.ami_port",
    "AsteriskServer.ami_secret",
    "AsteriskServer.ami_secret_file",
    "AsteriskServer.ami_username",
    "WebCredential.agent",
    "WebCredential.max_streams",
    "WebCredential.name",
    "WebCredential.role",
    "WebCredential.token_sha256",
    "WebhookSubscription.events",
    "WebhookSubscription.name",
    "WebhookSubscription.secret",
    "WebhookSubscription.secret_file",
    "WebhookSubscription.start",
    "WebhookSubscription.url",
}
# Option models whose fields have no description= yet (docs/reference/options.md shows their
# source comments meanwhile); take one out once all its fields have one.
UNDESCRIBED_OPTION_MODELS = {"ComponentOptions", "StatusOptions", "OfferOptions"}


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
    missing = reference.undescribed(models)
    assert missing - UNDESCRIBED_SETTINGS == set(), "settings without a description="
    assert UNDESCRIBED_SETTINGS - missing == set(), "described now: take out of the list"
    settings_file = {m.__name__ for m in models if m.__module__ == "agi_app.config.settings"}
    assert settings_file == {"Settings", "ScheduleSettings"}
    assert not {name.split(".")[0] for name in UNDESCRIBED_SETTINGS} & settings_file


def test_option_models_get_their_descriptions() -> None:
    reference = _reference()
    models = {m.__name__: m for m in reference.option_models().values()}
    assert set(models) >= UNDESCRIBED_OPTION_MODELS
    for name, model in models.items():
        missing = reference.undescribed([model])
        if name in UNDESCRIBED_OPTION_MODELS:
            assert missing, f"{name} is described now: take it out of the list"
        else:
            assert not missing, f"options without a description=: {sorted(missing)}"


def test_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())

    def pages(entries: object) -> set[str]:
        if isinstance(entries, str):
            return {entries}
        if isinstance(entries, list):
            return set().union(*(pages(e) for e in entries))
        if isinstance(entries, dict):
            return set().union(*(pages(v) for v in entries.values()))
        return set()

    written = {p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md")}
    assert pages(config["nav"]) == written
