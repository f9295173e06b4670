"""Several Asterisk servers (``asterisk_servers``): how the service reaches each one.

Each server has its own AMI account and its own FastAGI listener: a request is recorded with
the server whose listener took it, never with anything the caller or the dialplan says, and a
peer address cannot tell servers apart behind one NAT or on one host. The server's dialplan
points its AGI URLs at that listener. Without any entry the service has one server,
``default``, made of the top-level ami_* and agi_* settings, as before.
"""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

SERVER_NAME = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class AsteriskServer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ami_host: str = Field(description="this Asterisk's AMI address")
    ami_port: int = Field(5038, ge=1, le=65535, description="this Asterisk's AMI port")
    ami_username: str = Field(
        "callback",
        description="the service's AMI account on this Asterisk (not taken from the top-level"
        " ami_username)",
    )
    ami_secret: SecretStr | None = Field(
        None,
        description="this server's AMI secret (before ami_secret_file when both are set); with"
        " neither set: the top-level ami_secret or ami_secret_file",
    )
    ami_secret_file: Path | None = Field(
        None,
        description="a file holding this server's AMI secret (surrounding whitespace removed);"
        " with neither set: the top-level ami_secret or ami_secret_file",
    )
    agi_host: str = Field(
        description="the address this server's own FastAGI listener binds to: the one its"
        " dialplan's AGI URLs name; a request belongs to the server whose listener took it"
    )
    agi_port: int = Field(
        4573,
        ge=0,
        le=65535,
        description="this server's FastAGI listener's port (no two servers on one address and"
        " port)",
    )
    agi_allowed_peers: list[str] | None = Field(
        None,
        description="addresses allowed to open FastAGI sessions on this server's listener;"
        " unset: the top-level agi_allowed_peers",
    )

    def overrides(self) -> dict[str, object]:
        """The top-level settings this server replaces."""
        chosen = {
            "ami_host": self.ami_host,
            "ami_port": self.ami_port,
            "ami_username": self.ami_username,
            "agi_host": self.agi_host,
            "agi_port": self.agi_port,
        }
        if self.ami_secret is not None or self.ami_secret_file is not None:
            chosen |= {"ami_secret": self.ami_secret, "ami_secret_file": self.ami_secret_file}
        if self.agi_allowed_peers is not None:
            chosen["agi_allowed_peers"] = self.agi_allowed_peers
        return chosen


def distinct_listeners(servers: dict[str, AsteriskServer]) -> dict[str, AsteriskServer]:
    """Two servers on one listener could not be told apart."""
    seen: dict[tuple[str, int], str] = {}
    for name, server in servers.items():
        where = (server.agi_host, server.agi_port)
        if where in seen:
            raise ValueError(
                f"asterisk_servers {seen[where]} and {name} share the FastAGI listener"
                f" {server.agi_host}:{server.agi_port}: give each its own"
            )
        seen[where] = name
    return servers
