"""What the web reads of the settings, and nothing else of them (made once with the app,
``WebConfig.of``): who may call, which Host names it answers to, its limits, the supervisor
screen's day and service levels, and the request API's share (ApiConfig)."""

from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Self

from agi_app.api.config import ApiConfig
from agi_app.config.credentials import ApiCredentials, Credentials
from agi_app.config.settings import Settings


@dataclass(frozen=True)
class SupervisorConfig:
    """The supervisor screen's: the centre's day and the service level per queue."""

    zone: tzinfo  # the centre's (supervisor_timezone, else the server's own)
    zone_name: str
    queue_log_path: Path
    service_level_seconds: dict[str, int]
    service_level_default_seconds: int
    customer_first_wait_bound: int

    @classmethod
    def of(cls, settings: Settings) -> Self:
        zone, name = settings.centre_zone()
        return cls(
            zone,
            name,
            settings.queue_log_path,
            dict(settings.service_level_seconds),
            settings.service_level_default_seconds,
            settings.customer_first_wait_bound,
        )


@dataclass(frozen=True)
class WebConfig:
    credentials: Credentials  # the web's (web_credentials, web_token)
    api_credentials: ApiCredentials
    allowed_hosts: list[str]  # Host headers served (DNS rebinding)
    metrics_public: bool
    sse_max_clients: int
    scheduled_queues: frozenset[str]  # the queues with calling hours (their estimates shown)
    disposition_codes: tuple[str, ...]  # the wrap-up codes agents may set
    messages_dir: Path  # where the callers' voice messages are read (voice_messages)
    supervisor: SupervisorConfig
    api: ApiConfig

    @classmethod
    def of(cls, settings: Settings) -> Self:
        token = settings.web_token.get_secret_value() if settings.web_token else None
        hosts = settings.web_allowed_hosts or [settings.web_host, "localhost", "127.0.0.1"]
        return cls(
            Credentials(settings.web_credentials, token),
            ApiCredentials(settings.api_credentials),
            hosts,
            settings.web_metrics_public,
            settings.web_sse_max_clients,
            frozenset(settings.queue_schedules),
            tuple(settings.disposition_codes),
            settings.voice_messages.readable_dir,
            SupervisorConfig.of(settings),
            ApiConfig.of(settings),
        )
