"""Web credentials: who a bearer token is, from hashes alone; the middleware's backend that
tells a web token from an API token, and the one decorator that admits or refuses a caller."""

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agi_app.api.auth import BearerTokens, Caller, Realm, allowed
from agi_app.config.credentials import (
    ApiCredential,
    ApiCredentials,
    ApiPrincipal,
    Credentials,
    Principal,
    Role,
    Scope,
    WebCredential,
    digest,
)
from agi_app.config.settings import Settings
from agi_app.web.pages import WEB


def credential(name: str, role: str, token: str, agent: str | None = None) -> WebCredential:
    return WebCredential.model_validate(
        {"name": name, "role": role, "token_sha256": digest(token), "agent": agent}
    )


def test_each_token_is_its_own_principal_and_others_are_nobody() -> None:
    known = Credentials(
        [
            credential("wall", "viewer", "view-token"),
            credential("ann", "supervisor", "boss-token"),
            credential("a1", "agent", "agent1-token", "PJSIP/agent1"),
        ],
        supervisor_token="legacy-token",
    )
    assert known.identify("Bearer view-token") == Principal("wall", Role.VIEWER)
    assert known.identify("Bearer boss-token") == Principal("ann", Role.SUPERVISOR)
    assert known.identify("bearer agent1-token") == Principal("a1", Role.AGENT, "PJSIP/agent1")
    assert known.identify("Bearer legacy-token") == Principal("web_token", Role.SUPERVISOR)
    wrong = ("", "Bearer", "Bearer ", "Bearer view-tokenx", "Basic view-token", "view-token")
    for refused in wrong:
        assert known.identify(refused) is None


def test_no_credentials_lets_nobody_in() -> None:
    assert Credentials([], supervisor_token=None).identify("Bearer ") is None
    assert Credentials([], supervisor_token="").identify("Bearer ") is None


def test_settings_hold_hashes_not_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    entry = {"name": "a2", "role": "agent", "token_sha256": digest("t"), "agent": "PJSIP/agent2"}
    monkeypatch.setenv("CALLBACK_WEB_CREDENTIALS", f"[{str(entry).replace(chr(39), chr(34))}]")
    (loaded,) = Settings().web_credentials
    assert (loaded.role, loaded.agent) == (Role.AGENT, "PJSIP/agent2")
    with pytest.raises(ValidationError):  # a plain token where its hash belongs
        WebCredential.model_validate({"name": "x", "role": "viewer", "token_sha256": "secret"})
    with pytest.raises(ValidationError):  # an agent credential names its interface
        WebCredential.model_validate({"name": "x", "role": "agent", "token_sha256": digest("t")})
    with pytest.raises(ValidationError):  # and only an agent credential does
        credential("x", "viewer", "t", "PJSIP/agent1")


def api_credential(name: str, token: str, scopes: list[str]) -> ApiCredential:
    return ApiCredential.model_validate(
        {"name": name, "token_sha256": digest(token), "scopes": scopes}
    )


TOKENS = BearerTokens(
    Credentials(
        [credential("wall", "viewer", "view-token"), credential("ann", "viewer", "both-token")],
        supervisor_token="boss-token",
    ),
    ApiCredentials(
        [
            api_credential("crm", "api-token", ["read"]),
            api_credential("ann", "both-token", ["read"]),
        ]
    ),
)


def connection(authorization: str) -> HTTPConnection:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    return HTTPConnection({"type": "http", "headers": headers})


async def test_the_backend_gives_each_kind_of_token_its_scopes() -> None:
    assert await TOKENS.authenticate(connection("")) is None
    assert await TOKENS.authenticate(connection("Bearer nobody")) is None
    reads, ann = frozenset({Scope.READ}), "ann"
    for token, web, api, scopes in [
        ("boss-token", Principal("web_token", Role.SUPERVISOR), None, ["supervisor"]),
        ("api-token", None, ApiPrincipal("crm", reads), ["read"]),
        # One token listed in both: each kind of endpoint reads its own principal.
        ("both-token", Principal(ann, Role.VIEWER), ApiPrincipal(ann, reads), ["viewer", "read"]),
    ]:  # fmt: skip
        found = await TOKENS.authenticate(connection(f"Bearer {token}"))
        assert found is not None
        credentials, caller = found
        assert isinstance(caller, Caller) and (caller.web, caller.api) == (web, api)
        assert credentials.scopes == scopes


class Busy(Realm[Principal]):
    """The web's words, and an early refusal for the credential named "wall" (as the API's
    rate limit): it comes after 401 and before 403."""

    def principal(self, caller: Caller) -> Principal | None:
        return caller.web

    def unauthorized(self, request: Request) -> Response:
        return WEB.unauthorized(request)

    def forbidden(
        self, request: Request, principal: Principal, scopes: tuple[str, ...]
    ) -> Response:
        return JSONResponse({"lacks": list(scopes)}, status_code=403)

    def admit(self, request: Request, principal: Principal) -> Response | None:
        return JSONResponse({}, status_code=429) if principal.name == "wall" else None


@allowed(WEB, Role.SUPERVISOR, Role.AGENT)
async def steer(_request: Request, principal: Principal) -> Response:
    return JSONResponse({"name": principal.name})


@allowed(Busy(), Role.SUPERVISOR)
async def busy(_request: Request, principal: Principal) -> Response:
    return JSONResponse({"name": principal.name})


async def test_an_endpoint_admits_its_roles_and_words_each_refusal() -> None:
    app = Starlette(
        routes=[Route("/steer", steer), Route("/busy", busy)],
        middleware=[Middleware(AuthenticationMiddleware, backend=TOKENS)],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

        async def call(path: str, token: str | None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return await client.get(path, headers=headers)

        admitted = await call("/steer", "boss-token")
        assert (admitted.status_code, admitted.json()) == (200, {"name": "web_token"})
        for token in (None, "nobody", "api-token"):  # an API token is no web token
            refused = await call("/steer", token)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert refused.json() == {"error": "a valid bearer token is required"}
        refused = await call("/steer", "both-token")  # a viewer, whatever its API scopes
        assert (refused.status_code, refused.json()) == (403, {"error": "a viewer may not"})
        assert (await call("/busy", None)).status_code == 401
        assert (await call("/busy", "view-token")).status_code == 429  # before its scope
        refused = await call("/busy", "both-token")
        assert (refused.status_code, refused.json()) == (403, {"lacks": ["supervisor"]})
