"""What every page and stream of the web server shares: the static files, the headers every
response is served with, the answer to a caller without the right credential (WEB), and the
live stream, admitted by the limits or refused, that gives its client's place back."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.resources import files

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agi_app.api.auth import Caller, Realm
from agi_app.config.credentials import Principal
from agi_app.web.broadcast import Broadcaster, Full, Snapshot, StreamLimits

# Every response: scripts, styles, images and fetches from this origin only (the pages have
# no inline script, style or handler: agi_app/web/static holds them as files), never framed,
# never sniffed, no referrer to elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    # blob: the voice messages, fetched with the bearer header and played from memory.
    "media-src blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Pages and their assets, besides: never cached (they carry no data, but a stale script would
# talk to a newer API).
PAGE_HEADERS = {"Cache-Control": "no-store"}


class SecurityHeaders:
    """ASGI middleware: SECURITY_HEADERS on every response, refusals and streams too (a header
    a response sets itself is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def static_text(name: str) -> str:
    """A file of agi_app/web/static (package data: it is in the wheel too)."""
    return files("agi_app.web.static").joinpath(name).read_text()


def asset(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    """A route serving one static file (a script, a stylesheet)."""

    async def serve(_request: Request) -> Response:
        return Response(static_text(name), media_type=media_type, headers=PAGE_HEADERS)

    return serve


class WebRealm(Realm[Principal]):
    """The web's endpoints (agi_app.api.auth.allowed): a web credential's role is its scope,
    and a refusal is ``{"error": ...}``; an API token is no token here."""

    def principal(self, caller: Caller) -> Principal | None:
        return caller.web

    def unauthorized(self, request: Request) -> Response:
        return JSONResponse(
            {"error": "a valid bearer token is required"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    def forbidden(
        self, request: Request, principal: Principal, scopes: tuple[str, ...]
    ) -> Response:
        return JSONResponse({"error": f"a {principal.role} may not"}, status_code=403)


WEB = WebRealm()


def open_stream(
    request: Request,
    principal: Principal,
    broadcaster: Broadcaster,
    shown: Callable[[Snapshot], Snapshot] | None = None,
) -> Response:
    """The SSE stream of ``broadcaster``'s snapshots, each as ``shown`` cuts it for this
    principal (by default as encoded once for every client), if the web server's
    StreamLimits (the Live view's and the supervisor screen's streams together) let
    ``principal`` open one more: else 429 (its credential holds its most) or 503 (its pool is
    full), with Retry-After."""
    limits: StreamLimits = request.app.state.stream_limits
    try:
        give_back = limits.take(principal)
    except Full as refusal:
        return JSONResponse(
            {"error": refusal.message}, status_code=refusal.status, headers={"Retry-After": "5"}
        )
    broadcaster.join()

    def release() -> None:
        broadcaster.leave()
        give_back()

    return SseStream(_events(broadcaster, shown), release)


async def _events(
    broadcaster: Broadcaster, shown: Callable[[Snapshot], Snapshot] | None
) -> AsyncIterator[bytes]:
    async for latest, encoded in broadcaster.updates():
        data = encoded if shown is None else json.dumps(shown(latest)).encode()
        yield b"data: " + data + b"\n\n"


class SseStream(StreamingResponse):
    """An SSE response that gives its client's place back however the client goes."""

    def __init__(self, content: AsyncIterator[bytes], release: Callable[[], None]) -> None:
        super().__init__(
            content, media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )
        self._content, self._release = content, release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            await self._content.aclose()  # type: ignore[attr-defined]
