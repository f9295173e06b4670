"""A callback's voice message (the message option), played in the browser: the Live view and
the supervisor read any; an agent the callback that rang them or that they answered; the
request API with its read scope (CallbackOut.message_url). The file is read from the
recordings directory this service sees (voice_messages.local_dir, else asterisk_dir)."""

import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from agi_app.api.auth import Caller, allowed
from agi_app.api.routes import API
from agi_app.config.credentials import ApiPrincipal, Principal, Role, Scope
from agi_app.domain.request import CallbackRequest
from agi_app.web.pages import WEB

# What the IVR names a recording (ivr/voice_message.py): the request id and .wav, no path.
_NAME = re.compile(r"[A-Za-z0-9-]{1,64}\.wav")


def _file(directory: Path, found: CallbackRequest | None) -> Response:
    if found is None or not found.message:
        return JSONResponse({"error": "no such message"}, status_code=404)
    path = directory / found.message
    if not _NAME.fullmatch(found.message) or not path.is_file():
        return JSONResponse({"error": "message unavailable"}, status_code=404)
    # no-store: personal data, not to be kept by the browser or a proxy.
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "no-store"})


async def _lookup(request: Request) -> tuple[Path, CallbackRequest | None]:
    directory: Path = request.app.state.messages_dir
    request_id = request.path_params["request_id"]
    found = await request.app.state.live.serving.views.store.get(request_id[:64])
    return directory, found


@allowed(WEB, *Role)
async def _for_web(request: Request, principal: Principal) -> Response:
    directory, found = await _lookup(request)
    if found is not None and not principal.reads_all and found.agent != principal.agent:
        found = None  # another agent's callback: as if there were none
    return _file(directory, found)


@allowed(API, Scope.READ)
async def _for_api(request: Request, _principal: ApiPrincipal) -> Response:
    return _file(*await _lookup(request))


async def message(request: Request) -> Response:
    """GET /api/callbacks/{id}/message: the web's credential, else the API's."""
    caller = request.user
    if isinstance(caller, Caller) and caller.web is not None:
        return await _for_web(request)
    return await _for_api(request)


def message_routes() -> list[Route]:
    return [Route("/api/callbacks/{request_id}/message", message, methods=["GET"])]
