"""Values of requests and events as JSON holds them: times as ISO 8601, sets as sorted lists."""

from datetime import date, datetime
from typing import Any


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return sorted(value)
    return value
