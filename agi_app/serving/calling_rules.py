"""Calling rules in serving (docs/how-to/calling-rules.md): the do-not-call list as every
part checks it (the settings' entries and the store's), and the sweep that ends a waiting
callback whose number was added, or takes one whose customer's hours closed out of its queue.

The list is read from the store at each sweep (the placer checks it as last read, and the
customer-first turn reads it again), so an entry added by another process (the command
line, a standby's API) is seen within SWEEP_EVERY_S; the API of this process tells the
sweep at once (``changed``). The phone intake reads it at most every SWEEP_EVERY_S too.

Each sweep reads only the waiting callbacks with hours of their own; all of them only while
the list's entries are new to it (ListWatch): with thousands held, reading every one each
time was most of the service's CPU (issue 31).
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from agi_app.domain import lifecycle as lc
from agi_app.domain.calling_rules import blocked_by, check_do_not_call
from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.request import WAITING_STATES, CallbackRequest
from agi_app.pbx.ami import AmiError
from agi_app.serving.backoff import Retry
from agi_app.serving.calling_hours import CallingHours
from agi_app.serving.unit_of_work import UnitOfWork
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 2.0
DO_NOT_CALL = "do-not-call"  # the Cancelled event's ``by``
# After the entries change, the sweep keeps reading every waiting callback until one such
# read starts this long after it first saw them: see ListWatch.
FULL_PASSES_FOR_S = 2 * SWEEP_EVERY_S


class DoNotCallList:
    """The settings' entries and the store's, the latter as last read (``refresh``)."""

    def __init__(
        self, store: RequestStore, settings_entries: Iterable[str], fresh_for_s: float = 0.0
    ) -> None:
        self._store = store
        self._settings = tuple(settings_entries)
        self._stored: tuple[str, ...] = ()
        # How long a read of the store's entries serves ``check`` (0: read at each check).
        # The phone intake's is SWEEP_EVERY_S: one read for a burst of callers, not one each
        # (the profile benchmark: +1 ms of service CPU and +200 ms p99 at 80 calls/s).
        self._fresh_for_s = fresh_for_s
        self._read_at: float | None = None

    async def refresh(self) -> None:
        self._stored = tuple(e.entry for e in await self._store.do_not_call())
        self._read_at = time.monotonic()

    @property
    def entries(self) -> tuple[str, ...]:
        """The settings' entries and the store's, as last read."""
        return (*self._settings, *self._stored)

    def blocked(self, number: str) -> str | None:
        """The entry that covers ``number``, as last read (no I/O: the informative call)."""
        return blocked_by(number, self.entries)

    async def check(self, number: str) -> None:
        """At intake: DoNotCall when the list covers ``number`` (the store's entries read
        now, or within fresh_for_s)."""
        read_at = self._read_at
        if read_at is None or time.monotonic() - read_at >= self._fresh_for_s:
            await self.refresh()
        check_do_not_call(number, self.entries)


class ListWatch:
    """Whether a sweep must check every waiting callback against the list: only for a while
    after its entries changed (or were first read), not at every sweep.

    A callback waiting when an entry is added is read by the first sweep that sees the
    entry (the entries are read before the callbacks). One stored later was let in by an
    intake that checked a list read before the change: the phone intake's (another
    process's, maybe) serves up to SWEEP_EVERY_S after that read, and its add commits a
    little later still. So the full reads go on until one starts FULL_PASSES_FOR_S (two
    sweep periods) after this sweep first saw the change; at the usual pace that is the
    third sweep, the second to see the same entries. Past that, a newly stored callback was
    checked by its intake against the new entries, and the placer and the customer-first
    turn check the list again (as last read here, or read anew) before any dial, so reading
    every waiting callback again would find nothing to end.
    """

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._entries: tuple[str, ...] | None = None  # as the last sweep saw them
        self._full_until: float | None = None  # a full read starting before: another one

    def full_pass(self, entries: Iterable[str]) -> float | None:
        """At each sweep, with the entries it just read: when this read starts, if it must
        read every waiting callback (then ``passed`` once it went through), else None."""
        now, seen = self._monotonic(), tuple(sorted(entries))
        if seen != self._entries:
            self._entries, self._full_until = seen, now + FULL_PASSES_FOR_S
        return now if self._full_until is not None else None

    def passed(self, started: float) -> None:
        """A full read that started at ``started`` went through (one that failed half way
        is done again)."""
        if self._full_until is not None and started >= self._full_until:
            self._full_until = None  # it started late enough: the last one


class RulesSweep:
    """Waiting callbacks checked against the list (all of them while its entries are new,
    ListWatch) and, those with hours of their own, against their customer's hours."""

    def __init__(
        self,
        listed: DoNotCallList,
        hours: CallingHours,
        store: RequestStore,
        unit_of_work: UnitOfWork,
        clock: Callable[[], datetime],
        cancelled: Callable[[str], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._list = listed
        self._hours = hours
        self._store = store
        self._uow = unit_of_work
        self._clock = clock
        self._cancelled = cancelled  # the placer forgets it (held, due)
        self._watch = ListWatch(monotonic)
        self.changed = asyncio.Event()  # set by the API after an edit: sweep now

    async def run(self) -> None:
        retry = Retry("calling rules sweep failed", log, expected=(StoreUnavailable, AmiError))
        task = asyncio.current_task()
        while True:
            await retry.until_passed(self.sweep, bug_tries=None)
            if task is not None and task.cancelling():
                # A cancel that came during a query, which the PostgreSQL driver turned into
                # an error (retried): the task was asked to end.
                raise asyncio.CancelledError
            self.changed.clear()
            # asyncio.wait, not asyncio.timeout: a cancel that comes as the timeout ends
            # must end the task, never be taken for the timeout (Python 3.11).
            waiter = asyncio.ensure_future(self.changed.wait())
            try:
                await asyncio.wait({waiter}, timeout=SWEEP_EVERY_S)
            finally:
                waiter.cancel()

    async def sweep(self) -> None:
        await self._list.refresh()
        full = self._watch.full_pass(self._list.entries)
        if full is not None:
            waiting = await self._store.requests(*WAITING_STATES)
        else:  # those with hours of their own: every other one was checked against this list
            waiting = await self._store.requests_with_customer_hours(*WAITING_STATES)
        for request in waiting:
            if await self.ended_if_listed(request):
                continue
            if request.customer_hours and (closed := self._hours.closed(request)) is not None:
                await self._uow.apply(request.id, closed)  # out of the queue until they open
        if full is not None:
            self._watch.passed(full)

    async def ended_if_listed(self, request: CallbackRequest) -> bool:
        """End it Cancelled if its number is listed (a note in its log says which entry)."""
        if (entry := self._list.blocked(request.callback_number)) is None:
            return False
        await end_listed(self._store, self._uow, request, entry, self._clock())
        self._cancelled(request.id)
        return True


async def end_listed(
    store: RequestStore, uow: UnitOfWork, request: CallbackRequest, entry: str, at: datetime
) -> None:
    """Never dialed: the entry noted in its log, then Cancelled by ``do-not-call``."""
    log.warning("callback %s: %s is on the do-not-call list (%s)", request.id,
                request.callback_number, entry)  # fmt: skip
    await store.note(request, "DoNotCall", at, {"entry": entry})
    await uow.apply(request.id, lc.Cancelled(DO_NOT_CALL, at))
