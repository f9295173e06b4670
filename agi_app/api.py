"""The request API: POST /api/callbacks, GET and DELETE /api/callbacks/{id}, and the OpenAPI
document at GET /api/openapi.json (mounted by agi_app.web).

Every input is hostile until checked, in this order, and a refusal changes nothing: the
token (401) and its scope (403), the Idempotency-Key (400), the media type (415), the size
(413, read no further than 16 KiB), the JSON (400), a key kept already (its answer again,
or 422 for another body), the fields (422), the domain's rules (422 with the refusal's
code), the rate limits (429). A request is answered 201 only once it is durable.
"""

import asyncio
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agi_app.api_intake import build_api_request
from agi_app.api_models import ApiError, CallbackDetail, CallbackIn, CallbackOut, Problem
from agi_app.domain.request import CallbackRequest, CallOutcome, State
from agi_app.errors import CallbackError, RateLimited, StoreUnavailable
from agi_app.openapi import openapi_document
from agi_app.serving import Serving
from agi_app.serving_set import ServingSet
from agi_app.settings import Settings
from agi_app.store_port import IdempotencyKey, KeptAnswer, RequestStore
from agi_app.web_auth import ApiCredentials, ApiPrincipal, Scope

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
_KEY = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,254}$")  # printable ASCII, 1..255
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Refused(Exception):
    """An answer other than success: its status and the ApiError body."""

    def __init__(
        self, status: int, error: str, message: str, details: list[Problem] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ApiError(error=error, message=message, details=details or [])


def _answer(status: int, model: CallbackOut, headers: dict[str, str] | None = None) -> JSONResponse:
    headers = {"Cache-Control": "no-store", **(headers or {})}
    return JSONResponse(model.model_dump(mode="json"), status_code=status, headers=headers)


def _refusal(refused: Refused) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if refused.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    body = refused.body.model_dump(mode="json")
    return JSONResponse(body, status_code=refused.status, headers=headers)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"a key is given twice: {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def parse_body(raw: bytes) -> tuple[CallbackIn, str]:
    """The payload and the SHA-256 of its canonical JSON (what an idempotency key is bound
    to: the same fields and values, however spaced or ordered)."""
    try:
        document = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Refused(400, "malformed-json", f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise Refused(400, "malformed-json", "the body must be a JSON object")
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    try:
        return CallbackIn.model_validate_json(raw), digest
    except ValidationError as exc:
        details = [
            Problem(field=".".join(str(p) for p in e["loc"]) or "body", problem=e["msg"])
            for e in exc.errors(include_url=False, include_input=False)
        ]
        summary = "; ".join(f"{d.field}: {d.problem}" for d in details)
        raise Refused(422, "invalid-request", summary, details) from None


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Refused(413, "body-too-large", f"the body may be at most {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:  # a chunked body says no length: count as it comes
            raise Refused(413, "body-too-large", f"the body may be at most {MAX_BODY} bytes")
    return bytes(body)


def api_routes(
    serving: Serving | ServingSet,
    store: RequestStore,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Route]:
    credentials = ApiCredentials(settings.api_credentials)
    limits = settings.rate_limits()
    background: set[asyncio.Task[None]] = set()
    document = openapi_document()

    def allowed(request: Request, scope: Scope) -> ApiPrincipal:
        principal = credentials.identify(request.headers.get("authorization", ""))
        if principal is None:
            raise Refused(401, "unauthorized", "a valid API bearer token is required")
        if scope not in principal.scopes:
            raise Refused(403, "forbidden", f"this token lacks the {scope} scope")
        return principal

    def endpoint(
        handle: Callable[[Request], Awaitable[JSONResponse]],
    ) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def answer(request: Request) -> JSONResponse:
            try:
                return await handle(request)
            except Refused as refused:
                log.warning(
                    "api %s %s refused %s: %s",
                    request.method,
                    request.url.path,
                    refused.status,
                    refused.body.message,
                )
                return _refusal(refused)

        return answer

    def idempotency_key(request: Request, principal: ApiPrincipal) -> tuple[str, str] | None:
        given = request.headers.getlist("idempotency-key")
        if not given:
            return None
        if len(given) > 1 or not _KEY.match(given[0]):
            raise Refused(
                400, "invalid-idempotency-key", "Idempotency-Key: one, of 1 to 255 printable ASCII"
            )
        return principal.name, given[0]

    async def replay(kept: KeptAnswer, digest: str) -> JSONResponse:
        if kept.body_sha256 != digest:
            raise Refused(
                422,
                "idempotency-key-reused",
                "this Idempotency-Key was used for another body: use a new key for a new request",
            )
        stored = await store.get(kept.request_id)
        if stored is None:
            raise Refused(503, "store-unavailable", "the request of this key is gone")
        return _created(stored, kept.status)

    def _created(stored: CallbackRequest, status: int) -> JSONResponse:
        location = {"Location": f"/api/callbacks/{stored.id}"}
        return _answer(status, CallbackOut.of(stored), location)

    @endpoint
    async def create(request: Request) -> JSONResponse:
        principal = allowed(request, Scope.REQUEST)
        keyed = idempotency_key(request, principal)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise Refused(415, "unsupported-media-type", "send the body as application/json")
        payload_raw = await _read_body(request)
        if keyed is not None and (kept := await store.kept_answer(*keyed)) is not None:
            return await replay(kept, parse_body(payload_raw)[1])
        payload, digest = parse_body(payload_raw)
        request_id = str(uuid.uuid4())
        try:
            new = build_api_request(payload, settings, request_id=request_id, now=clock())
            if keyed is None:
                stored = await store.add(new, limits)
            else:
                key = IdempotencyKey(*keyed, body_sha256=digest)
                stored, kept = await store.add_once(new, limits, key)
                if kept.request_id != request_id:  # a repeat, or a key kept just before
                    return await replay(kept, digest)
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
            task = asyncio.ensure_future(serving.request_stored(stored))
            background.add(task)
            task.add_done_callback(background.discard)
        return _created(stored, 201 if created else 200)

    async def known(request: Request) -> CallbackRequest:
        request_id = request.path_params["request_id"]
        found = await store.get(request_id) if _ID.match(request_id) else None
        if found is None:
            raise Refused(404, "not-found", f"no callback {request_id[:64]!r}")
        return found

    @endpoint
    async def read(request: Request) -> JSONResponse:
        allowed(request, Scope.READ)
        found = await known(request)
        return _answer(200, CallbackDetail.with_events(found, await store.events(found.id)))

    @endpoint
    async def cancel(request: Request) -> JSONResponse:
        principal = allowed(request, Scope.CANCEL)
        found = await known(request)
        if found.state is not State.DONE:
            found = await serving.cancel(found.id, principal.name) or found
        if found.call_outcome is not CallOutcome.CANCELLED:
            state = found.call_outcome or found.state.value
            raise Refused(409, "too-late", f"callback {found.id} cannot be cancelled: {state}")
        return _answer(200, CallbackOut.of(found))

    async def openapi(_request: Request) -> JSONResponse:
        return JSONResponse(document)

    return [
        Route("/api/callbacks", create, methods=["POST"]),
        Route("/api/callbacks/{request_id}", read, methods=["GET"]),
        Route("/api/callbacks/{request_id}", cancel, methods=["DELETE"]),
        Route("/api/openapi.json", openapi, methods=["GET"]),
    ]
