"""Where the callers' voice messages (the message option) are kept: Asterisk records them into
a directory of its own, plays them to the agent from there, and the service reads them from
the same directory (or a mount of it) to let supervisors and agents play them in the browser."""

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

# It goes into an AGI command and a dialplan variable: a plain absolute path, nothing else.
ASTERISK_PATH = r"^/[A-Za-z0-9_./-]{1,200}$"


class VoiceMessages(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    asterisk_dir: Annotated[str, Field(pattern=ASTERISK_PATH)] = Field(
        "/var/spool/asterisk/callback-messages",
        description="the directory, on the Asterisk server, Asterisk records the messages into"
        " and plays them from (Record() creates it; asterisk must be able to write there)",
    )
    local_dir: Path | None = Field(
        None,
        description="where this service finds the same files to serve them to the Live view,"
        " the agent panel and the API; unset: asterisk_dir (the service on Asterisk's host)."
        " With several Asterisk servers, a directory each server's recordings reach (a"
        " shared mount); a message not found there is reported as unavailable",
    )

    @field_validator("asterisk_dir")
    @classmethod
    def _no_parent(cls, value: str) -> str:
        if ".." in value.split("/"):
            raise ValueError("no '..' in asterisk_dir")
        return value

    @property
    def readable_dir(self) -> Path:
        return self.local_dir or Path(self.asterisk_dir)
