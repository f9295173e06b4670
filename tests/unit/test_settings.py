import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from agi_app.admin.cli import main
from agi_app.config.settings import Settings
from agi_app.domain.errors import BlockedNumber
from agi_app.domain.numbers import DEFAULT_BLOCKED_TYPES, normalize_number


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
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    monkeypatch.setenv("CALLBACK_AMI_SECRET", "s3cret")
    settings = Settings()
    assert settings.ami_password() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_secret_from_a_file_and_no_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")
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


def refusal(toml: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The one-line message Settings refuses ``toml`` with."""
    config = tmp_path / "callback.toml"
    config.write_text(toml)
    monkeypatch.setenv("CALLBACK_CONFIG", str(config))
    with pytest.raises(ValidationError) as refused:
        Settings()
    [error] = refused.value.errors()
    assert "\n" not in error["msg"]
    return error["msg"]


@pytest.fixture
def no_callback_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("CALLBACK_")]:
        monkeypatch.delenv(name)


@pytest.mark.usefixtures("no_callback_environment")
def test_a_misspelt_number_type_is_refused_not_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It blocked nothing: premium-rate numbers such as +19005550123 became dialable.
    message = refusal('blocked_number_types = ["PREMIUM_RATES"]\n', tmp_path, monkeypatch)
    assert "blocked_number_types: 'PREMIUM_RATES' is not a number type" in message
    assert "PERSONAL_NUMBER" in message and "INTERNATIONAL_NETWORK" in message
    assert message.endswith("did you mean 'PREMIUM_RATE'?")
    message = refusal('blocked_number_types = ["premium_rate"]\n', tmp_path, monkeypatch)
    assert message.endswith("did you mean 'PREMIUM_RATE'?")
    message = refusal('blocked_number_types = ["QQQ"]\n', tmp_path, monkeypatch)
    assert "'QQQ' is not a number type" in message and "did you mean" not in message


@pytest.mark.usefixtures("no_callback_environment")
def test_the_number_types_libphonenumber_has_are_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "callback.toml"
    config.write_text('blocked_number_types = ["PREMIUM_RATE", "INTERNATIONAL_NETWORK"]\n')
    monkeypatch.setenv("CALLBACK_CONFIG", str(config))
    rules = Settings().number_rules()
    assert rules.blocked_types == {"PREMIUM_RATE", "INTERNATIONAL_NETWORK"}
    with pytest.raises(BlockedNumber, match="of type PREMIUM_RATE"):
        normalize_number("+19005550123", rules)
    assert Settings(blocked_number_types=[]).blocked_number_types == []
    defaults = sorted(DEFAULT_BLOCKED_TYPES)  # a default is not validated unless given
    assert Settings(blocked_number_types=defaults).blocked_number_types == defaults


@pytest.mark.usefixtures("no_callback_environment")
def test_a_region_libphonenumber_does_not_know_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = refusal('allowed_regions = ["GB", "UK"]\n', tmp_path, monkeypatch)
    assert message.startswith("Value error, allowed_regions: 'UK' is not a region")
    assert message.endswith("did you mean 'GB'?")
    message = refusal('number_region = "UK"\n', tmp_path, monkeypatch)
    assert message.startswith("Value error, number_region: 'UK' is not a region")
    assert message.endswith("did you mean 'GB'?")
    message = refusal('number_region = "gb"\n', tmp_path, monkeypatch)
    assert message.endswith("did you mean 'GB'?")
    message = refusal('allowed_regions = ["XY"]\n', tmp_path, monkeypatch)
    assert "'XY' is not a region" in message and "did you mean" not in message
    # 001 (the international networks) is where a number may be, not a country to parse in.
    message = refusal('number_region = "001"\n', tmp_path, monkeypatch)
    assert "number_region: '001' is not a region" in message


@pytest.mark.usefixtures("no_callback_environment")
def test_regions_libphonenumber_knows_are_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "callback.toml"
    config.write_text('number_region = "GB"\nallowed_regions = ["GB", "US", "001"]\n')
    monkeypatch.setenv("CALLBACK_CONFIG", str(config))
    rules = Settings().number_rules()
    assert rules.region == "GB" and rules.regions == {"GB", "US", "001"}


@pytest.mark.usefixtures("no_callback_environment")
def test_a_log_level_logging_does_not_have_is_refused_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It used to pass here and crash in logging.basicConfig at start.
    message = refusal('log_level = "VERBOSE"\n', tmp_path, monkeypatch)
    assert message.startswith("Value error, log_level: 'VERBOSE' is not a logging level")
    assert "DEBUG, INFO, WARN, WARNING, ERROR" in message
    for level in ("debug", "INFO", "Warning", "warn", "CRITICAL"):
        assert Settings(log_level=level).log_level == level  # kept as written


@pytest.mark.usefixtures("no_callback_environment")
def test_the_environment_is_held_to_the_same_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    monkeypatch.setenv("CALLBACK_BLOCKED_NUMBER_TYPES", '["PREMIUM_RATES"]')
    with pytest.raises(ValidationError, match="did you mean 'PREMIUM_RATE'"):
        Settings()


@pytest.mark.usefixtures("no_callback_environment")
def test_check_loads_the_settings_and_refuses_a_wrong_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "callback.toml"
    config.write_text('allowed_regions = ["UK"]\n')
    monkeypatch.setenv("CALLBACK_CONFIG", str(config))
    assert main(["check", str(tmp_path)]) == 2
    assert "allowed_regions: 'UK' is not a region" in capsys.readouterr().err


@pytest.mark.parametrize(
    "caller_id",
    ["Sales <+441632960999>", '"Sales" <+44 1632 960999>', '"Sa\nles" <1>', "<>", "+441632960999"],
)
def test_a_queue_caller_id_is_name_and_number_or_refused(caller_id: str) -> None:
    with pytest.raises(ValidationError, match="queue_caller_ids"):
        Settings(queue_caller_ids={"sales": caller_id})
    ok = Settings(
        queue_caller_ids={"sales": '"Sales" <+441632960999>'}, present_dialed_number=False
    )
    assert ok.presentation().per_queue == {"sales": '"Sales" <+441632960999>'}
