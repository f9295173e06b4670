"""Personal data (the ``[privacy]`` table): how long a finished request keeps its caller's
number, name and digits before the purge replaces them (docs/explanation/privacy.md), how
often the service purges, and where the key of the numbers' pseudonyms is kept."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

# Long enough for a caller's complaint or a dispute over a bill to reach the centre (about
# a quarter), short enough that a year's history is no directory of callers.
DEFAULT_RETENTION_DAYS = 90


class Privacy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    retention_days: int = Field(
        DEFAULT_RETENTION_DAYS,
        ge=1,
        le=3650,
        description="days a finished callback keeps its personal data (numbers, name,"
        " extension, dialed number); then the purge replaces the numbers by a pseudonym and"
        " removes the rest, keeping queue, times and outcomes for the reports",
    )
    purge_interval_minutes: int = Field(
        60,
        ge=1,
        le=24 * 60,
        description="minutes between two purges by the running service (each also runs at"
        " its start); `agi-callback purge` runs one at once",
    )
    pseudonym_key_file: Path | None = Field(
        None,
        description="the file holding the secret key of the numbers' pseudonyms (created,"
        " private to the service's user, at the first purge); unset: `pseudonym.key` beside"
        " store_path. Processes sharing a PostgreSQL store must share this file",
    )

    def key_path(self, store_path: Path) -> Path:
        return self.pseudonym_key_file or store_path.with_name("pseudonym.key")
