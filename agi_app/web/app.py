"""The Live view, the agent panel, the supervisor API and /metrics (Starlette).

Every read of customer data needs a credential (web_auth): viewers and supervisors read all,
an agent reads its own screen-pop only; actions (cancel, reprioritize) need a supervisor and
go through the same transitions as AMI events, so they land in the event log with who did it.
The pages themselves hold no data: they ask for the token and send it as a bearer header.
Requests naming another Host (DNS rebinding) are refused before any of this.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from agi_app.api.routes import api_routes
from agi_app.config.credentials import Credentials, Principal, Role
from agi_app.config.settings import Settings
from agi_app.domain.request import CallbackRequest, CallOutcome, State
from agi_app.ivr.offer_check import QueueEstimates
from agi_app.serving import Serving
from agi_app.serving.all_servers import ServingSet
from agi_app.web.broadcast import Broadcaster, Snapshot, StreamLimits
from agi_app.web.pages import (
    PAGE_HEADERS,
    SecurityHeaders,
    asset,
    open_stream,
    refused,
    static_text,
)
from agi_app.web.supervisor import supervisor_routes


class _Action(BaseModel):
    by: str | None = Field(None, min_length=1, max_length=64)


class _Priority(_Action):
    level: int = Field(ge=1, le=10)


def _summary(request: CallbackRequest) -> dict[str, object]:
    return {
        "id": request.id,
        "state": request.state.value,
        "priority": request.priority,
        "call_outcome": request.call_outcome,
        "contact_outcome": request.contact_outcome,
    }


def _own(pops: dict[str, Any], principal: Principal) -> Snapshot:
    """What an agent may see: its own screen-pop, nothing of other callers."""
    mine = {a: pop for a, pop in pops.items() if a == principal.agent}
    return {"callbacks": [], "screen_pops": mine}


def allowed_hosts(settings: Settings) -> list[str]:
    return settings.web_allowed_hosts or [settings.web_host, "localhost", "127.0.0.1"]


def create_app(
    serving: Serving | ServingSet,
    settings: Settings,
    *,
    estimates: QueueEstimates | None = None,
) -> Starlette:
    """The web for one server's serving, or for several (ServingSet: the supervisor's screen
    and the request API's intake are the first server's)."""
    token = settings.web_token.get_secret_value() if settings.web_token else None
    credentials = Credentials(settings.web_credentials, token)

    async def snapshot() -> Snapshot:
        callbacks = await serving.live_view()
        # Each queue's expected wait (the offer check's estimate): the queues with callbacks
        # waiting, with calling hours, or asked about by an offer check.
        queues = {str(c["queue"]) for c in callbacks} | set(settings.queue_schedules)
        return {
            "callbacks": callbacks,
            "screen_pops": await serving.screen_pop_view(),
            "estimates": await estimates.live(queues) if estimates else {},
        }

    broadcaster = Broadcaster(snapshot, lambda: serving.changed)
    # The Live view's streams and the supervisor screen's, counted together (web_broadcast).
    limits = StreamLimits(settings.web_sse_max_clients)

    def who(request: Request) -> Principal | None:
        return credentials.identify(request.headers.get("authorization", ""))

    async def live(_request: Request) -> HTMLResponse:
        return HTMLResponse(static_text("live.html"), headers=PAGE_HEADERS)

    async def agents(_request: Request) -> HTMLResponse:
        return HTMLResponse(static_text("agents.html"), headers=PAGE_HEADERS)

    async def whoami(request: Request) -> JSONResponse:
        principal = who(request)
        if no := refused(principal, *Role):
            return no
        assert principal is not None
        return JSONResponse(
            {"name": principal.name, "role": principal.role, "agent": principal.agent}
        )

    async def callbacks(request: Request) -> JSONResponse:
        principal = who(request)
        if no := refused(principal, *Role):
            return no
        assert principal is not None
        if principal.reads_all:
            return JSONResponse(await snapshot())
        return JSONResponse(_own(await serving.screen_pop_view(), principal))

    async def events(request: Request) -> Response:
        principal = who(request)
        if no := refused(principal, *Role):
            return no
        assert principal is not None

        async def stream() -> AsyncIterator[bytes]:
            async for latest, encoded in broadcaster.updates():
                if principal.reads_all:  # encoded once for all clients
                    yield b"data: " + encoded + b"\n\n"
                else:
                    own = _own(latest["screen_pops"], principal)
                    yield f"data: {json.dumps(own)}\n\n".encode()

        return open_stream(limits, broadcaster, principal, stream)

    async def act(request: Request) -> JSONResponse:
        principal = who(request)
        if no := refused(principal, Role.SUPERVISOR):
            return no
        assert principal is not None
        request_id, action = request.path_params["request_id"], request.path_params["action"]
        if action not in ("cancel", "priority"):
            return JSONResponse({"error": f"no action {action!r}"}, status_code=404)
        acting = f"web:{principal.name}"  # kept apart from the free-text by
        try:
            body = await request.json() if await request.body() else {}
            if action == "cancel":
                by = _Action.model_validate(body).by or principal.name
                done = await serving.cancel(request_id, by, credential=acting)
            else:
                change = _Priority.model_validate(body)
                by = change.by or principal.name
                done = await serving.reprioritize(request_id, change.level, by, credential=acting)
        except (ValidationError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if done is None:
            return JSONResponse({"error": "no such request"}, status_code=404)
        took = (
            done.call_outcome is CallOutcome.CANCELLED
            if action == "cancel"
            else (done.priority == change.level and done.state is not State.DONE)
        )
        if not took:
            return JSONResponse({"error": "too late", **_summary(done)}, status_code=409)
        return JSONResponse(_summary(done))

    async def metrics(request: Request) -> Response:
        public = settings.web_metrics_public
        if not public and (no := refused(who(request), Role.VIEWER, Role.SUPERVISOR)):
            return no
        return Response(generate_latest(serving.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(
        routes=[
            Route("/", live),
            Route("/agents", agents),
            Route("/session.js", asset("session.js", "text/javascript")),
            Route("/live.js", asset("live.js", "text/javascript")),
            Route("/agents.js", asset("agents.js", "text/javascript")),
            Route("/app.css", asset("app.css", "text/css")),
            Route("/live.css", asset("live.css", "text/css")),
            Route("/agents.css", asset("agents.css", "text/css")),
            Route("/api/whoami", whoami),
            Route("/api/callbacks", callbacks),
            Route("/api/events", events),
            Route("/api/callbacks/{request_id}/{action:str}", act, methods=["POST"]),
            Route("/metrics", metrics),
            # The request API (its own tokens with scopes): agi_app/api/routes.py.
            *api_routes(serving, serving.views.store, settings),
            # The supervisor's screen (/supervisor): agi_app/web/supervisor.py.
            *supervisor_routes(
                serving.first if isinstance(serving, ServingSet) else serving,
                settings,
                credentials,
                limits,
            ),
        ],
        middleware=[
            Middleware(SecurityHeaders),  # outermost: on the Host refusals too
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings)),
        ],
    )
    app.state.broadcaster = broadcaster
    app.state.stream_limits = limits
    return app
