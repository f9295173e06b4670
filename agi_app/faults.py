"""Fault injection for the crash tests: die like ``kill -9`` at a named point of a request.

Off unless the test-only setting ``test_crash_at`` names a point; there is no other effect.
"""

import logging
import os
import signal

log = logging.getLogger(__name__)


def crash_point(point: str, configured: str | None) -> None:
    if configured == point:
        log.critical("test_crash_at=%s: killing the service", point)
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)
