"""``python -m agi_app serve``, but killed like ``kill -9`` just before or just after the store
commits the first request it is asked to add: the crash tests' service, so that the product
carries no fault hook of its own.

Run as ``python -m tests.support.crashing_service`` from the repository, with CRASH_AT set to
"before-commit" or "after-commit" (ServiceProcess.start(crash_at=...) does both).
"""

import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from unittest import mock

from agi_app.admin.cli import main
from agi_app.domain.request import CallbackRequest, RateLimits
from agi_app.store.postgres import PgStore
from agi_app.store.sqlite.store import Store
from tests.support.service_process import CRASH_AT

POINTS = ("before-commit", "after-commit")

Add = Callable[[Any, CallbackRequest, RateLimits | None], Awaitable[CallbackRequest]]


def _die(point: str) -> None:
    logging.getLogger(__name__).critical("crash at %s: killing the service", point)
    logging.shutdown()
    os.kill(os.getpid(), signal.SIGKILL)


def crashing(add: Add, point: str) -> Add:
    """``add``, with the process killed at ``point`` around the real commit."""

    async def crashing_add(
        store: Any, request: CallbackRequest, limits: RateLimits | None = None
    ) -> CallbackRequest:
        if point == "before-commit":
            _die(point)
        stored = await add(store, request, limits)
        _die(point)
        return stored

    return crashing_add


def run() -> int:
    point = os.environ.get(CRASH_AT, "")
    if point not in POINTS:
        print(f"set {CRASH_AT} to one of {', '.join(POINTS)}", file=sys.stderr)
        return 2
    # The classes the service opens its store with: every store in this process crashes.
    with (
        mock.patch.object(Store, "add", crashing(Store.add, point)),
        mock.patch.object(PgStore, "add", crashing(PgStore.add, point)),
    ):
        return main(["serve"])


if __name__ == "__main__":
    raise SystemExit(run())
