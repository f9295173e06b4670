"""The configuration against the service's settings: the AGI URLs reach its FastAGI
listener, and its AMI account exists with what it needs."""

import ipaddress
from urllib.parse import urlsplit

from agi_app.admin.check.dialplan import Dialplan
from agi_app.admin.check.findings import Finding, Location, error, warning
from agi_app.admin.check.flows import QUEUE_KEY
from agi_app.admin.check.reading import ConfFile, Section
from agi_app.admin.check.rules_options import Checked
from agi_app.admin.check.traced import split_arguments
from agi_app.config.settings import Settings
from agi_app.ivr.offer_check import OFFER_SCRIPT
from agi_app.ivr.status_check import STATUS_SCRIPT

REQUEST_SCRIPT = "callback"  # agi_app/app/service.py serves these three FastAGI scripts
SCRIPTS = {
    "CALLBACK_AGI": REQUEST_SCRIPT,
    "CALLBACK_STATUS_AGI": STATUS_SCRIPT,
    "CALLBACK_OFFER_AGI": OFFER_SCRIPT,
}
AMI_READ = ("call", "agent", "user", "system")
AMI_WRITE = ("originate", "call", "agent", "user", "reporting")
_ADMIN_WRITE = ("system", "command", "config", "dialplan", "all")
_WILDCARD = ("", "0.0.0.0", "::", "[::]")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _same_host(a: str, b: str) -> bool:
    return a == b or (a in _LOOPBACK and b in _LOOPBACK)


def check_agi(plan: Dialplan, settings: Settings) -> list[Finding]:
    found: list[Finding] = []
    listens = f"{settings.agi_host}:{settings.agi_port}"
    urls = [(plan.globals.get(name), name, script) for name, script in SCRIPTS.items()]
    if "callback" in plan.contexts and urls[0][0] is None:
        found.append(
            error(
                plan.globals_first,
                "no CALLBACK_AGI in [globals]: [callback] calls AGI() with no URL",
            )
        )
    for step in plan.steps():  # an admin's own AGI(agi://...) to one of the service's scripts
        url = split_arguments(step.args)[0].strip() if step.app == "agi" else None
        if url is not None and url.text.startswith("agi://") and "$" not in url.text:
            found += _url(url.text, step.where, None, listens, settings)
    for entry, name, script in urls:
        if entry is not None and "${" not in entry.value:
            found += _url(entry.value, entry.where, (name, script), listens, settings)
    request = urls[0][0]
    host = urlsplit(request.value).hostname if request is not None else None
    peers = set(settings.agi_allowed_peers)
    if request is not None and host in _LOOPBACK and not peers & {"127.0.0.1", "::1"}:
        found.append(
            error(
                request.where,
                f"CALLBACK_AGI = {request.value}: Asterisk connects from the loopback address,"
                " which the service refuses (agi_allowed_peers"
                f" = {sorted(peers)}): callers would hear 'Error in request'",
            )
        )
    return found


def _url(
    url: str, where: Location, named: tuple[str, str] | None, listens: str, settings: Settings
) -> list[Finding]:
    parts = urlsplit(url)
    label = f"{named[0]} = {url}" if named else f"AGI({url})"
    if parts.scheme != "agi":
        return [warning(where, f"{label}: not agi://, not checked against the service")]
    script = parts.path.strip("/")
    if named is None and script not in SCRIPTS.values():
        return []
    found: list[Finding] = []
    try:
        port = parts.port or 4573
    except ValueError:
        return [error(where, f"{label}: the port is not a number")]
    host = parts.hostname or ""
    reaches = port == settings.agi_port and (
        settings.agi_host in _WILDCARD or _same_host(host, settings.agi_host)
    )
    if not reaches:
        found.append(
            error(
                where,
                f"{label} does not reach the service, which listens on {listens} (agi_host,"
                " agi_port): callers would hear 'Error in request'",
            )
        )
    if named is not None and script != named[1]:
        found.append(
            error(
                where,
                f"{label} names the script '{script}', but the service serves this one as"
                f" '{named[1]}': callers would hear 'Error in request'",
            )
        )
    return found


