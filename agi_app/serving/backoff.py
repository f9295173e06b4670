"""Exponential backoff for loops that must outlive a failing store or PBX."""

import random
from collections.abc import Callable
from dataclasses import dataclass, field


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
