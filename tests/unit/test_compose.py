"""docker/compose.yaml, which no machine here can run (no Docker engine): it parses, its
default deployment is one process on SQLite, and its `postgres` profile is the deployment the
standby tests run (two processes on one database, the second on FastAGI 4574), with settings
the service knows."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from agi_app.config.settings import Settings
from tests.bench.takeover_bench import STANDBY_AGI as BENCH_STANDBY_AGI
from tests.support.testbed import AGI_PORT, STANDBY_AGI_PORT

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"
PG_URL = "postgresql://callback@127.0.0.1:5432/callback"


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def interpolated(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME:-default} (the only form the file uses), from docker/.env's ``env``."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), str(value))


def settings_of(service: dict[str, Any], env: dict[str, str]) -> Settings:
    """What the service process would run with: its CALLBACK_* environment, as settings."""
    fields = {}
    for name, value in service["environment"].items():
        assert name.startswith("CALLBACK_"), name
        field = name.removeprefix("CALLBACK_").lower()
        assert field in Settings.model_fields, f"{name}: no such setting"
        fields[field] = interpolated(value, env)
    return Settings.model_validate(fields)


def active(services: dict[str, Any], profiles: set[str]) -> set[str]:
    return {n for n, s in services.items() if set(s.get("profiles", [])) <= profiles}


def test_the_default_is_one_process_on_the_sqlite_volume() -> None:
    services = compose()["services"]
    assert active(services, set()) == {"asterisk", "callback"}
    callback = services["callback"]
    settings = settings_of(callback, env={})
    assert settings.store_url == "sqlite:///" + str(settings.store_path)
    assert f"callback-store:{settings.store_path.parent}" in callback["volumes"]
    assert settings.agi_port == 4573


def test_the_postgres_profile_runs_two_processes_on_one_database() -> None:
    document = compose()
    services = document["services"]
    assert active(services, {"postgres"}) == {
        "asterisk", "callback", "postgres", "callback-standby"
    }  # fmt: skip
    env = {"CALLBACK_STORE_URL": PG_URL}
    first = settings_of(services["callback"], env)
    second = settings_of(services["callback-standby"], env)
    assert first.store_url == second.store_url == PG_URL
    # Both on the host's network: ports of their own, the standby's as the tests run it.
    assert (first.agi_port, second.agi_port) == (AGI_PORT, STANDBY_AGI_PORT)
    assert STANDBY_AGI_PORT == BENCH_STANDBY_AGI
    assert first.web_port != second.web_port
    # The database the URL names is the one the postgres service creates, kept in a volume.
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert (postgres["environment"]["POSTGRES_USER"], postgres["environment"]["POSTGRES_DB"]) == (
        "callback",
        "callback",
    )
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in document["volumes"]
    assert services["callback-standby"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert all(services[n]["restart"] == "unless-stopped" for n in ("callback", "callback-standby"))


def test_the_standby_never_runs_on_a_file_of_its_own() -> None:
    standby = compose()["services"]["callback-standby"]
    raw = interpolated(standby["environment"]["CALLBACK_STORE_URL"], env={})
    assert raw == ""
    with pytest.raises(ValidationError, match="store_url"):  # the process does not start
        settings_of(standby, env={})


def test_the_header_says_how_to_run_each_deployment() -> None:
    header = COMPOSE.read_text().split("\nname:", 1)[0]
    assert "docker compose -f docker/compose.yaml up --build" in header
    assert "COMPOSE_PROFILES=postgres" in header and "--profile postgres" in header
    assert f"CALLBACK_STORE_URL={PG_URL}" in header
    assert "4574" in header
