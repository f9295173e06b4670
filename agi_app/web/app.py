"""The Live view, the agent panel, the supervisor API and /metrics (Starlette).

Every read of customer data needs a credential (web_auth): viewers and supervisors read all,
an agent reads its own screen-pop only; actions (cancel, reprioritize) need a supervisor and
go through the same transitions as AMI events, so they land in the event log with who did it.
The pages themselves hold no data: they ask for the token and send it as a bearer header.
Requests naming another Host (DNS rebinding) are refused before any of this.

Who calls is known once per request (AuthenticationMiddleware, agi_app.api.auth), and each
endpoint names who may call it (``allowed``); the endpoints are plain functions that read what
they work on from ``app.state``, set here once.
"""

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from agi_app.api.auth import BearerTokens, allowed
from agi_app.api.do_not_call import do_not_call_routes
from agi_app.api.forget import forget
from agi_app.api.forget_models import FORGET_PATH
from agi_app.api.routes import API_EXCEPTION_HANDLERS, ApiContext, api_routes
from agi_app.config.credentials import Principal, Role
from agi_app.domain.request import CallbackRequest, CallOutcome, State
from agi_app.serving import Serving
from agi_app.serving.all_servers import ServingSet
from agi_app.serving.estimates import QueueEstimates
from agi_app.serving.privacy import PrivacyStore
from agi_app.web.broadcast import Broadcaster, Snapshot, StreamLimits
from agi_app.web.config import WebConfig
from agi_app.web.messages import message_routes
from agi_app.web.pages import (
    PAGE_HEADERS,
    WEB,
    SecurityHeaders,
    asset,
    open_stream,
    static_text,
)
from agi_app.web.supervisor import SupervisorScreen, supervisor_routes


class _Action(BaseModel):
    by: str | None = Field(None, min_length=1, max_length=64)


class _Priority(_Action):
    level: int = Field(ge=1, le=10)


class _Disposition(_Action):
    code: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")


class LiveView:
    """What the Live view's and the agent panel's endpoints work on: the serving they show and
    steer, and one snapshot for every stream (its Broadcaster)."""

    def __init__(
        self,
        serving: Serving | ServingSet,
        scheduled_queues: frozenset[str],
        estimates: QueueEstimates | None,
        disposition_codes: tuple[str, ...] = (),
    ) -> None:
        self.serving, self.scheduled_queues, self.estimates = serving, scheduled_queues, estimates
        self.disposition_codes = disposition_codes
        self.broadcaster = Broadcaster(self.snapshot, lambda: serving.changed)

    async def snapshot(self) -> Snapshot:
        callbacks = await self.serving.live_view()
        # Each queue's expected wait (the offer check's estimate): the queues with callbacks
        # waiting, with calling hours, or asked about by an offer check.
        queues = {str(c["queue"]) for c in callbacks} | self.scheduled_queues
        return {
            "callbacks": callbacks,
            "screen_pops": await self.serving.screen_pop_view(),
            # Wrap-up codes to give, when the settings list some (the agent panel's).
            "wrap_ups": await self.serving.wrap_up_view() if self.disposition_codes else {},
            "estimates": await self.estimates.live(queues) if self.estimates else {},
        }


def _live(request: Request) -> LiveView:
    live: LiveView = request.app.state.live
    return live


def _summary(request: CallbackRequest) -> dict[str, object]:
    return {
        "id": request.id,
        "state": request.state.value,
        "priority": request.priority,
        "call_outcome": request.call_outcome,
        "contact_outcome": request.contact_outcome,
    }


def _own(snapshot: Snapshot, principal: Principal) -> Snapshot:
    """What an agent may see: its own screen-pop and wrap-up, nothing of other callers."""
    return {
        "callbacks": [],
        "screen_pops": {a: p for a, p in snapshot["screen_pops"].items() if a == principal.agent},
        "wrap_ups": {a: w for a, w in snapshot["wrap_ups"].items() if a == principal.agent},
    }


async def live_page(_request: Request) -> HTMLResponse:
    return HTMLResponse(static_text("live.html"), headers=PAGE_HEADERS)


async def agents_page(_request: Request) -> HTMLResponse:
    return HTMLResponse(static_text("agents.html"), headers=PAGE_HEADERS)


@allowed(WEB, *Role)
async def whoami(request: Request, principal: Principal) -> Response:
    codes = list(_live(request).disposition_codes)  # the agent panel's wrap-up choices
    who = {"name": principal.name, "role": principal.role, "agent": principal.agent}
    return JSONResponse({**who, "disposition_codes": codes})


