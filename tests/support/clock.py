"""A wall clock that starts where a test needs it (a minute before a closing, say) and runs
at real speed from there: the service's timers and Asterisk's keep agreeing."""

import time
from collections.abc import Callable
from datetime import datetime, timedelta


def clock_from(start: datetime) -> Callable[[], datetime]:
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)
