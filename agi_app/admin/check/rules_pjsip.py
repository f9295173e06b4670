"""Agents: every PJSIP queue member is an endpoint that must authenticate, and the trunk
customers are dialed through exists."""

from agi_app.admin.check.findings import Finding, error, warning
from agi_app.admin.check.reading import ConfFile, Section
from agi_app.admin.check.rules_queues import queues_of

TRUNK = "pstn"  # [callback-customer] dials PJSIP/NUMBER@pstn


def _typed(conf: ConfFile, name: str, kind: str) -> Section | None:
    for section in conf.named(name):
        entry = conf.value(section, "type")
        if entry is not None and entry.value.strip().lower() == kind:
            return section
    return None


def check_pjsip(pjsip: ConfFile, queues: ConfFile) -> list[Finding]:
    if not pjsip.exists:
        return [error(None, "no pjsip.conf: agents and the trunk cannot be checked")]
    found: list[Finding] = []
    if _typed(pjsip, TRUNK, "endpoint") is None:
        found.append(
            error(
                None,
                f"pjsip.conf has no endpoint [{TRUNK}]: the component dials customers through"
                f" PJSIP/NUMBER@{TRUNK}",
            )
        )
    seen: set[str] = set()
    for queue, section in queues_of(queues).items():
        for member in (e for e in queues.inherited(section) if e.name.lower() == "member"):
            interface = member.value.split(",")[0].strip()
            tech, _, name = interface.partition("/")
            if tech.upper() != "PJSIP" or name in seen:
                continue
            seen.add(name)
            endpoint = _typed(pjsip, name, "endpoint")
            if endpoint is None:
                found.append(
                    error(
                        member.where,
                        f"queue '{queue}' has member {interface}, but pjsip.conf defines no"
                        f" endpoint '{name}'",
                    )
                )
                continue
            found += _authenticates(pjsip, endpoint, queue)
    return found


def _authenticates(pjsip: ConfFile, endpoint: Section, queue: str) -> list[Finding]:
    name = endpoint.name
    auth = pjsip.value(endpoint, "auth")
    if auth is None or not auth.value.strip():
        return [
            error(
                endpoint.where,
                f"agent endpoint '{name}' (member of queue '{queue}') has no auth=: anyone who"
                f" reaches Asterisk can register as {name} and take the callbacks' customers",
            )
        ]
    found: list[Finding] = []
    for auth_name in (a.strip() for a in auth.value.split(",") if a.strip()):
        section = _typed(pjsip, auth_name, "auth")
        if section is None:
            found.append(
                error(
                    auth.where,
                    f"endpoint '{name}' names auth '{auth_name}', which pjsip.conf does not define",
                )
            )
            continue
        kind = pjsip.value(section, "auth_type")
        key = "md5_cred" if kind is not None and kind.value.strip().lower() == "md5" else "password"
        if pjsip.value(section, key) is not None:
            continue
        if section.absent:
            found.append(
                warning(
                    section.where,
                    f"auth '{auth_name}' of agent '{name}' has no {key} here; it may come from"
                    f" {', '.join(section.absent)} (#tryinclude), not there now: until it is,"
                    f" Asterisk refuses the auth and nobody can log in as {name}",
                )
            )
        else:
            found.append(
                error(
                    section.where,
                    f"auth '{auth_name}' of agent '{name}' has no {key}: Asterisk refuses it"
                    f" and nobody can log in as {name}",
                )
            )
    return found
