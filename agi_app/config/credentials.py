"""Who may read and steer through the web: named credentials, each with a role.

A credential is a random bearer token; the settings keep only its SHA-256 (the token is 256
random bits, so a slow hash would add cost per request and no safety). ``web_token``
(CALLBACK_WEB_TOKEN) stays a supervisor token for compatibility.

    python -m agi_app.config.credentials NAME ROLE [AGENT]   # a new token and its settings entry
    python -m agi_app.config.credentials NAME api SCOPE[,SCOPE...]  # an API token

API tokens (the request API, agi_app.api.routes) are a list of their own with scopes: they are no
web role, so an API token reads nothing of the Live view, and a web token calls no API.
"""

import hashlib
import hmac
import secrets
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import Self, TypeVar

from pydantic import BaseModel, Field, model_validator


class Role(StrEnum):
    VIEWER = "viewer"  # reads every callback and screen-pop
    SUPERVISOR = "supervisor"  # reads, and cancels or reprioritizes
    AGENT = "agent"  # reads its own screen-pop only


class WebCredential(BaseModel):
    name: str = Field(
        pattern=r"^[A-Za-z0-9_.@-]{1,64}$",
        description="the credential's name: its actions' default `by` and their `credential`"
        " (`web:NAME`) in the event log; its live streams are counted by it",
    )
    role: Role = Field(
        description="`viewer` reads every callback and screen-pop; `supervisor` also cancels"
        " and reprioritizes callbacks and pauses agents; `agent` reads its own screen-pop only"
    )
    token_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="the SHA-256 of its bearer token, in lower-case hex (the token itself is"
        " not kept)",
    )
    agent: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]+/[A-Za-z0-9_.@-]+$",
        description="the agent's member interface (`PJSIP/agent1`), whose screen-pop it reads:"
        " required with role `agent`, refused with another role",
    )
    max_streams: int | None = Field(
        None,
        ge=1,
        description="live streams it may hold open at once (at most web_sse_max_clients);"
        " unset: 10",
    )

    @model_validator(mode="after")
    def _agent_iff_agent_role(self) -> Self:
        if (self.role is Role.AGENT) != (self.agent is not None):
            raise ValueError("an agent credential, and only one, names its agent interface")
        return self


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    agent: str | None = None
    max_streams: int | None = None  # None: the default per credential (web_broadcast)

    @property
    def reads_all(self) -> bool:
        return self.role is not Role.AGENT


class Scope(StrEnum):
    REQUEST = "request"  # POST /api/callbacks
    READ = "read"  # GET /api/callbacks/{id}
    CANCEL = "cancel"  # DELETE /api/callbacks/{id}
    FORGET = "forget"  # POST /api/forget: erase one person's personal data
    DO_NOT_CALL = "do-not-call"  # GET, POST /api/do-not-call, DELETE /api/do-not-call/{entry}


class ApiCredential(BaseModel):
    name: str = Field(
        pattern=r"^[A-Za-z0-9_.@-]{1,64}$",
        description="the token's name, unique: `by` and `credential` (`api:NAME`) in the event"
        " log, a request's `requested_by`; its idempotency keys and rate limit go by it",
    )
    token_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="the SHA-256 of its bearer token, in lower-case hex (the token itself is"
        " not kept)",
    )
    scopes: frozenset[Scope] = Field(
        min_length=1,
        description="what it may call: `request` (POST /api/callbacks), `read` (GET"
        " /api/callbacks/{id}, and the whole callback in the other answers), `cancel` (DELETE"
        " /api/callbacks/{id}), `forget` (POST /api/forget: erase a person's data),"
        " `do-not-call` (read and edit the do-not-call list: /api/do-not-call)",
    )


def unique_names(credentials: list[ApiCredential]) -> list[ApiCredential]:
    """Names key the idempotency keys: two credentials may not share one."""
    names = [c.name for c in credentials]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"api_credentials names used twice: {', '.join(twice)}")
    return credentials


@dataclass(frozen=True)
class ApiPrincipal:
    name: str
    scopes: frozenset[Scope]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_P = TypeVar("_P")


def _bearer(known: list[tuple[bytes, _P]], authorization: str) -> _P | None:
    """Whose token an ``Authorization: Bearer`` header value carries, among ``known``."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    given = hashlib.sha256(token.strip().encode()).digest()
    found: _P | None = None
    for digested, principal in known:  # no early exit: the time does not tell which
        if hmac.compare_digest(given, digested):
            found = principal
    return found


class Credentials:
    def __init__(self, credentials: list[WebCredential], supervisor_token: str | None) -> None:
        self._known = [
            (bytes.fromhex(c.token_sha256), Principal(c.name, c.role, c.agent, c.max_streams))
            for c in credentials
        ]
        if supervisor_token:
            self._known.append(
                (bytes.fromhex(digest(supervisor_token)), Principal("web_token", Role.SUPERVISOR))
            )

    def identify(self, authorization: str) -> Principal | None:
        """The principal of an ``Authorization: Bearer`` header value, or None."""
        return _bearer(self._known, authorization)


class ApiCredentials:
    def __init__(self, credentials: list[ApiCredential]) -> None:
        self._known = [
            (bytes.fromhex(c.token_sha256), ApiPrincipal(c.name, c.scopes)) for c in credentials
        ]

    def identify(self, authorization: str) -> ApiPrincipal | None:
        """The API principal of an ``Authorization: Bearer`` header value, or None."""
        return _bearer(self._known, authorization)


def _api_entry(name: str, scopes: str) -> int:
    token = secrets.token_urlsafe(32)
    entry = ApiCredential.model_validate(
        {"name": name, "token_sha256": digest(token), "scopes": scopes.split(",")}
    )
    print(f"token (give it to {entry.name}; it is not stored): {token}")
    print("settings entry (callback.toml):")
    listed = ", ".join(f'"{s}"' for s in sorted(entry.scopes))
    print(f'[[api_credentials]]\nname = "{entry.name}"\ntoken_sha256 = "{entry.token_sha256}"')
    print(f"scopes = [{listed}]")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "api":
        return _api_entry(argv[0], argv[2])
    if len(argv) not in (2, 3) or argv[1] not in set(Role):
        print("usage: python -m agi_app.config.credentials NAME viewer|supervisor|agent [AGENT]")
        print("       python -m agi_app.config.credentials NAME api request,read,cancel,forget")
        return 2
    token = secrets.token_urlsafe(32)
    entry = WebCredential(
        name=argv[0],
        role=Role(argv[1]),
        token_sha256=digest(token),
        agent=argv[2] if len(argv) == 3 else None,
    )
    print(f"token (give it to {entry.name}; it is not stored): {token}")
    print("settings entry (callback.toml):")
    print("[[web_credentials]]")
    print(f'name = "{entry.name}"\nrole = "{entry.role}"\ntoken_sha256 = "{entry.token_sha256}"')
    if entry.agent:
        print(f'agent = "{entry.agent}"')
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
