"""What a webhook POST carries: the JSON body of one event log row, and its signature.

The signature is HMAC-SHA256, keyed with the subscription's secret, over
``f"{timestamp}.".encode() + body``, sent as ``X-Callback-Signature: t=<unix>,v1=<hex>``: the
timestamp is signed too, so a receiver that refuses old timestamps refuses replays.
"""

import hashlib
import hmac
import json
from typing import Any

from agi_app.domain.event_log import LoggedEvent
from agi_app.domain.request import CallbackRequest, State

SIGNATURE_HEADER = "X-Callback-Signature"
EVENT_ID_HEADER = "X-Callback-Event-Id"  # the event's seq: the receiver's de-duplication key
EVENT_HEADER = "X-Callback-Event"
SCHEME = "v1"


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SCHEME}={mac}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance: float = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret``, made within ``tolerance`` of ``now``."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).rsplit("=", 1)[1]
    return hmac.compare_digest(expected, fields.get(SCHEME, ""))


def wanted(events: frozenset[str] | None, name: str) -> bool:
    """Whether a subscription to ``events`` (None: every event) gets an event ``name``."""
    return events is None or name in events


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def request_fields(request: CallbackRequest) -> dict[str, Any]:
    """The request as the Live view shows it (no more personal data than that)."""
    return {
        "id": request.id,
        "source": request.source,
        "server": request.server,
        "queue": request.queue,
        "priority": request.priority,
        "caller_name": request.caller_name,
        "caller_number": request.caller_number,
        "callback_number": request.callback_number,
        "extension": request.extension,
        "dialed_number": request.dialed_number,
        "voice_message": bool(request.message),  # one to hear: GET its message_url (read scope)
        "queue_entered_at": _iso(request.queue_entered_at),
        "requested_at": _iso(request.requested_at),
        "scheduled_for": _iso(request.scheduled_for),
        "language": request.language,
    }


def payload(logged: LoggedEvent, request: CallbackRequest | None) -> dict[str, Any]:
    """The body of one event: the log row exactly as stored, its outcomes once the request is
    done, and the request's public fields (as stored when the event is sent)."""
    event = logged.event
    done = request is not None and event.state == State.DONE.value
    return {
        "id": logged.seq,
        "event": event.event,
        "at": event.at.isoformat(),
        "request_id": event.request_id,
        "state": event.state,
        "detail": event.detail,
        "outcome": (
            {"call": request.call_outcome, "contact": request.contact_outcome}
            if done and request is not None
            else None
        ),
        "request": request_fields(request) if request is not None else None,
    }


def encode(body: dict[str, Any]) -> bytes:
    """Compact JSON, keys sorted: the same event gives the same bytes each attempt."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
