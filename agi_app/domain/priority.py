"""Priority levels 1..10 (1 served first) and Asterisk's QUEUE_PRIO (higher served first).

Every call in a queue, live or callback, must use this one mapping, or priorities compare
wrongly: the dialplan's live-queue Gosub applies the same formula.
"""

HIGHEST = 1
LOWEST = 10


def queue_prio(level: int) -> int:
    if not HIGHEST <= level <= LOWEST:
        raise ValueError(f"priority level {level} is outside {HIGHEST}..{LOWEST}")
    return LOWEST - level


def level_from_queue_prio(prio: int) -> int | None:
    """The level a live caller had, or None when QUEUE_PRIO was not set by our mapping."""
    level = LOWEST - prio
    return level if HIGHEST <= level <= LOWEST else None
