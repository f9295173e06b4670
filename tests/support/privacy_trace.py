"""Where a phone number is still kept in a store: every request's fields and every event
log row's detail, read through the store's own interface (what ``show`` and the API read)."""

import json
from dataclasses import asdict

from agi_app.domain.json_values import jsonable
from agi_app.serving.privacy import PrivacyStore


def _forms(number: str) -> set[str]:
    """The number and its national digits (+15551230001: 5551230001): a trace in any form."""
    digits = number.lstrip("+")
    return {number, digits, digits[1:] if digits.startswith("1") else digits}


async def traces(store: PrivacyStore, number: str) -> list[str]:
    """What still holds ``number``: "request ID.FIELD" and "event SEQ of ID", none if erased."""
    found: list[str] = []
    forms = _forms(number)
    for request in await store.requests():
        for name, value in asdict(request).items():
            if any(f in json.dumps(jsonable(value)) for f in forms):
                found.append(f"request {request.id}.{name}")
        after = 0
        while page := await store.request_events(request.id, after, 500):
            found += [
                f"event {e.seq} of {request.id}"
                for e in page
                if any(f in json.dumps(e.event.detail) for f in forms)
            ]
            after = page[-1].seq
    return found
