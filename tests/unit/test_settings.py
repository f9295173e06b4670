from pathlib import Path

import pytest
from pydantic import ValidationError

from agi_app.settings import Settings


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "callback.toml"
    config.write_text('agi_port = 4600\nstore_path = "/srv/cb.sqlite3"\nnumber_region = "GB"\n')
    monkeypatch.setenv("CALLBACK_CONFIG", str(config))
    monkeypatch.setenv("CALLBACK_AGI_PORT", "4700")
    settings = Settings()
    assert settings.agi_port == 4700
    assert settings.store_path == Path("/srv/cb.sqlite3")
    assert settings.number_rules().region == "GB"


def test_secret_is_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "/nonexistent.toml")
    monkeypatch.setenv("CALLBACK_AMI_SECRET", "s3cret")
    settings = Settings()
    assert settings.ami_password() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_secret_from_a_file_and_no_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "/nonexistent.toml")
    with pytest.raises(ValueError, match="CALLBACK_AMI_SECRET"):
        Settings().ami_password()
    secret = tmp_path / "ami-secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("CALLBACK_AMI_SECRET_FILE", str(secret))
    assert Settings().ami_password() == "from-a-file"


def test_bad_values_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "callback.toml"
    config.write_text("agi_port = 70000\n")
    monkeypatch.setenv("CALLBACK_CONFIG", str(config))
    with pytest.raises(ValidationError):
        Settings()
    config.write_text('unknown_setting = "x"\n')
    with pytest.raises(ValidationError):
        Settings()
