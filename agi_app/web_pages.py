"""What every page and stream of the web server shares: the static files, the headers pages
are served with, the answer to a caller without the right credential, and the SSE response
that gives its client's place back."""

from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from agi_app.web_auth import Principal, Role

# Pages and their assets: never cached (they carry no data, but a stale script would talk to
# a newer API), never framed, never sniffed, no referrer to elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def static_text(name: str) -> str:
    """A file of agi_app/static (package data: it is in the wheel too)."""
    return files("agi_app.static").joinpath(name).read_text()


def asset(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    """A route serving one static file (a script, a stylesheet)."""

    async def serve(_request: Request) -> Response:
        return Response(static_text(name), media_type=media_type, headers=PAGE_HEADERS)

    return serve


def refused(principal: Principal | None, *roles: Role) -> JSONResponse | None:
    """401 without a valid token, 403 for a role not in ``roles``, else None."""
    if principal is None:
        return JSONResponse(
            {"error": "a valid bearer token is required"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    if principal.role not in roles:
        return JSONResponse({"error": f"a {principal.role} may not"}, status_code=403)
    return None


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
