"""What the request API reads of the settings, and nothing else of them (made once with the
app, ``ApiConfig.of``): the queues it takes, the rules a request is built by, and its limits.
A reload keeps the values the service started with."""

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Self

from agi_app.config.calling_rules import CallingRules
from agi_app.config.settings import Settings
from agi_app.domain.hours import Schedule
from agi_app.domain.numbers import NumberRules
from agi_app.domain.request import RateLimits


@dataclass(frozen=True)
class ApiConfig:
    queues: tuple[str, ...]  # api_queues, and those with calling hours (sorted)
    queue_schedules: dict[str, str]  # queue -> the name of its calling hours
    calling_hours: dict[str, Schedule]
    number_rules: NumberRules
    max_wait: int  # seconds, as the component's max_wait option
    schedule_days: int  # how far ahead ``at`` may be
    limits: RateLimits  # per caller and destination (the store's)
    rate_limit_per_hour: int  # per token
    keys_kept: timedelta  # an Idempotency-Key's life
    messages_dir: Path = Path(".")  # the callers' voice messages, removed by an erasure
    calling_rules: CallingRules = field(default_factory=CallingRules)  # do-not-call, hours

    @classmethod
    def of(cls, settings: Settings) -> Self:
        return cls(
            tuple(sorted(set(settings.api_queues) | set(settings.queue_schedules))),
            dict(settings.queue_schedules),
            settings.calling_hours(),
            settings.number_rules(),
            settings.api_max_wait,
            settings.api_schedule_days,
            settings.rate_limits(),
            settings.api_rate_limit_per_hour,
            timedelta(hours=settings.api_idempotency_hours),
            settings.voice_messages.readable_dir,
            settings.calling_rules,
        )
