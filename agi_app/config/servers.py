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

    ami_host: str
    ami_port: int = Field(5038, ge=1, le=65535)
    ami_username: str = "callback"
    ami_secret: SecretStr | None = None  # unset: the top-level ami_secret / ami_secret_file
    ami_secret_file: Path | None = None
    agi_host: str  # where this server's FastAGI connections arrive (its dialplan's AGI URL)
    agi_port: int = Field(4573, ge=0, le=65535)
    agi_allowed_peers: list[str] | None = None  # unset: the top-level agi_allowed_peers

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
