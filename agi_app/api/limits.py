"""The request API's rate limit per token: at most ``api_rate_limit_per_hour`` calls in any
hour from one API credential (by its name), so that no client, however it misbehaves, floods
the store, the event log or the service. Calls refused for another reason count too (they
cost work); those this limit refuses do not, so a client that waits gets its turn.

It is counted in this process's memory: a restart forgets the counts, and services sharing a
PostgreSQL store count apart (each allows the limit). The per-number limits that bound what
is stored (rate_limit_per_caller, rate_limit_per_destination) are the store's, and shared.
"""

import math
import time
from collections import deque
from collections.abc import Callable

HOUR = 3600.0


class TokenLimits:
    def __init__(self, per_hour: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_hour = per_hour  # 0: no limit
        self._clock = clock
        # The times of each credential's requests within the last hour: at most per_hour each,
        # and only configured names get here (after their token was checked).
        self._seen: dict[str, deque[float]] = {}

    def retry_after(self, name: str) -> int | None:
        """None: the request is counted and may go on; else the whole seconds until the
        oldest one counted leaves the hour (at least 1), and it is not counted."""
        if self._per_hour == 0:
            return None
        now = self._clock()
        seen = self._seen.setdefault(name, deque())
        while seen and seen[0] <= now - HOUR:
            seen.popleft()
        if len(seen) < self._per_hour:
            seen.append(now)
            return None
        return max(1, math.ceil(seen[0] + HOUR - now))
