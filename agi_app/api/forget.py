"""POST /api/forget (the API's forget scope, and ``agi-callback forget NUMBER``): one
person's personal data erased from everything the service keeps (agi_app/serving/privacy.py).

The number travels in the body, never in the URL (which access logs and proxies keep). The
answer says how many callbacks held it and how many waiting ones were cancelled; refusals
change nothing: 422 for what is no number, 409 while one of the person's calls is on.
"""

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agi_app.api.auth import allowed
from agi_app.api.forget_models import ForgetIn, ForgetOut
from agi_app.api.input import Refused, invalid, read_body
from agi_app.api.routes import API, _api
from agi_app.config.credentials import ApiPrincipal, Scope
from agi_app.domain.errors import CallbackError, StoreUnavailable
from agi_app.domain.privacy import forget_numbers
from agi_app.domain.request import CallbackRequest
from agi_app.serving.privacy import CallUnderWay, erase


def _parsed(raw: bytes) -> ForgetIn:
    try:
        return ForgetIn.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid(exc) from None


@allowed(API, Scope.FORGET)
async def forget(request: Request, principal: ApiPrincipal) -> Response:
    api = _api(request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise Refused(415, "unsupported-media-type", "send the body as application/json")
    asked = _parsed(await read_body(request))
    if api.personal is None:
        raise Refused(503, "store-unavailable", "erasure is not available in this process")
    try:
        numbers = forget_numbers(asked.number, api.config.number_rules)
    except CallbackError as exc:
        raise Refused(422, exc.code, exc.message) from None
    acting = f"api:{principal.name}"

    async def cancel(request_id: str) -> CallbackRequest | None:
        return await api.serving.cancel(request_id, principal.name, credential=acting)

    try:
        done = await erase(
            api.personal,
            numbers,
            cancel=cancel,
            at=api.clock(),
            by=acting,
            files_dir=api.config.messages_dir,
        )
    except CallUnderWay as exc:
        raise Refused(409, "call-under-way", str(exc)) from None
    except StoreUnavailable as exc:
        raise Refused(503, exc.code, exc.message) from None
    answer = ForgetOut(requests=done.requests, cancelled=done.cancelled)
    return JSONResponse(answer.model_dump(), headers={"Cache-Control": "no-store"})
