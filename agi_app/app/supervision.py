"""The service's background tasks, watched: one that ends while the service runs (a bug, a
lost serving lease) is logged at CRITICAL and sets ``failed``, so that ``serve`` exits
non-zero and its supervisor (systemd) restarts it; never a process that listens without
serving."""

import asyncio
import logging

log = logging.getLogger("agi_app.app.service")  # the lines operators and tests know


class Supervisor:
    def __init__(self) -> None:
        self.failed: asyncio.Future[BaseException] | None = None
        self._stopping = False

    def start(self) -> None:
        self.failed = asyncio.get_running_loop().create_future()

    def stopping(self) -> None:
        """From here on a task's end is the stop's doing, not a failure."""
        self._stopping = True

    def watch(self, task: "asyncio.Future[None]", what: str) -> None:
        def ended(task: "asyncio.Future[None]") -> None:
            if self._stopping or task.cancelled() or self.failed is None or self.failed.done():
                return
            error = task.exception() or RuntimeError(f"{what} ended")
            log.critical("%s died: %r; the service stops", what, error, exc_info=error)
            self.failed.set_result(error)

        task.add_done_callback(ended)
