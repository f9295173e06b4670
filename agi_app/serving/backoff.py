"""Exponential backoff for loops that must outlive a failing store or PBX.

``Retry`` is the loop they share: try a step, log the failure with its cause, wait the backoff,
try again; a success resets it. A streak of failures is logged at its 1st, 2nd, 4th, 8th...
failure (the others at DEBUG): a store locked for an hour says so a dozen times, not a thousand,
and the second line shows that it is being retried. CancelledError is never caught (it is not
an Exception), so a loop stops when its task is cancelled.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Backoff:
    """Delays of ``initial``, doubling up to ``cap`` seconds; ``reset()`` after a success."""

    initial: float = 0.2
    cap: float = 5.0
    _next: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._next = self.initial

    def delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.cap)
        return delay

    def jittered(self, draw: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in [0, delay()), so that many senders retrying one receiver
        spread out instead of arriving together."""
        return draw() * self.delay()

    def reset(self) -> None:
        self._next = self.initial


class Retry:
    """One step's failures in a row, each line ``"{what} ({cause}); retrying in 0.2s"``.

    ``expected`` failures (a locked store, a lost PBX) are logged at ``level``; any other
    exception is a bug, logged at ERROR with its traceback, which is what one needs to fix it.
    """

    def __init__(
        self,
        what: str,
        log: logging.Logger,
        *,
        expected: tuple[type[Exception], ...],
        level: int = logging.WARNING,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.what = what
        self.failures = 0  # in a row
        self._log = log
        self._expected = expected
        self._level = level
        self._backoff = backoff or Backoff()
        self._sleep = sleep

    def failed(self, exc: Exception) -> float:
        """Count and log a failure; the seconds to wait before the next try."""
        self.failures += 1
        delay = self._backoff.delay()
        loud = self.failures & (self.failures - 1) == 0  # 1, 2, 4, 8...
        bug = not isinstance(exc, self._expected)
        level = (logging.ERROR if bug else self._level) if loud else logging.DEBUG
        row = f", {self.failures} in a row" if self.failures > 1 else ""
        self._log.log(
            level, "%s (%s)%s; retrying in %.1fs", self.what, str(exc) or repr(exc), row, delay,
            exc_info=exc if bug or not loud else None,
        )  # fmt: skip
        return delay

    def passed(self) -> None:
        self.failures = 0
        self._backoff.reset()

    async def until_passed(
        self, step: Callable[[], Awaitable[T]], *, bug_tries: int | None = 1
    ) -> T:
        """``step()`` again after each failure until it returns. A bug is raised once the
        streak reaches ``bug_tries`` failures (1: at once, for the task's supervision to see;
        None: retried as long as an expected failure)."""
        while True:
            try:
                result = await step()
            except Exception as exc:
                bug = not isinstance(exc, self._expected)
                if bug and bug_tries is not None and self.failures + 1 >= bug_tries:
                    raise
                await self._sleep(self.failed(exc))
            else:
                self.passed()
                return result
