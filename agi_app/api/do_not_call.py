"""The do-not-call list over the API (scope ``do-not-call``): GET /api/do-not-call lists it
(the settings' entries and the store's), POST adds an entry (``{"entry": "+44..."}``),
DELETE /api/do-not-call/{entry} removes one the command line or the API added.

An entry is checked as the command line checks it (domain/calling_rules.py); a refused one
changes nothing. Serving hears of an addition at once: a callback waiting for that number
ends without a dial (serving/calling_rules.py).
"""

import json

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agi_app.api.auth import allowed
from agi_app.api.do_not_call_models import (
    DoNotCallEntryOut,
    DoNotCallIn,
    DoNotCallList,
    DoNotCallRemoved,
)
from agi_app.api.input import Refused, read_body
from agi_app.api.routes import API, ApiContext
from agi_app.config.credentials import ApiPrincipal, Scope
from agi_app.domain.calling_rules import DoNotCallEntry, do_not_call_entry
from agi_app.domain.errors import InvalidNumber, StoreUnavailable

_HEADERS = {"Cache-Control": "no-store"}


def _api(request: Request) -> ApiContext:
    api: ApiContext = request.app.state.api
    return api


def _entry(raw: object, api: ApiContext) -> str:
    if not isinstance(raw, str) or len(raw) > 40:
        raise Refused(422, "invalid-entry", "entry: a number in E.164, or a prefix ending in *")
    try:
        return do_not_call_entry(raw, api.config.number_rules.region)
    except InvalidNumber as exc:
        raise Refused(422, "invalid-entry", exc.message) from None


def _shown(entry: DoNotCallEntry, added: bool | None = None) -> DoNotCallEntryOut:
    return DoNotCallEntryOut(
        entry=entry.entry, added_at=entry.added_at, added_by=entry.added_by, added=added
    )


def _answer(model: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json", exclude_none=True), status, _HEADERS)


def _rules_changed(api: ApiContext) -> None:
    api.serving.rules_changed()


@allowed(API, Scope.DO_NOT_CALL)
async def listed(request: Request, _principal: ApiPrincipal) -> Response:
    api = _api(request)
    try:
        stored = await api.store.do_not_call()
    except StoreUnavailable as exc:
        raise Refused(503, exc.code, exc.message) from None
    settings = list(api.config.calling_rules.do_not_call)
    return _answer(DoNotCallList(settings=settings, added=[_shown(e) for e in stored]))


@allowed(API, Scope.DO_NOT_CALL)
async def add(request: Request, principal: ApiPrincipal) -> Response:
    api = _api(request)
    try:
        document = json.loads(await read_body(request))
    except ValueError:
        raise Refused(400, "malformed-json", "the body is not JSON") from None
    try:
        given = DoNotCallIn.model_validate(document, strict=True)
    except ValidationError:
        raise Refused(422, "invalid-entry", 'the body is {"entry": "+..."}') from None
    entry = DoNotCallEntry(_entry(given.entry, api), api.clock(), f"api:{principal.name}")
    try:
        added = await api.store.add_do_not_call(entry)
    except StoreUnavailable as exc:
        raise Refused(503, exc.code, exc.message) from None
    _rules_changed(api)
    return _answer(_shown(entry, added), 201 if added else 200)


@allowed(API, Scope.DO_NOT_CALL)
async def remove(request: Request, _principal: ApiPrincipal) -> Response:
    api = _api(request)
    entry = _entry(request.path_params["entry"], api)
    try:
        removed = await api.store.remove_do_not_call(entry)
    except StoreUnavailable as exc:
        raise Refused(503, exc.code, exc.message) from None
    if not removed:
        settings = entry in api.config.calling_rules.do_not_call
        where = "is in the settings (edit them)" if settings else "is not on the list"
        raise Refused(404, "not-found", f"{entry} {where}")
    return _answer(DoNotCallRemoved(entry=entry, removed=True))


def do_not_call_routes() -> list[Route]:
    return [
        Route("/api/do-not-call", listed, methods=["GET"]),
        Route("/api/do-not-call", add, methods=["POST"]),
        Route("/api/do-not-call/{entry:path}", remove, methods=["DELETE"]),
    ]
