"""What SIGHUP may change in a running service, and what needs a restart.

The rule: a setting is reloaded only when everything that reads it takes the new value at
once, so the service never runs half on the old value and half on the new one. The log level
qualifies always. The destination policy and the rate limits qualify while the FastAGI
request handler is their only reader, that is while this process does not serve
(ami_enabled = false, or a standby, which starts serving from the reloaded settings): once
serving, the dialer checks every number again before it dials and the request API keeps its
own limits, and a policy loosened at intake but not at the dialer would promise callers a
callback that is then refused. number_region stays too: it decides how numbers are written
in the store, and the caller's status check finds a caller's requests by it. Everything else
is bound to a socket, the store, AMI or a part started once (calling hours, webhooks, web
credentials), and needs a restart.
"""

from agi_app.config.settings import Settings

ALWAYS = frozenset({"log_level"})
INTAKE = frozenset(
    {
        "number_check",
        "blocked_number_types",
        "allowed_regions",
        "allowed_number_prefixes",
        "rate_limit_per_caller",
        "rate_limit_per_destination",
    }
)


def reloadable(*, serving: bool) -> frozenset[str]:
    return ALWAYS if serving else ALWAYS | INTAKE


def split_changes(
    running: Settings, new: Settings, *, serving: bool
) -> tuple[list[str], list[str]]:
    """The changed settings a reload takes, and those that need a restart (names, sorted)."""
    fields = type(running).model_fields
    changed = sorted(n for n in fields if getattr(running, n) != getattr(new, n))
    allowed = reloadable(serving=serving)
    return [n for n in changed if n in allowed], [n for n in changed if n not in allowed]
