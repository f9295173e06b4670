"""What the request API reads from a client, checked before anything is done with it: the
POST's body (its size, its JSON, its fields) and the GET's page of the event log."""

import hashlib
import json
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import QueryParams
from starlette.requests import Request

from agi_app.api.models import ApiError, CallbackIn, Problem

MAX_BODY = 16 * 1024
EVENTS_PAGE = 100  # events per GET unless events_limit says otherwise
EVENTS_MAX = 1000
_SEQ_MAX = 2**63 - 1  # an event id is a 64-bit integer in both stores


class Refused(Exception):
    """An answer other than success: its status, the ApiError body and any headers."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        details: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ApiError(error=error, message=message, details=details or [])
        self.headers = headers or {}


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"a key is given twice: {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def parse_body(raw: bytes) -> tuple[CallbackIn, str]:
    """The payload and the SHA-256 of its canonical JSON (what an idempotency key is bound
    to: the same fields and values, however spaced or ordered)."""
    try:
        document = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Refused(400, "malformed-json", f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise Refused(400, "malformed-json", "the body must be a JSON object")
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        digest = hashlib.sha256(canonical.encode()).hexdigest()
    except UnicodeEncodeError:
        # JSON allows "\ud800" alone, Unicode does not: no text, so no field, can hold it (and
        # the error's own text would carry it into the answer, which could not be encoded).
        raise Refused(
            400, "malformed-json", "the body is not JSON: a string holds a lone surrogate"
        ) from None
    try:
        return CallbackIn.model_validate_json(raw), digest
    except ValidationError as exc:
        raise invalid(exc) from None


def invalid(exc: ValidationError) -> Refused:
    """A body that does not validate: 422, each field and its problem."""
    details = [
        Problem(field=".".join(str(p) for p in e["loc"]) or "body", problem=e["msg"])
        for e in exc.errors(include_url=False, include_input=False)
    ]
    summary = "; ".join(f"{d.field}: {d.problem}" for d in details)
    return Refused(422, "invalid-request", summary, details)


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Refused(413, "body-too-large", f"the body may be at most {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:  # a chunked body says no length: count as it comes
            raise Refused(413, "body-too-large", f"the body may be at most {MAX_BODY} bytes")
    return bytes(body)


def events_page(query: QueryParams) -> tuple[int, int]:
    """The page of the event log a GET asks for: after which event id, and how many at most."""
    return (
        _whole(query, "events_after", 0, 0, _SEQ_MAX),
        _whole(query, "events_limit", EVENTS_PAGE, 1, EVENTS_MAX),
    )


def _whole(query: QueryParams, name: str, default: int, low: int, high: int) -> int:
    given = query.getlist(name)
    if not given:
        return default
    value = given[0]
    if len(given) == 1 and value.isascii() and value.isdigit() and low <= int(value) <= high:
        return int(value)
    problem = f"one whole number from {low} to {high}"
    raise Refused(
        422, "invalid-request", f"{name}: {problem}", [Problem(field=name, problem=problem)]
    )
