"""The request API: POST /api/callbacks, GET and DELETE /api/callbacks/{id}, and the OpenAPI
document at GET /api/openapi.json (mounted by agi_app.web.app).

Every input is hostile until checked, in this order, and a refusal changes nothing: the
token (401), its rate (429, limits.py) and its scope (403), the Idempotency-Key (400),
the media type (415), the size (413, read no further than 16 KiB), the JSON (400), a key kept
already (its answer again, or 422 for another body), the fields (422), the domain's rules
(422 with the refusal's code), the per-number rate limits (429). A request is answered 201
only once it is durable.

An answer holds a callback's record (number, name, agent, times, outcomes) only for a token
with the read scope; any other gets its id and state (CallbackRef): a request token that
asks for a number someone else's callback waits for learns nothing of it.
"""

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Self

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ExceptionHandler

from agi_app.api.auth import Caller, Realm, allowed
from agi_app.api.config import ApiConfig
from agi_app.api.input import Refused, events_page, parse_body, read_body
from agi_app.api.intake import build_api_request
from agi_app.api.limits import TokenLimits
from agi_app.api.models import CallbackDetail, CallbackOut, CallbackRef
from agi_app.api.openapi import openapi_document
from agi_app.config.credentials import ApiPrincipal, Scope
from agi_app.domain.errors import CallbackError, RateLimited, StoreUnavailable
from agi_app.domain.request import CallbackRequest, CallOutcome, State
from agi_app.serving import Serving
from agi_app.serving.all_servers import ServingSet
from agi_app.serving.calling_rules import DoNotCallList
from agi_app.serving.privacy import PrivacyStore
from agi_app.store.port import IdempotencyKey, KeptAnswer, RequestStore

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,254}$")  # printable ASCII, 1..255
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ApiContext:
    """What the API's endpoints work on (``app.state.api``), made once with the app: the
    settings it started with (ApiConfig; a reload keeps them)."""

    serving: Serving | ServingSet
    store: RequestStore
    config: ApiConfig
    token_limits: TokenLimits
    clock: Callable[[], datetime]
    background: set[asyncio.Task[None]] = field(default_factory=set)  # placements under way
    personal: PrivacyStore | None = None  # the whole store, for erasure (None: not here)

    @classmethod
    def of(
        cls,
        serving: Serving | ServingSet,
        store: RequestStore,
        config: ApiConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        personal: PrivacyStore | None = None,
    ) -> Self:
        limits = TokenLimits(config.rate_limit_per_hour)
        return cls(serving, store, config, limits, clock, personal=personal)


def _api(request: Request) -> ApiContext:
    api: ApiContext = request.app.state.api
    return api


def _answer(
    status: int, model: CallbackOut | CallbackRef, headers: dict[str, str] | None = None
) -> JSONResponse:
    headers = {"Cache-Control": "no-store", **(headers or {})}
    return JSONResponse(model.model_dump(mode="json"), status_code=status, headers=headers)


def _shown(request: CallbackRequest, principal: ApiPrincipal) -> CallbackOut | CallbackRef:
    """The record for a token that may read it; its id and state for any other."""
    return CallbackOut.of(request) if Scope.READ in principal.scopes else CallbackRef.of(request)


def _refusal(request: Request, refused: Refused) -> JSONResponse:
    log.warning(
        "api %s %s refused %s: %s",
        request.method,
        request.url.path,
        refused.status,
        refused.body.message,
    )
    headers = {"Cache-Control": "no-store", **refused.headers}
    if refused.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    body = refused.body.model_dump(mode="json")
    return JSONResponse(body, status_code=refused.status, headers=headers)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)  # registered for Refused only
    return _refusal(request, exc)


# Every Refused an endpoint raises, answered as an ApiError (the app's exception handler).
API_EXCEPTION_HANDLERS: dict[type[Exception], ExceptionHandler] = {Refused: _refused}


class ApiRealm(Realm[ApiPrincipal]):
    """The API's endpoints (agi_app.api.auth.allowed): an API credential's scopes are its
    scopes, a web token is no token here, and the rate limit per token comes before the
    scope (a token over it learns nothing more)."""

    def principal(self, caller: Caller) -> ApiPrincipal | None:
        return caller.api

    def unauthorized(self, request: Request) -> Response:
        return _refusal(
            request, Refused(401, "unauthorized", "a valid API bearer token is required")
        )

    def admit(self, request: Request, principal: ApiPrincipal) -> Response | None:
        api = _api(request)
        if (wait := api.token_limits.retry_after(principal.name)) is None:
            return None
        most = api.config.rate_limit_per_hour
        message = f"this token made {most} requests within the hour: retry in {wait} s"
        headers = {"Retry-After": str(wait)}
        return _refusal(request, Refused(429, "too-many-requests", message, headers=headers))

    def forbidden(
        self, request: Request, principal: ApiPrincipal, scopes: tuple[str, ...]
    ) -> Response:
        lacks = " or ".join(scopes)
        return _refusal(request, Refused(403, "forbidden", f"this token lacks the {lacks} scope"))


API = ApiRealm()


