"""The service's AMI account's eventfilters: Asterisk can read each one, and together they
let through every event serving acts on (agi_app/pbx/event_filters.py). An account without any
filter gets every event, which serving survives (it reads and drops the rest)."""

from agi_app.admin.check.findings import Finding, error, warning
from agi_app.admin.check.reading import ConfFile
from agi_app.config.settings import Settings
from agi_app.domain.channel_ids import parse_channel_id
from agi_app.pbx.event_filters import EventFilter, needed_events, parse_filter, passes
from agi_app.serving.events import HANDLERS


def check_event_filters(conf: ConfFile, settings: Settings) -> list[Finding]:
    accounts = conf.named(settings.ami_username) if settings.ami_enabled else []
    if not accounts:
        return []  # check_ami says what is missing
    account = accounts[-1]
    name = f"AMI account [{account.name}]"
    found: list[Finding] = []
    filters: list[EventFilter] = []
    for entry in conf.inherited(account):
        if not entry.name.startswith("eventfilter"):  # as Asterisk reads it, case and all
            continue
        try:
            filters.append(parse_filter(entry.name, entry.value))
        except ValueError as exc:
            found.append(warning(entry.where, f"{name}: Asterisk ignores this eventfilter: {exc}"))
    dropped = [e for e in needed_events(HANDLERS) if not passes(filters, e)]
    if dropped:
        ours = {e["Event"] for e in dropped if parse_channel_id(e["Uniqueid"])}
        live = {e["Event"] for e in dropped} - ours  # only a live caller's is dropped
        names = sorted(ours | {f"{n} (of live callers)" for n in live})
        found.append(
            error(
                account.where,
                f"{name}'s eventfilters drop {', '.join(names)}, which serving acts on:"
                " callbacks would not be placed or followed",
            )
        )
    return found
