"""The service's settings: one typed model, from a TOML file and CALLBACK_* environment variables.

Environment wins over the file. Which file: agi_app/config/file.py (``--config``,
CALLBACK_CONFIG, or ./callback.toml when present), which also explains a refusal.
"""

import difflib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from agi_app.config.calling_rules import CallingRules
from agi_app.config.credentials import ApiCredential, WebCredential, unique_names
from agi_app.config.missed_calls import MissedCallQueues
from agi_app.config.privacy import Privacy
from agi_app.config.servers import SERVER_NAME, AsteriskServer, distinct_listeners
from agi_app.config.voice_messages import VoiceMessages
from agi_app.config.webhooks import Webhooks
from agi_app.domain.errors import InvalidOptions
from agi_app.domain.hours import DAYS, Schedule, ScheduleError, later_slots, parse_periods
from agi_app.domain.numbers import (
    DEFAULT_BLOCKED_TYPES,
    DESTINATION_REGIONS,
    NUMBER_TYPES,
    REGIONS,
    NumberRules,
)
from agi_app.domain.presentation import CALLER_ID, Presentation
from agi_app.domain.request import DEFAULT_SERVER, RateLimits

CONFIG_ENV = "CALLBACK_CONFIG"
SQLITE = "sqlite:///"  # store_url's prefix for a SQLite file
DEFAULT_CONFIG = Path("callback.toml")
# The file settings_file.load_settings chose; unset (a test's Settings()): the environment's.
_READING: ContextVar[Path | None] = ContextVar("settings_file")


@contextmanager
def reading(path: Path | None) -> Iterator[None]:
    """Settings() made inside read ``path`` (None: no file), whatever CALLBACK_CONFIG says."""
    token = _READING.set(path)
    try:
        yield
    finally:
        _READING.reset(token)


# Codes people write for a region that libphonenumber knows by its ISO 3166 code.
_REGION_ALIASES = {"UK": "GB"}


def known_region(key: str, value: str, accepted: frozenset[str], examples: str) -> str:
    """``value`` when libphonenumber knows it: an unknown region would refuse every number
    (allowed_regions) or parse none (number_region)."""
    if value in accepted:
        return value
    guess = _REGION_ALIASES.get(value.upper(), value.upper())
    hint = f"; did you mean {guess!r}?" if guess in accepted else ""
    raise ValueError(f"{key}: {value!r} is not a region libphonenumber knows ({examples}){hint}")


