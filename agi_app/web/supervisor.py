"""The supervisor's screen: its page, its snapshot and live stream, and pausing members.

Reads need a viewer or a supervisor (an agent's credential reads its own screen-pop only, so
it gets 403 here); pausing and unpausing need a supervisor. A pause names a queue and an
interface that must be a member of that queue as Asterisk lists it right now: only Asterisk's
own spelling of the member is sent back to it. The action lands in Asterisk's queue_log
(PAUSE / UNPAUSE with the reason "supervisor <name>[: reason]"), the centre's event log of
agents, and in the service's log.
"""

import logging

from panoramisk.message import Message
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from agi_app.api.auth import allowed
from agi_app.config.credentials import Principal, Role
from agi_app.pbx.ami import AmiError
from agi_app.serving import Serving
from agi_app.web.broadcast import Broadcaster
from agi_app.web.config import SupervisorConfig
from agi_app.web.pages import PAGE_HEADERS, WEB, asset, open_stream, static_text
from agi_app.web.supervisor_view import SupervisorView

log = logging.getLogger(__name__)

_READERS = (Role.VIEWER, Role.SUPERVISOR)


class _Pause(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    queue: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    interface: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}/[A-Za-z0-9_.@-]{1,64}$")
    paused: bool
    reason: str = Field("", pattern=r"^[A-Za-z0-9 _.,:-]{0,40}$")


class SupervisorScreen:
    """What the screen's endpoints work on: the first server's serving (its AMI link for
    pauses), the view, and one snapshot for every stream (its Broadcaster)."""

    def __init__(self, serving: Serving, config: SupervisorConfig) -> None:
        self.serving = serving
        self.view = SupervisorView(serving, config)
        self.broadcaster = Broadcaster(self.view.snapshot, lambda: serving.changed)


def _screen(request: Request) -> SupervisorScreen:
    screen: SupervisorScreen = request.app.state.supervisor
    return screen


async def page(_request: Request) -> Response:
    return HTMLResponse(static_text("supervisor.html"), headers=PAGE_HEADERS)


@allowed(WEB, *_READERS)
async def snapshot(request: Request, _principal: Principal) -> Response:
    view = _screen(request).view
    return JSONResponse(await view.snapshot(), headers={"Cache-Control": "no-store"})


@allowed(WEB, *_READERS)
async def events(request: Request, principal: Principal) -> Response:
    return open_stream(request, principal, _screen(request).broadcaster)


def _member(status: list[Message], asked: _Pause) -> str | None:
    """Asterisk's own spelling of the asked member of the asked queue, if it lists one."""
    return next(
        (
            str(m.get("Location") or m.get("StateInterface"))
            for m in status
            if m.get("Event") == "QueueMember"
            and m.get("Queue") == asked.queue
            and asked.interface in (m.get("StateInterface"), m.get("Location"))
        ),
        None,
    )


@allowed(WEB, Role.SUPERVISOR)
async def pause(request: Request, who: Principal) -> Response:
    serving = _screen(request).serving
    try:
        asked = _Pause.model_validate_json(await request.body())
    except ValidationError as exc:
        log.warning("supervisor %s: pause refused: %s", who.name, exc.errors()[0]["msg"])
        return JSONResponse({"error": "invalid pause request"}, status_code=400)
    try:
        member = _member(await serving.pbx.queue_status(asked.queue), asked)
        if member is None:
            log.warning(
                "supervisor %s: %s is not a member of %s", who.name, asked.interface, asked.queue
            )
            return JSONResponse({"error": "no such member of that queue"}, status_code=404)
        reason = f"supervisor {who.name}" + (f": {asked.reason}" if asked.reason else "")
        await serving.pbx.ami.send(
            {
                "Action": "QueuePause",
                "Queue": asked.queue,
                "Interface": member,
                "Paused": "true" if asked.paused else "false",
                "Reason": reason,
            }
        )
    except AmiError as exc:
        log.warning("supervisor %s: pause of %s failed: %s", who.name, asked.interface, exc)
        return JSONResponse({"error": "Asterisk did not take it; try again"}, status_code=503)
    log.info(
        "supervisor %s %s %s in queue %s",
        who.name,
        "paused" if asked.paused else "unpaused",
        member,
        asked.queue,
    )
    return JSONResponse({"queue": asked.queue, "interface": member, "paused": asked.paused})


def supervisor_routes() -> list[Route]:
    """Its endpoints read ``app.state.supervisor`` (a SupervisorScreen) and the web server's
    ``stream_limits``, shared with the Live view's streams."""
    return [
        Route("/supervisor", page),
        Route("/supervisor.js", asset("supervisor.js", "text/javascript")),
        Route("/supervisor.css", asset("supervisor.css", "text/css")),
        Route("/api/supervisor", snapshot),
        Route("/api/supervisor/events", events),
        Route("/api/supervisor/pause", pause, methods=["POST"]),
    ]
