"""What every page and stream of the web server shares: the static files, the headers pages
are served with, and the SSE response that gives its client's place back."""

from collections.abc import AsyncIterator, Callable
from importlib.resources import files

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

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