def known_number_type(name: str) -> str:
    """``name`` when it is a number type: an unknown name would block nothing."""
    if name in NUMBER_TYPES:
        return name
    close = difflib.get_close_matches(name.upper(), sorted(NUMBER_TYPES), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    names = ", ".join(sorted(NUMBER_TYPES))
    raise ValueError(f"blocked_number_types: {name!r} is not a number type (one of {names}){hint}")


def known_level(value: str) -> str:
    """``value`` when logging.basicConfig takes it (setup_logging upper-cases it), so that a
    wrong level is refused here and not by a crash at start."""
    levels = logging.getLevelNamesMapping()
    if value.upper() not in levels:
        names = ", ".join(sorted(levels, key=lambda n: (levels[n], n)))
        raise ValueError(f"log_level: {value!r} is not a logging level (one of {names}, any case)")
    return value


class ScheduleSettings(BaseModel):
    """Calling hours as an admin writes them:

    [schedules.office]
    timezone = "Europe/Paris"
    hours = { mon = "09:00-17:00", tue = "09:00-12:30,13:30-17:00" }  # days left out: closed
    closed = [2026-12-25]
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field(description="the IANA time zone the hours are in (Europe/Paris)")
    hours: dict[str, str] = Field(
        {},
        description='opening periods per day, `mon` .. `sun`: `"09:00-12:30,13:30-17:00"`;'
        " days left out: closed",
    )
    closed: list[date] = Field([], description="dates closed all day (2026-12-25)")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("hours")
    @classmethod
    def _readable_hours(cls, value: dict[str, str]) -> dict[str, str]:
        for day, text in value.items():
            if day not in DAYS:
                raise ValueError(f"{day!r} is not one of {', '.join(DAYS)}")
            try:
                parse_periods(text)
            except ScheduleError as exc:
                raise ValueError(f"{day}: {exc}") from None
        return value

    def schedule(self, name: str) -> Schedule:
        return Schedule(
            name,
            ZoneInfo(self.timezone),
            tuple(parse_periods(self.hours.get(day, "")) for day in DAYS),
            frozenset(self.closed),
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLBACK_", extra="forbid")

    store_path: Path = Field(
        Path("var/callbacks.sqlite3"),
        description="the SQLite file (WAL, synchronous=FULL), when store_url is unset",
    )
    store_busy_timeout: float = Field(
        2.0, gt=0, description="seconds to wait for a locked store before refusing"
    )

    agi_host: str = Field("127.0.0.1", description="the address the FastAGI listener binds to")
    agi_port: int = Field(4573, ge=0, le=65535, description="the FastAGI listener's port")
    agi_allowed_peers: list[str] = Field(
        ["127.0.0.1"], description="addresses allowed to open FastAGI sessions"
    )
    # FastAGI sessions handled at once; past it a caller hears the error prompt at once.
    agi_max_sessions: int = Field(
        256,
        ge=1,
        description="FastAGI sessions handled at once; past it a caller hears the error prompt"
        " at once (one `fastagi busy` warning line each)",
    )

    # Without AMI the service only takes requests (they wait, stored, until it is enabled).
    ami_enabled: bool = Field(
        True,
        description="without AMI the service only takes requests (they wait, stored, until it"
        " is enabled)",
    )
    ami_host: str = Field(
        "127.0.0.1", description="Asterisk's AMI address (placing and serving callbacks)"
    )
    ami_port: int = Field(5038, ge=1, le=65535, description="Asterisk's AMI port")
    ami_username: str = Field("callback", description="the service's AMI account")
    # The secret comes from the environment or a file outside the repository, never a default.
    ami_secret: SecretStr | None = Field(
        None,
        description="the AMI secret (this or ami_secret_file is required with AMI); from the"
        " environment (CALLBACK_AMI_SECRET) or a file, never a default",
    )
    ami_secret_file: Path | None = Field(
        None, description="a file holding the AMI secret (surrounding whitespace removed)"
    )
    ami_ping_interval: float = Field(
        2.0, gt=0, description="watchdog period in seconds; a dead link is noticed within two"
    )
    # Several Asterisk servers, by name (agi_app/config/servers.py); none: one, "default",
    # from the ami_* and agi_* settings above.
    asterisk_servers: Annotated[
        dict[Annotated[str, Field(pattern=SERVER_NAME)], AsteriskServer],
        AfterValidator(distinct_listeners),
    ] = Field(
        {},
        description="several Asterisk servers, by name, each with its own AMI account and"
        " FastAGI listener (no two on one listener); none: one server, `default`, made of the"
        " ami_* and agi_* settings",
    )

    # How many calls ahead a request may have and still wait as a placeholder in Asterisk;
    # further back it waits in the store and is placed once it comes this close to the head.
    # Each placeholder costs Asterisk two channels (four file descriptors, two threads).
    placement_window: int = Field(
        1000,
        ge=1,
        description="a request with this many calls or more ahead of it waits in the store, not"
        " as a placeholder, until it comes this close to the head (a placeholder costs Asterisk"
        " two channels)",
    )

    # The customer leg: who the customer sees calling, how long it rings.
    outbound_caller_id: str = Field(
        '"Support" <5000>',
        pattern=CALLER_ID,
        description="the caller ID the customer sees on the callback and the informative call"
        " when neither the number they called (present_dialed_number) nor their queue's"
        " (queue_caller_ids) is presented",
    )
    present_dialed_number: bool = Field(
        True,
        description="the customer sees the number they called (the DID kept with the request)"
        " when called back, if the destination policy would let the PBX call that number;"
        " the name is that of queue_caller_ids or outbound_caller_id",
    )
    queue_caller_ids: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
        Annotated[str, Field(pattern=CALLER_ID)],
    ] = Field(
        default_factory=dict,
        description='per queue, the caller ID its customers see ("Name" <number>) when the'
        " number they called is not presented; else outbound_caller_id",
    )
    customer_ring_seconds: int = Field(
        30, ge=5, le=120, description="seconds the customer's phone rings"
    )

    disposition_codes: list[Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")]] = Field(
        default_factory=list,
        description="the wrap-up codes an agent may set on a callback they answered (the agent"
        " panel, POST /api/callbacks/ID/disposition); none: no disposition",
    )
    privacy: Privacy = Field(default_factory=Privacy, description="personal data, how long kept")
    log_numbers: bool = Field(
        False,
        description="log phone numbers in full (for debugging); by default a log line keeps"
        " only their last four digits (+…0111)",
    )
    missed_call_queues: MissedCallQueues = Field(
        default_factory=dict,
        description="missed calls called back, per queue (off for a queue not named): a live"
        " caller who hangs up after waiting min_wait seconds gets a callback request; see"
        " docs/how-to/missed-calls.md before turning it on (consent)",
    )
    calling_rules: CallingRules = Field(
        default_factory=CallingRules,
        description="do-not-call numbers and the customers' own hours"
        " (docs/how-to/calling-rules.md)",
    )
    customer_first_wait_bound: int = Field(
        60,
        ge=5,
        le=3600,
        description="customer first: seconds a customer who pressed 1 may wait for an agent"
        " before the wait counts as customer first's own failure (report, metrics)",
    )
    voice_messages: VoiceMessages = Field(
        default_factory=VoiceMessages,
        description="the callers' voice messages (the message option): where Asterisk records"
        " them and where this service reads them",
    )

    # Machine detection (the amd option): AMD()'s parameters, passed as its arguments, so
    # that amd.conf only has to exist. amd.conf's defaults (app_amd's), but for the number
    # of words: docs/explanation/callback-modes.md says why.
    amd_initial_silence: int = Field(
        2500,
        ge=100,
        le=10000,
        description="AMD: ms of silence before a greeting that make a machine",
    )
    amd_greeting: int = Field(
        1500, ge=100, le=10000, description="AMD: ms of greeting beyond which it is a machine"
    )
    amd_after_greeting_silence: int = Field(
        800, ge=100, le=10000, description="AMD: ms of silence after a greeting that make a person"
    )
    amd_total_analysis_time: int = Field(
        5000, ge=500, le=30000, description="AMD: ms it may listen before it says NOTSURE"
    )
    amd_min_word_length: int = Field(
        100, ge=10, le=5000, description="AMD: ms of voice that count as a word"
    )
    amd_between_words_silence: int = Field(
        50, ge=10, le=5000, description="AMD: ms of silence that end a word"
    )
    amd_maximum_number_of_words: int = Field(
        3,
        ge=1,
        le=20,
        description="AMD: words in a greeting beyond which it is a machine (amd.conf's 2 takes"
        " 'Hello, Sarah speaking' for one)",
    )
    amd_silence_threshold: int = Field(
        256, ge=1, le=32767, description="AMD: average level (0..32767) below which it is silence"
    )
    amd_maximum_word_length: int = Field(
        5000, ge=100, le=30000, description="AMD: ms of one word beyond which it is a machine"
    )

    # The Live view, agent panel, supervisor API and /metrics.
    web_enabled: bool = Field(
        True, description="serve the Live view, agent panel, supervisor API and /metrics"
    )
    web_host: str = Field("127.0.0.1", description="the address the web server binds to")
    web_port: int = Field(8080, ge=0, le=65535, description="the web server's port")
    # a supervisor token (kept for compatibility)
    web_token: SecretStr | None = Field(
        None,
        description="one supervisor token, kept for compatibility (the CLI's CALLBACK_WEB_TOKEN)",
    )
    # Named credentials (role viewer|supervisor|agent), each token kept as its SHA-256 only:
    # `python -m agi_app.config.credentials NAME ROLE [AGENT]` makes one. Without any, nothing
    # is served
    # but the empty pages.
    web_credentials: list[WebCredential] = Field(
        [],
        description="named credentials (role viewer, supervisor or agent), each token kept as"
        " its SHA-256 only (`python -m agi_app.config.credentials NAME ROLE [AGENT]` makes one);"
        " without any, nothing is served but the empty pages",
    )
    # Host headers served (DNS rebinding); none given: web_host, localhost and 127.0.0.1.
    web_allowed_hosts: list[str] = Field(
        [],
        description="`Host` header values served (DNS rebinding; others: 400); none given:"
        " web_host, localhost and 127.0.0.1",
    )
    # false: /metrics needs a viewer or supervisor
    web_metrics_public: bool = Field(
        False,
        description="true: /metrics without a credential (for a Prometheus on a trusted"
        " network); false: it needs a viewer or supervisor",
    )
    # open Live views; past it, 503
    web_sse_max_clients: int = Field(
        100,
        ge=1,
        description="open live streams of agents, and apart of viewers and supervisors (each"
        " pool this many); past it 503",
    )

    number_region: str = Field(
        "US", description="the region (ISO 3166) of numbers written without a country code"
    )
    number_check: Literal["possible", "valid"] = Field(
        "possible",
        description="`possible` checks the length for the country; `valid` also checks the"
        " numbering plan (stricter; refuses fictional numbers such as the test bed's +1555...)",
    )
    # The destination policy: every number the PBX may dial (domain/numbers.py).
    blocked_number_types: list[Annotated[str, AfterValidator(known_number_type)]] = Field(
        sorted(DEFAULT_BLOCKED_TYPES),
        description="number types (libphonenumber's) never called back; emergency numbers are"
        " always refused",
    )
    allowed_regions: list[str] = Field(
        [],
        description="regions (ISO 3166 codes, or 001 for the international networks) the PBX"
        " may call back; none: number_region alone",
    )
    allowed_number_prefixes: list[Annotated[str, Field(pattern=r"^\+[0-9]{1,14}$")]] = Field(
        [],
        description="E.164 prefixes dialable whatever their region and type (never emergency"
        " numbers)",
    )
    # Stored requests per hour from one caller number, and to one callback number (0: no limit).
    rate_limit_per_caller: int = Field(
        10, ge=0, description="new requests per hour from one caller number (0: no limit)"
    )
    rate_limit_per_destination: int = Field(
        5,
        ge=0,
        description="new requests per hour to one callback number, from anyone (0: no limit)",
    )

    # Calling hours: named schedules, and the schedule of each queue (a component option
    # `schedule=` overrides it per flow). A queue with none is always open.
    schedules: dict[str, ScheduleSettings] = Field(
        {}, description="calling hours by name: time zone, hours per day, closed dates"
    )
    queue_schedules: dict[str, str] = Field(
        {},
        description="the schedule of each queue (a component option `schedule=` overrides it"
        " per flow); a queue with none is always open",
    )
    # Scheduled callbacks (ask_time=yes): how many later times are offered, every how many
    # minutes from midnight, and at least how far ahead.
    later_slots: int = Field(
        3, ge=1, le=9, description="scheduled callbacks (ask_time=yes): later times offered"
    )
    later_slot_minutes: int = Field(
        60,
        ge=1,
        le=24 * 60,
        description="scheduled callbacks: the later times are every this many minutes from"
        " midnight",
    )
    later_lead_minutes: int = Field(
        30,
        ge=0,
        le=7 * 24 * 60,
        description="scheduled callbacks: minutes ahead of now the first later time is at least",
    )

    # The request API (agi_app/api/routes.py): API tokens with scopes (request, read, cancel), kept
    # as SHA-256 (`python -m agi_app.config.credentials NAME api request,read`); the queues it takes
    # requests for (besides those with calling hours in queue_schedules); how long an API
    # request may wait for an agent, and how far ahead it may be scheduled.
    api_credentials: Annotated[list[ApiCredential], AfterValidator(unique_names)] = Field(
        [],
        description="the request API's tokens with their scopes (request, read, cancel), kept as"
        " SHA-256 (`python -m agi_app.config.credentials NAME api request,read` makes one)",
    )
    api_queues: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]] = Field(
        [],
        description="queues the request API takes requests for (besides those with calling"
        " hours in queue_schedules)",
    )
    api_max_wait: int = Field(
        1800,
        ge=60,
        le=7 * 24 * 3600,
        description="seconds an API request may wait for an agent (from its `at` when scheduled)",
    )
    api_schedule_days: int = Field(
        30, ge=1, le=366, description="days ahead an API request's `at` may be"
    )
    # Requests per hour per API token (by name; counted in memory per process, 0: no limit), and
    # how long an Idempotency-Key is kept (then purged, and free again).
    api_rate_limit_per_hour: int = Field(
        600,
        ge=0,
        description="calls per hour per API token (by name; counted in memory per process; 0:"
        " no limit)",
    )
    api_idempotency_hours: int = Field(
        24,
        ge=1,
        le=24 * 366,
        description="hours an `Idempotency-Key` is kept (then purged, and free again)",
    )

    # Webhooks (agi_app/webhooks/delivery.py): each subscription gets the events of the log it
    # wants,
    # in order, signed with its secret; https, or http to a loopback address only.
    webhooks: Webhooks = Field(
        [],
        description="webhook subscriptions: each gets the events of the log it wants, in order,"
        " signed with its secret; https, or http to a loopback address only",
    )

    # Where requests are kept (agi_app/store/open.py): unset, the SQLite file store_path
    # (sqlite:///relative/path, sqlite:////absolute/path); postgresql://user@host:port/db, a
    # PostgreSQL database several services share (libpq's URL; its password in PGPASSWORD
    # or ~/.pgpass, not here). PostgreSQL: at most store_pool_size connections, and every
    # wait for it (a connection, a lock, a statement) bounded by store_timeout seconds.
    store_url: str | None = Field(
        None,
        pattern=r"^(sqlite:///|postgres(ql)?://)",
        description="where requests are kept: `sqlite:///relative/path`,"
        " `sqlite:////absolute/path`, or `postgresql://user@host:port/db` (libpq's URL, a"
        " database several services share; its password in PGPASSWORD or ~/.pgpass, not"
        " here); unset: the SQLite file store_path",
    )
    store_pool_size: int = Field(
        10, ge=1, le=100, description="PostgreSQL: connections at most (a pool)"
    )
    store_timeout: float = Field(
        5.0,
        gt=0,
        le=60,
        description="PostgreSQL: seconds any wait may take (a connection, a lock, a statement);"
        " past it the request is refused as store-unavailable",
    )

    log_level: Annotated[str, AfterValidator(known_level)] = Field(
        "INFO",
        description="a `logging` level, any case: DEBUG, INFO, WARNING, ERROR, CRITICAL (and"
        " NOTSET, WARN, FATAL)",
    )

    # The supervisor's screen (/supervisor): the centre's time zone for the times it shows
    # and for the days of its figures, the CLI's report and audit (unset: the server's), the
    # service level's threshold per queue (seconds from the
    # original queue entry to an agent answering), and Asterisk's queue_log it reads the
    # day's live callers from.
    supervisor_timezone: str | None = Field(
        None,
        description="the centre's time zone (IANA name): the times the supervisor's screen"
        " shows, and the days of its figures, `report` and `audit`; unset: the server's",
    )
    service_level_seconds: dict[str, Annotated[int, Field(ge=1, le=86400)]] = Field(
        {},
        description="per queue, the service level's threshold: seconds from the original queue"
        " entry to an agent answering (`{support = 30}`)",
    )
    service_level_default_seconds: int = Field(
        60,
        ge=1,
        le=86400,
        description="the service level's threshold of queues not in service_level_seconds",
    )
    queue_log_path: Path = Field(
        Path("/var/log/asterisk/queue_log"),
        description="Asterisk's queue_log, read for the day's live callers",
    )

    # `agi-callback serve`'s event loop: uvloop (libuv; less CPU per AMI event and AGI round
    # trip, BENCHMARKS.md section 6) or Python's own asyncio loop.
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop",
        description="`agi-callback serve`'s event loop: `uvloop` (libuv: less CPU per AMI event"
        " and AGI round trip) or `asyncio` (Python's own, the way back should uvloop misbehave);"
        " needs a restart",
    )

    def centre_zone(self) -> tuple[tzinfo, str]:
        """The centre's time zone and its name (unset: the server's own): one calendar day for
        the supervisor's screen, `agi-callback report` and `audit`."""
        if self.supervisor_timezone:
            return ZoneInfo(self.supervisor_timezone), self.supervisor_timezone
        local = datetime.now().astimezone().tzinfo or UTC
        return local, datetime.now(local).tzname() or "UTC"

    @field_validator("number_region")
    @classmethod
    def _known_number_region(cls, value: str) -> str:
        return known_region("number_region", value, REGIONS, "ISO 3166 codes such as GB, US")

    @field_validator("allowed_regions")
    @classmethod
    def _known_allowed_regions(cls, value: list[str]) -> list[str]:
        examples = "ISO 3166 codes such as GB, US, or 001 for the international networks"
        for region in value:
            known_region("allowed_regions", region, DESTINATION_REGIONS, examples)
        return value

    @field_validator("supervisor_timezone")
    @classmethod
    def _known_centre_zone(cls, value: str | None) -> str | None:
        if value is not None:
            ScheduleSettings._known_zone(value)
        return value

    @model_validator(mode="after")
    def _queue_schedules_exist(self) -> Self:
        unknown = sorted(set(self.queue_schedules.values()) - set(self.schedules))
        if unknown:
            raise ValueError(f"queue_schedules names unknown schedules: {', '.join(unknown)}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        try:
            path = _READING.get()
        except LookupError:
            named = os.environ.get(CONFIG_ENV, str(DEFAULT_CONFIG))
            path = Path(named) if named else None
        if path is None:
            return (init_settings, env_settings)
        toml = TomlConfigSettingsSource(settings_cls, toml_file=path)
        return (init_settings, env_settings, toml)

    def store_address(self) -> str:
        """The store as a URL: store_url, else sqlite:/// and store_path (as before it)."""
        return self.store_url or SQLITE + str(self.store_path)

    def ami_password(self) -> str:
        if self.ami_secret is not None:
            return self.ami_secret.get_secret_value()
        if self.ami_secret_file is not None:
            try:
                return self.ami_secret_file.read_text().strip()
            except OSError as exc:
                raise ValueError(f"cannot read ami_secret_file: {exc}") from exc
        raise ValueError(
            "set CALLBACK_AMI_SECRET or CALLBACK_AMI_SECRET_FILE (or ami_enabled=false)"
        )

    def servers(self) -> dict[str, "Settings"]:
        """Each Asterisk server's settings: these, with its AMI account and listener."""
        if not self.asterisk_servers:
            return {DEFAULT_SERVER: self}
        return {
            name: self.model_copy(update=server.overrides())
            for name, server in self.asterisk_servers.items()
        }

    def calling_hours(self) -> dict[str, Schedule]:
        return {name: s.schedule(name) for name, s in self.schedules.items()}

    def schedule_name(self, queue: str, option: str | None) -> str | None:
        """The calling hours of a request: the option's schedule, else the queue's."""
        if option is not None and option not in self.schedules:
            raise InvalidOptions(f"schedule {option!r} is not in the settings")
        return option or self.queue_schedules.get(queue)

    def later_times(self, schedule: str | None, now: datetime) -> tuple[list[datetime], str]:
        """The later times a caller may choose, and the time zone to say them in."""
        hours = self.calling_hours().get(schedule) if schedule is not None else None
        slots = later_slots(
            hours,
            now,
            count=self.later_slots,
            step=timedelta(minutes=self.later_slot_minutes),
            lead=timedelta(minutes=self.later_lead_minutes),
        )
        return slots, hours.zone.key if hours is not None else "UTC"

    def presentation(self) -> Presentation:
        """The caller ID a customer sees (agi_app/domain/presentation.py)."""
        return Presentation(
            self.outbound_caller_id, dict(self.queue_caller_ids), self.present_dialed_number
        )

    def rate_limits(self) -> RateLimits:
        return RateLimits(self.rate_limit_per_caller, self.rate_limit_per_destination)

    def number_rules(self) -> NumberRules:
        return NumberRules(
            region=self.number_region,
            check=self.number_check,
            blocked_types=frozenset(self.blocked_number_types),
            allowed_regions=frozenset(self.allowed_regions),
            allowed_prefixes=tuple(self.allowed_number_prefixes),
        )