def _idempotency_key(request: Request, principal: ApiPrincipal) -> tuple[str, str] | None:
    given = request.headers.getlist("idempotency-key")
    if not given:
        return None
    if len(given) > 1 or not _KEY.match(given[0]):
        raise Refused(
            400, "invalid-idempotency-key", "Idempotency-Key: one, of 1 to 255 printable ASCII"
        )
    return principal.name, given[0]


async def _replay(
    api: ApiContext, kept: KeptAnswer, digest: str, principal: ApiPrincipal
) -> JSONResponse:
    if kept.body_sha256 != digest:
        raise Refused(
            422,
            "idempotency-key-reused",
            "this Idempotency-Key was used for another body: use a new key for a new request",
        )
    stored = await api.store.get(kept.request_id)
    if stored is None:
        raise Refused(503, "store-unavailable", "the request of this key is gone")
    return _created(stored, kept.status, principal)


def _created(stored: CallbackRequest, status: int, principal: ApiPrincipal) -> JSONResponse:
    location = {"Location": f"/api/callbacks/{stored.id}"}
    return _answer(status, _shown(stored, principal), location)


@allowed(API, Scope.REQUEST)
async def create(request: Request, principal: ApiPrincipal) -> Response:
    api = _api(request)
    keyed = _idempotency_key(request, principal)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise Refused(415, "unsupported-media-type", "send the body as application/json")
    payload_raw = await read_body(request)
    now = api.clock()
    since = now - api.config.keys_kept  # a key kept before has expired (add_once purges it)
    if keyed is not None and (kept := await api.store.kept_answer(*keyed, since)) is not None:
        return await _replay(api, kept, parse_body(payload_raw)[1], principal)
    payload, digest = parse_body(payload_raw)
    request_id = str(uuid.uuid4())
    try:
        new = build_api_request(
            payload,
            api.config,
            request_id=request_id,
            now=now,
            requested_by=f"api:{principal.name}",
        )
        await DoNotCallList(api.store, api.config.calling_rules.do_not_call).check(
            new.callback_number
        )
        if keyed is None:
            stored = await api.store.add(new, api.config.limits)
        else:
            key = IdempotencyKey(*keyed, body_sha256=digest)
            stored, kept = await api.store.add_once(new, api.config.limits, key, since)
            if kept.request_id != request_id:  # a repeat, or a key kept just before
                return await _replay(api, kept, digest, principal)
    except RateLimited as exc:
        raise Refused(429, exc.code, exc.message) from None
    except StoreUnavailable as exc:
        raise Refused(503, exc.code, exc.message) from None
    except CallbackError as exc:
        raise Refused(422, exc.code, exc.message) from None
    created = stored.id == request_id
    log.info(
        "api callback %s id=%s by=%s queue=%s priority=%s number=%s",
        "stored" if created else "already stored",
        stored.id,
        principal.name,
        stored.queue,
        stored.priority,
        stored.callback_number,
    )
    if created:  # placed while the client reads the answer
        task = asyncio.ensure_future(api.serving.request_stored(stored))
        api.background.add(task)
        task.add_done_callback(api.background.discard)
    return _created(stored, 201 if created else 200, principal)


async def _known(api: ApiContext, request: Request) -> CallbackRequest:
    request_id = request.path_params["request_id"]
    found = await api.store.get(request_id) if _ID.match(request_id) else None
    if found is None:
        raise Refused(404, "not-found", f"no callback {request_id[:64]!r}")
    return found


@allowed(API, Scope.READ)
async def read(request: Request, _principal: ApiPrincipal) -> Response:
    api = _api(request)
    after, limit = events_page(request.query_params)
    found = await _known(api, request)
    # One more than the page: whether another follows, without counting them all.
    page = await api.store.request_events(found.id, after, limit + 1)
    following = page[limit - 1].seq if len(page) > limit else None
    return _answer(200, CallbackDetail.with_events(found, page[:limit], following))


@allowed(API, Scope.CANCEL)
async def cancel(request: Request, principal: ApiPrincipal) -> Response:
    api = _api(request)
    found = await _known(api, request)
    if found.state is not State.DONE:
        acting = f"api:{principal.name}"
        found = await api.serving.cancel(found.id, principal.name, credential=acting) or found
    if found.call_outcome is not CallOutcome.CANCELLED:
        reads = Scope.READ in principal.scopes  # an outcome is the record's
        state = (found.call_outcome if reads else None) or found.state.value
        raise Refused(409, "too-late", f"callback {found.id} cannot be cancelled: {state}")
    return _answer(200, _shown(found, principal))


async def openapi(_request: Request) -> JSONResponse:
    return JSONResponse(openapi_document())


def api_routes() -> list[Route]:
    """Its endpoints read ``app.state.api`` (an ApiContext) and need the app to answer a
    Refused with API_EXCEPTION_HANDLERS."""
    return [
        Route("/api/callbacks", create, methods=["POST"]),
        Route("/api/callbacks/{request_id}", read, methods=["GET"]),
        Route("/api/callbacks/{request_id}", cancel, methods=["DELETE"]),
        Route("/api/openapi.json", openapi, methods=["GET"]),
    ]
