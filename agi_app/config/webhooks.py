"""Webhook subscriptions as an admin writes them in callback.toml:

[[webhooks]]
name = "crm"
url = "https://crm.example.com/hooks/callback"
secret_file = "/etc/agi-callback/crm-webhook.secret"   # mode 0600 (or 0400); or secret = "..."
events = ["requested", "CallEnded", "LeftQueue"]      # default ["*"]: every event
"""

import ipaddress
import os
import stat
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from agi_app.domain.lifecycle import EVENT_NAMES

MIN_SECRET = 16  # characters: an HMAC key one could guess protects nothing


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _safe_url(url: str) -> str:
    """http(s) with a host; plain http only to this machine (the body holds customers'
    names and numbers: over a network it goes encrypted); no credentials in it (URLs are
    logged)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a webhook URL must not hold credentials (they would be logged)")
    if parts.fragment:
        raise ValueError("a webhook URL has no fragment")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{url!r}: plain http is allowed to a loopback address only")
    return url


class WebhookSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="the subscription's name, unique: the store keeps its place in the event log"
        " under it (renamed, it is a new subscription)",
    )
    url: Annotated[str, AfterValidator(_safe_url)] = Field(
        description="where the events are POSTed: `https://...`, or `http://` to a loopback"
        " address only; no credentials and no fragment in it (it is logged)"
    )
    secret: SecretStr | None = Field(
        None,
        description="the HMAC key the POSTs are signed with, 16 characters or more; give this or"
        " secret_file, not both",
    )
    secret_file: Path | None = Field(
        None,
        description="a file holding the HMAC key (surrounding whitespace removed), its owner's"
        " alone (mode 0600 or 0400: else refused at start); this or secret, not both",
    )
    events: list[str] = Field(
        ["*"],
        min_length=1,
        description="the event names wanted, as in the event log (`requested`, `Joined`,"
        " `CallEnded`, ...), or `*` for all; an unknown name is refused",
    )
    timeout: float = Field(10.0, gt=0, le=120, description="seconds per POST")
    max_age: float = Field(
        24 * 3600.0,
        gt=0,
        description="seconds: an event whose attempt fails when it is older than this is given"
        " up (recorded `gave_up`), and the next one goes",
    )
    retry_initial: float = Field(1.0, gt=0, description="seconds before the first retry")
    retry_max: float = Field(300.0, gt=0, description="longest wait between retries")
    start: Literal["now", "beginning"] = Field(
        "now",
        description="where a subscription with no place in the store yet starts: `now`, the"
        " events from now on; `beginning`, the whole log; once it has one, it goes on from there",
    )

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.secret is None) == (self.secret_file is None):
            raise ValueError(f"webhook {self.name}: give either secret or secret_file")
        if self.secret is not None and len(self.secret.get_secret_value()) < MIN_SECRET:
            raise ValueError(f"webhook {self.name}: the secret needs {MIN_SECRET}+ characters")
        if self.retry_max < self.retry_initial:
            raise ValueError(f"webhook {self.name}: retry_max is below retry_initial")
        # A misspelt name would match nothing, and the subscription would stay silent.
        if unknown := sorted(set(self.events) - EVENT_NAMES - {"*"}):
            raise ValueError(
                f"webhook {self.name}: no event is named {', '.join(unknown)}"
                f" (known: {', '.join(sorted(EVENT_NAMES))}, or * for all)"
            )
        return self

    def event_names(self) -> frozenset[str] | None:
        """The events wanted; None: every one."""
        return None if "*" in self.events else frozenset(self.events)

    def key(self) -> bytes:
        """The HMAC key: the secret, or the file's content without surrounding whitespace.
        The file must be its owner's alone (no group or other bits: a key others can read
        lets them sign events): one that is not is refused, naming its mode."""
        if self.secret is not None:
            return self.secret.get_secret_value().encode()
        assert self.secret_file is not None
        try:
            with self.secret_file.open("rb") as file:
                mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)  # the file read, not a name
                if mode & 0o077:
                    raise ValueError(
                        f"webhook {self.name}: secret_file {self.secret_file} has mode "
                        f"{mode:04o}: group and others may read it; make it the owner's alone "
                        f"(chmod 0600 {self.secret_file})"
                    )
                text = file.read().decode().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"webhook {self.name}: cannot read secret_file: {exc}") from exc
        if len(text) < MIN_SECRET:
            raise ValueError(f"webhook {self.name}: the secret needs {MIN_SECRET}+ characters")
        return text.encode()


def _unique_names(subscriptions: list[WebhookSubscription]) -> list[WebhookSubscription]:
    names = [s.name for s in subscriptions]
    if doubled := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"webhook names must be unique: {', '.join(doubled)}")
    return subscriptions


# The settings' type: names key each subscription's cursor in the store.
Webhooks = Annotated[list[WebhookSubscription], AfterValidator(_unique_names)]
