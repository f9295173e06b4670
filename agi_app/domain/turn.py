"""Whose turn it is in an app_queue queue, as app_queue counts it (``is_our_turn()`` in
apps/app_queue.c): a caller is served when fewer callers stand before it than there are
members available (``num_available_members()``); with autofill off (or strategy ringall)
only the head, and only when one member is available.

Customer first reads it for its placeholders, which app_queue never offers to a member
(QUEUE_MIN_PENALTY above every penalty) but which hold their place and their turn.
"""

from collections.abc import Sequence


def whose_turn(line: Sequence[str], available: int, *, autofill: bool = True) -> set[str]:
    """The callers of ``line`` (uniqueids, head first) whose turn it is."""
    if available <= 0:
        return set()
    return set(line[: available if autofill else 1])
