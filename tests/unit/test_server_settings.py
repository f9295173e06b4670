"""Several Asterisk servers in the settings: each its AMI account and FastAGI listener, the
rest shared; none named: one server, "default", as before."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from agi_app.config.settings import Settings

TWO = """
ami_secret = "shared"
number_region = "GB"

[asterisk_servers.a]
ami_host = "10.0.0.1"
agi_host = "127.0.0.1"

[asterisk_servers.b]
ami_host = "10.0.0.2"
ami_username = "cb-b"
ami_secret_file = "/etc/agi-callback/ami-b"
agi_host = "127.0.0.2"
agi_port = 4580
agi_allowed_peers = ["10.0.0.2"]
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "callback.toml"
    monkeypatch.setenv("CALLBACK_CONFIG", str(path))
    return path


def test_without_servers_there_is_one_named_default(config: Path) -> None:
    config.write_text('ami_host = "10.0.0.9"\n')
    settings = Settings()
    assert list(settings.servers()) == ["default"]
    assert settings.servers()["default"] is settings


def test_each_server_has_its_own_account_and_listener_and_shares_the_rest(config: Path) -> None:
    config.write_text(TWO)
    servers = Settings().servers()
    assert list(servers) == ["a", "b"]  # the first named is the first served
    a, b = servers["a"], servers["b"]
    assert (a.ami_host, a.ami_username, a.ami_password()) == ("10.0.0.1", "callback", "shared")
    assert (a.agi_host, a.agi_port, a.agi_allowed_peers) == ("127.0.0.1", 4573, ["127.0.0.1"])
    assert (b.ami_host, b.ami_username, b.ami_secret) == ("10.0.0.2", "cb-b", None)
    assert b.ami_secret_file == Path("/etc/agi-callback/ami-b")
    assert (b.agi_host, b.agi_port, b.agi_allowed_peers) == ("127.0.0.2", 4580, ["10.0.0.2"])
    assert a.number_rules() == b.number_rules()  # what is not the server's is shared


@pytest.mark.parametrize(
    ("toml", "why"),
    [
        (  # one listener for two servers: their requests could not be told apart
            '[asterisk_servers.a]\nami_host = "h1"\nagi_host = "127.0.0.1"\n'
            '[asterisk_servers.b]\nami_host = "h2"\nagi_host = "127.0.0.1"\n',
            "share the FastAGI listener 127.0.0.1:4573",
        ),
        ('[asterisk_servers."B b"]\nami_host = "h"\nagi_host = "x"\n', "should match pattern"),
        ('[asterisk_servers.a]\nami_host = "h"\n', "agi_host"),
        ('[asterisk_servers.a]\nami_host = "h"\nagi_host = "x"\nsecret = "s"\n', "secret"),
    ],
)
def test_bad_servers_are_refused_with_the_reason(config: Path, toml: str, why: str) -> None:
    config.write_text(toml)
    with pytest.raises(ValidationError, match=why):
        Settings()
