"""What the store reads of the settings, and nothing else of them (``StoreConfig.of``)."""

from dataclasses import dataclass
from typing import Self

from agi_app.config.settings import Settings


@dataclass(frozen=True)
class StoreConfig:
    url: str  # sqlite:///path or postgresql://... (store_url, else store_path)
    busy_timeout: float  # SQLite: seconds a write waits for another process's lock
    pool_size: int  # PostgreSQL: connections
    timeout: float  # PostgreSQL: seconds a statement, a connection and the leader's lease wait

    @classmethod
    def of(cls, settings: Settings) -> Self:
        return cls(
            settings.store_address(),
            settings.store_busy_timeout,
            settings.store_pool_size,
            settings.store_timeout,
        )