def check_ami(conf: ConfFile, settings: Settings) -> list[Finding]:
    if not settings.ami_enabled:
        return []
    if not conf.exists:
        return [error(None, "no manager.conf: the service cannot log in to AMI")]
    found: list[Finding] = []
    general = conf.named("general")
    if general:
        enabled, port, bind = (conf.value(general[-1], k) for k in ("enabled", "port", "bindaddr"))
        if enabled is None or enabled.value.lower() not in ("yes", "true", "on", "1"):
            found.append(
                error((enabled or general[-1]).where, "AMI is not enabled (enabled = yes)")
            )
        if port is not None and port.value != str(settings.ami_port):
            found.append(
                error(
                    port.where,
                    f"AMI listens on port {port.value}, the service connects to"
                    f" {settings.ami_port} (ami_port)",
                )
            )
        if (
            bind is not None
            and bind.value not in _WILDCARD
            and not _same_host(bind.value, settings.ami_host)
        ):
            found.append(
                error(
                    bind.where,
                    f"AMI listens on {bind.value}, the service connects to"
                    f" {settings.ami_host} (ami_host)",
                )
            )
    accounts = conf.named(settings.ami_username)
    if not accounts:
        return [
            *found,
            error(None, f"manager.conf has no account [{settings.ami_username}] (ami_username)"),
        ]
    return found + _account(conf, accounts[-1], settings)


def _account(conf: ConfFile, account: Section, settings: Settings) -> list[Finding]:
    found: list[Finding] = []
    name = f"AMI account [{account.name}]"
    secret = conf.value(account, "secret")
    if secret is None:
        if account.absent:
            found.append(
                warning(
                    account.where,
                    f"{name} has no secret here; it may come from {', '.join(account.absent)}"
                    " (#tryinclude), not there now: until it is, the service cannot log in",
                )
            )
        else:
            found.append(error(account.where, f"{name} has no secret: the service cannot log in"))
    else:
        try:
            mine = settings.ami_password()
        except ValueError:
            mine = None
        if mine is not None and mine != secret.value:
            found.append(error(secret.where, f"{name}'s secret is not the service's (ami_secret)"))
    for kind, needed in (("read", AMI_READ), ("write", AMI_WRITE)):
        entry = conf.value(account, kind)
        granted = {c.strip().lower() for c in (entry.value if entry else "").split(",")}
        missing = [c for c in needed if c not in granted and "all" not in granted]
        if missing:
            found.append(
                error(
                    (entry or account).where,
                    f"{name} lacks {kind} {','.join(missing)}: the service needs"
                    f" {kind} = {','.join(needed)}",
                )
            )
        admin = sorted(granted & set(_ADMIN_WRITE)) if kind == "write" else []
        if admin and entry is not None:
            found.append(
                warning(
                    entry.where,
                    f"{name} may also write {','.join(admin)}, which the service never needs",
                )
            )
    if settings.ami_host in _LOOPBACK and not _permits(conf, account, "127.0.0.1"):
        found.append(
            error(
                account.where,
                f"{name} does not permit 127.0.0.1 (deny/permit), where the service connects from",
            )
        )
    return found


def _permits(conf: ConfFile, account: Section, address: str) -> bool:
    """Asterisk's ACL: the last deny or permit matching the address decides; none: allowed."""
    allowed = True
    ip = ipaddress.ip_address(address)
    for entry in conf.inherited(account):
        if entry.name.lower() not in ("deny", "permit"):
            continue
        try:
            network = ipaddress.ip_network(entry.value.strip().lstrip("!"), strict=False)
        except ValueError:
            continue
        if ip.version == network.version and ip in network:
            allowed = entry.name.lower() == "permit"
    return allowed


def check_schedules(checked: list[Checked], settings: Settings) -> list[Finding]:
    """Calling hours named in the options exist in the settings (else: invalid-options)."""
    found: list[Finding] = []
    for item in checked:
        given = item.given.get("schedule")
        uses = item.site.kind in ("callback", QUEUE_KEY, "callback-offer-check")
        if given is not None and uses and given.value not in settings.schedules:
            found.append(
                error(
                    given.where,
                    f"schedule={given.value}: the service's settings define no schedule"
                    f" '{given.value}' (schedules), so it refuses these requests",
                )
            )
    return found
