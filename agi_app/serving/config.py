"""What serving reads of the settings, and nothing else of them: the calling hours, the
destination policy, the placement window and how the customer is dialed. Made from the
settings once (``ServingConfig.of``); each part receives only its share."""

from dataclasses import dataclass, field

from agi_app.config.calling_rules import CallingRules
from agi_app.config.missed_calls import MissedCallRule
from agi_app.config.settings import Settings
from agi_app.domain.hours import Schedule
from agi_app.domain.numbers import NumberRules
from agi_app.domain.presentation import Presentation
from agi_app.domain.request import CallbackRequest, RateLimits


@dataclass(frozen=True)
class Dialing:
    """How the customer is called (serving/pbx.py): who they see calling, how long it rings."""

    presentation: Presentation
    customer_ring_seconds: int
    amd_arguments: tuple[int, ...] = ()  # AMD()'s, in its order (the amd_* settings)
    message_dir: str = "/var/spool/asterisk/callback-messages"  # voice_messages.asterisk_dir

    def message_file(self, request: CallbackRequest) -> str:
        """The request's voice message as Playback() takes it (no extension), "" none."""
        if not request.message:
            return ""
        return f"{self.message_dir}/{request.message.rsplit('.', 1)[0]}"

    @property
    def amd_text(self) -> str:
        """AMD()'s arguments as the dialplan's CB_AMD_ARGS takes them: colon-separated."""
        return ":".join(map(str, self.amd_arguments))


@dataclass(frozen=True)
class ServingConfig:
    calling_hours: dict[str, Schedule]
    number_rules: NumberRules
    placement_window: int
    dialing: Dialing
    # Missed calls called back: the queues that do it, and the rules every request follows.
    missed_calls: dict[str, MissedCallRule] = field(default_factory=dict)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    queue_schedules: dict[str, str] = field(default_factory=dict)
    calling_rules: CallingRules = field(default_factory=CallingRules)  # do-not-call, hours

    @classmethod
    def of(cls, settings: Settings) -> "ServingConfig":
        return cls(
            settings.calling_hours(),
            settings.number_rules(),
            settings.placement_window,
            Dialing(
                settings.presentation(),
                settings.customer_ring_seconds,
                (
                    settings.amd_initial_silence,
                    settings.amd_greeting,
                    settings.amd_after_greeting_silence,
                    settings.amd_total_analysis_time,
                    settings.amd_min_word_length,
                    settings.amd_between_words_silence,
                    settings.amd_maximum_number_of_words,
                    settings.amd_silence_threshold,
                    settings.amd_maximum_word_length,
                ),
                settings.voice_messages.asterisk_dir,
            ),
            dict(settings.missed_call_queues),
            settings.rate_limits(),
            dict(settings.queue_schedules),
            settings.calling_rules,
        )