@allowed(WEB, *Role)
async def callbacks(request: Request, principal: Principal) -> Response:
    live = _live(request)
    if principal.reads_all:
        return JSONResponse(await live.snapshot())
    return JSONResponse(_own(await live.snapshot(), principal))


@allowed(WEB, *Role)
async def events(request: Request, principal: Principal) -> Response:
    broadcaster = _live(request).broadcaster
    if principal.reads_all:
        return open_stream(request, principal, broadcaster)
    return open_stream(request, principal, broadcaster, lambda s: _own(s, principal))


@allowed(WEB, Role.SUPERVISOR)
async def act(request: Request, principal: Principal) -> Response:
    serving = _live(request).serving
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


@allowed(WEB, Role.AGENT, Role.SUPERVISOR)
async def dispose(request: Request, principal: Principal) -> Response:
    """The call's wrap-up code: by the agent who answered it (any other agent learns nothing
    of it: 404), or a supervisor."""
    live = _live(request)
    request_id = request.path_params["request_id"]
    try:
        body = await request.json() if await request.body() else {}
        change = _Disposition.model_validate(body)
    except (ValidationError, ValueError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    if change.code not in live.disposition_codes:
        known = ", ".join(live.disposition_codes) or "none"
        return JSONResponse({"error": f"no code {change.code!r} (known: {known})"}, status_code=400)
    found = await live.serving.views.store.get(request_id)
    if found is None or not (principal.reads_all or found.agent == principal.agent):
        return JSONResponse({"error": "no such request"}, status_code=404)
    by = change.by or principal.name
    done = await live.serving.dispose(
        request_id, change.code, by, credential=f"web:{principal.name}"
    )
    if done is None or done.disposition != change.code:
        return JSONResponse({"error": "no agent answered it", **_summary(found)}, status_code=409)
    return JSONResponse({**_summary(done), "disposition": done.disposition})


async def public_metrics(request: Request) -> Response:
    registry = _live(request).serving.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@allowed(WEB, Role.VIEWER, Role.SUPERVISOR)
async def metrics(request: Request, _principal: Principal) -> Response:
    return await public_metrics(request)


def create_app(
    serving: Serving | ServingSet,
    config: WebConfig,
    *,
    estimates: QueueEstimates | None = None,
    personal: PrivacyStore | None = None,
) -> Starlette:
    """The web for one server's serving, or for several (ServingSet: the supervisor's screen
    and the request API's intake are the first server's)."""
    tokens = BearerTokens(config.credentials, config.api_credentials)
    app = Starlette(
        routes=[
            Route("/", live_page),
            Route("/agents", agents_page),
            Route("/session.js", asset("session.js", "text/javascript")),
            Route("/live.js", asset("live.js", "text/javascript")),
            Route("/agents.js", asset("agents.js", "text/javascript")),
            Route("/app.css", asset("app.css", "text/css")),
            Route("/live.css", asset("live.css", "text/css")),
            Route("/agents.css", asset("agents.css", "text/css")),
            Route("/api/whoami", whoami),
            Route("/api/callbacks", callbacks),
            Route("/api/events", events),
            Route("/api/callbacks/{request_id}/disposition", dispose, methods=["POST"]),
            # A callback's voice message, to web and API credentials: agi_app/web/messages.py.
            *message_routes(),
            Route("/api/callbacks/{request_id}/{action:str}", act, methods=["POST"]),
            Route("/metrics", public_metrics if config.metrics_public else metrics),
            # The request API (its own tokens with scopes): agi_app/api/routes.py.
            *api_routes(),
            Route(FORGET_PATH, forget, methods=["POST"]),  # agi_app/api/forget.py
            *do_not_call_routes(),
            # The supervisor's screen (/supervisor): agi_app/web/supervisor.py.
            *supervisor_routes(),
        ],
        middleware=[
            Middleware(SecurityHeaders),  # outermost: on the Host refusals too
            Middleware(TrustedHostMiddleware, allowed_hosts=config.allowed_hosts),
            Middleware(AuthenticationMiddleware, backend=tokens),  # request.user, request.auth
        ],
        exception_handlers=API_EXCEPTION_HANDLERS,
    )
    live = LiveView(serving, config.scheduled_queues, estimates, config.disposition_codes)
    app.state.live = live
    app.state.broadcaster = live.broadcaster  # the tests and the benchmark count its snapshots
    first = serving.first if isinstance(serving, ServingSet) else serving
    app.state.supervisor = SupervisorScreen(first, config.supervisor)
    # The Live view's streams and the supervisor screen's, counted together (web_broadcast).
    app.state.stream_limits = StreamLimits(config.sse_max_clients)
    app.state.api = ApiContext.of(serving, serving.views.store, config.api, personal=personal)
    app.state.messages_dir = config.messages_dir
    return app
