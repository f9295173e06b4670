"""The Live view, the agent panel, the supervisor API and /metrics (Starlette).

Reads come from the serving state; actions (cancel, reprioritize) need the bearer token and
go through the same transitions as AMI events, so they land in the event log with who did it.
"""

import asyncio
import contextlib
import hmac
import json
from collections.abc import AsyncIterator
from importlib.resources import files

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agi_app.domain.request import CallbackRequest, CallOutcome, State
from agi_app.serving import Serving

_REFRESH_S = 1.0  # the waited time ticks even when nothing changes


class _Action(BaseModel):
    by: str = Field("supervisor", min_length=1, max_length=64)


class _Priority(_Action):
    level: int = Field(ge=1, le=10)


def _page(name: str) -> str:
    return files("agi_app.static").joinpath(name).read_text()


def _summary(request: CallbackRequest) -> dict[str, object]:
    return {
        "id": request.id,
        "state": request.state.value,
        "priority": request.priority,
        "call_outcome": request.call_outcome,
        "contact_outcome": request.contact_outcome,
    }


def create_app(serving: Serving, token: str | None) -> Starlette:
    async def snapshot() -> dict[str, object]:
        return {
            "callbacks": await serving.live_view(),
            "screen_pops": await serving.screen_pop_view(),
        }

    async def live(_request: Request) -> HTMLResponse:
        return HTMLResponse(_page("live.html"))

    async def agents(_request: Request) -> HTMLResponse:
        return HTMLResponse(_page("agents.html"))

    async def callbacks(_request: Request) -> JSONResponse:
        return JSONResponse(await snapshot())

    async def events(request: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            while not await request.is_disconnected():
                changed = serving.changed
                yield f"data: {json.dumps(await snapshot())}\n\n"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), _REFRESH_S)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    def authorized(request: Request) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return token is not None and hmac.compare_digest(given.encode(), token.encode())

    async def act(request: Request) -> JSONResponse:
        if not authorized(request):
            return JSONResponse({"error": "a valid bearer token is required"}, status_code=401)
        request_id, action = request.path_params["request_id"], request.path_params["action"]
        if action not in ("cancel", "priority"):
            return JSONResponse({"error": f"no action {action!r}"}, status_code=404)
        try:
            body = await request.json() if await request.body() else {}
            if action == "cancel":
                done = await serving.cancel(request_id, _Action.model_validate(body).by)
            else:
                change = _Priority.model_validate(body)
                done = await serving.reprioritize(request_id, change.level, change.by)
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

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(serving.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/", live),
            Route("/agents", agents),
            Route("/api/callbacks", callbacks),
            Route("/api/events", events),
            Route("/api/callbacks/{request_id}/{action:str}", act, methods=["POST"]),
            Route("/metrics", metrics),
        ]
    )
