"""Who calls, and who may: Starlette's AuthenticationMiddleware with one backend that knows
the web's tokens and the API's, and ``allowed``, the one decorator every endpoint that needs a
credential names its callers with.

The two kinds of token stay apart: a web endpoint reads only the caller's web credential and
an API endpoint only its API credential, so a token of the other kind is no token there (401).
Starlette's own ``requires`` is not used: it answers a bare HTTPException (plain text) where
the clients and the OpenAPI document pin each refusal's body and headers, it needs all of its
scopes where a web endpoint admits any of several roles, and it has no step between knowing
the caller and checking its scope, where the API's rate limit per token (429) comes.
"""

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from agi_app.config.credentials import ApiCredentials, ApiPrincipal, Credentials, Principal


class Caller(BaseUser):
    """Whose a bearer token is: a web credential's, an API credential's, or both (one token
    listed in both settings works in both, as it did before this middleware)."""

    def __init__(self, web: Principal | None, api: ApiPrincipal | None) -> None:
        self.web, self.api = web, api

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.web.name if self.web else self.api.name if self.api else ""


class BearerTokens(AuthenticationBackend):
    """``Authorization: Bearer`` against both lists of credentials (hashes, compared in
    constant time: agi_app/config/credentials.py). Its scopes: the web credential's role
    (viewer, supervisor, agent) and the API credential's scopes (request, read, cancel, forget); the
    two sets share no name."""

    def __init__(self, web: Credentials, api: ApiCredentials) -> None:
        self._web, self._api = web, api

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        authorization = conn.headers.get("authorization", "")
        web, api = self._web.identify(authorization), self._api.identify(authorization)
        if web is None and api is None:
            return None  # Starlette's UnauthenticatedUser: every guarded endpoint answers 401
        scopes = ([str(web.role)] if web else []) + (sorted(api.scopes) if api else [])
        return AuthCredentials(scopes), Caller(web, api)


P = TypeVar("P")
Handler = Callable[[Request, P], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


class Realm(ABC, Generic[P]):
    """Endpoints with tokens of their own (the web's, the API's): which of the caller's
    principals they read, and how they word a refusal."""

    @abstractmethod
    def principal(self, caller: Caller) -> P | None: ...

    @abstractmethod
    def unauthorized(self, request: Request) -> Response: ...

    @abstractmethod
    def forbidden(self, request: Request, principal: P, scopes: tuple[str, ...]) -> Response: ...

    def admit(self, request: Request, principal: P) -> Response | None:
        """A refusal due before the scope check (the API's rate limit), or None."""
        return None


def allowed(realm: Realm[P], *scopes: str) -> Callable[[Handler[P]], Endpoint]:
    """The endpoint of ``handle(request, principal)`` for a caller of ``realm`` holding any
    of ``scopes``: else 401 (no credential of the realm), the realm's own early refusal, or
    403."""

    def decorate(handle: Handler[P]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            caller = request.user  # set by AuthenticationMiddleware (BearerTokens)
            principal = realm.principal(caller) if isinstance(caller, Caller) else None
            if principal is None:
                return realm.unauthorized(request)
            if (early := realm.admit(request, principal)) is not None:
                return early
            if not set(scopes) & set(request.auth.scopes):
                return realm.forbidden(request, principal, scopes)
            return await handle(request, principal)

        endpoint.__name__ = endpoint.__qualname__ = handle.__name__  # the route's name
        return endpoint

    return decorate
