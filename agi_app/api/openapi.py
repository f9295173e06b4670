"""The request API's OpenAPI 3.1 document, served at GET /api/openapi.json.

The schemas are the pydantic models' own (agi_app/api/models.py: JSON Schema 2020-12, which
is OpenAPI 3.1's dialect), so the document cannot drift from what is validated and sent;
tests/integration/test_api_openapi.py checks real responses against it.
"""

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from agi_app.api.do_not_call_models import (
    DoNotCallEntryOut,
    DoNotCallIn,
    DoNotCallList,
    DoNotCallRemoved,
)
from agi_app.api.forget_models import FORGET_PATH, ForgetIn, ForgetOut
from agi_app.api.input import EVENTS_MAX, EVENTS_PAGE
from agi_app.api.models import ApiError, CallbackDetail, CallbackIn, CallbackOut, CallbackRef

PATH = "/api/openapi.json"
_REF = "#/components/schemas/{model}"
# A callback in an answer: its record for a token with the read scope, else its id and state.
_SHOWN = ("CallbackOut", "CallbackRef")


def _json(
    schema: str | tuple[str, ...], description: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    models = (schema,) if isinstance(schema, str) else schema
    refs = [{"$ref": _REF.format(model=m)} for m in models]
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": refs[0] if len(refs) == 1 else {"oneOf": refs}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "malformed JSON, or a bad Idempotency-Key header",
        401: "no valid API token",
        403: "the token lacks the scope",
        404: "no such callback",
        409: "too late: the callback is being served or ended otherwise (forget: a call of"
        " the number is on; nothing was changed)",
        413: "the body is over 16 KiB",
        415: "the body is not application/json",
        422: "invalid fields or query, refused by the rules (number, queue, time), or a key reused",
        429: "rate limited: the token's requests per hour (then with Retry-After), or the "
        "requests per number per hour",
        503: "the store is unavailable; retry",
    }
    headers = {429: _RETRY_AFTER}
    return {str(s): _json("ApiError", meaning[s], headers.get(s)) for s in statuses}


_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
}
_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "the same key (per token) with the same body gives the same answer and "
    "never a second request; with another body: 422",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]"},
}
_LOCATION = {"Location": {"description": "the callback's URL", "schema": {"type": "string"}}}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds until the token may call again (its rate limit only)",
        "required": False,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_PAGE = [
    {
        "name": "events_after",
        "in": "query",
        "required": False,
        "description": "the events after this event id (the events_next of the page before)",
        "schema": {"type": "integer", "minimum": 0, "default": 0},
    },
    {
        "name": "events_limit",
        "in": "query",
        "required": False,
        "description": "at most this many events",
        "schema": {"type": "integer", "minimum": 1, "maximum": EVENTS_MAX, "default": EVENTS_PAGE},
    },
]


@cache
def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [
            (CallbackIn, "validation"),
            (CallbackOut, "serialization"),
            (CallbackRef, "serialization"),
            (CallbackDetail, "serialization"),
            (ApiError, "serialization"),
            (ForgetIn, "validation"),
            (ForgetOut, "serialization"),
            (DoNotCallIn, "validation"),
            (DoNotCallList, "serialization"),
            (DoNotCallEntryOut, "serialization"),
            (DoNotCallRemoved, "serialization"),
        ],
        ref_template=_REF,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "agi-callback request API",
            "version": "1",
            "description": "Callback requests from anywhere: the same rules as from a phone.",
        },
        "paths": {
            "/api/callbacks": {
                "post": {
                    "operationId": "requestCallback",
                    "summary": "Ask for a callback",
                    "security": [{"bearer": ["request"]}],
                    "parameters": [_KEY],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": _REF.format(model="CallbackIn")}
                            }
                        },
                    },
                    "responses": {
                        "201": _json(_SHOWN, "stored (durably)", _LOCATION),
                        "200": _json(
                            _SHOWN,
                            "an active callback for this number and queue exists: it",
                            _LOCATION,
                        ),
                        **_errors(400, 401, 403, 413, 415, 422, 429, 503),
                    },
                }
            },
            "/api/callbacks/{id}": {
                "parameters": [_ID],
                "get": {
                    "operationId": "getCallback",
                    "summary": "A callback: state, outcomes, times and a page of its event log",
                    "security": [{"bearer": ["read"]}],
                    "parameters": _PAGE,
                    "responses": {
                        "200": _json("CallbackDetail", "the callback"),
                        **_errors(401, 403, 404, 422, 429),
                    },
                },
                "delete": {
                    "operationId": "cancelCallback",
                    "summary": "Cancel a callback not yet being served",
                    "security": [{"bearer": ["cancel"]}],
                    "responses": {
                        "200": _json(_SHOWN, "cancelled (now, or before)"),
                        **_errors(401, 403, 404, 409, 429),
                    },
                },
            },
            FORGET_PATH: {
                "post": {
                    "operationId": "forgetNumber",
                    "summary": "Erase one person's personal data: their waiting callbacks"
                    " cancelled, their numbers, name and digits removed from every callback",
                    "security": [{"bearer": ["forget"]}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": _REF.format(model="ForgetIn")}}
                        },
                    },
                    "responses": {
                        "200": _json("ForgetOut", "erased (zero callbacks: none held it)"),
                        **_errors(401, 403, 409, 413, 415, 422, 429, 503),
                    },
                }
            },
            **_do_not_call_paths(),
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token of api_credentials; scopes: request, read,"
                    " cancel, forget, do-not-call",
                }
            },
        },
    }


def _do_not_call_paths() -> dict[str, Any]:
    """The do-not-call list (agi_app/api/do_not_call.py): its own scope."""
    scope = [{"bearer": ["do-not-call"]}]
    entry = {
        "name": "entry",
        "in": "path",
        "required": True,
        "description": "the entry as listed (E.164, or a prefix ending in *)",
        "schema": {"type": "string", "maxLength": 40},
    }
    return {
        "/api/do-not-call": {
            "get": {
                "operationId": "listDoNotCall",
                "summary": "The do-not-call list: the settings' entries and those added",
                "security": scope,
                "responses": {
                    "200": _json("DoNotCallList", "the list"),
                    **_errors(401, 403, 429, 503),
                },
            },
            "post": {
                "operationId": "addDoNotCall",
                "summary": "Add a number or prefix: never called back, a waiting callback ended",
                "security": scope,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": _REF.format(model="DoNotCallIn")}}
                    },
                },
                "responses": {
                    "201": _json("DoNotCallEntryOut", "added"),
                    "200": _json("DoNotCallEntryOut", "listed already: kept as it was"),
                    **_errors(400, 401, 403, 413, 422, 429, 503),
                },
            },
        },
        "/api/do-not-call/{entry}": {
            "parameters": [entry],
            "delete": {
                "operationId": "removeDoNotCall",
                "summary": "Remove an entry the command line or the API added",
                "security": scope,
                "responses": {
                    "200": _json("DoNotCallRemoved", "removed"),
                    **_errors(401, 403, 404, 422, 429, 503),
                },
            },
        },
    }
