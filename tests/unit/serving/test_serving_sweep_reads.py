"""The periodic loops read only what they act on (issue 31): the calling rules' sweep reads
every waiting callback only for a while after the do-not-call list changed (long enough for
one stored by an intake that checked the list as it was before), else only those with hours
of their own; the turn check reads only the customer-first callbacks and those waiting for
their preferred agent. Each still does what it did: a listed number is ended, a customer's
closed hours take the callback out, a turn goes to the customer or the preferred agent.

The sweep is driven by hand here, on a store that counts its reads, with a monotonic clock
the test moves (no waiting for real sweeps)."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.options import Mode
from agi_app.domain.request import WAITING_STATES, CallbackRequest, CallOutcome, State
from agi_app.serving import Serving
from agi_app.serving.calling_rules import (
    FULL_PASSES_FOR_S,
    SWEEP_EVERY_S,
    DoNotCallList,
    RulesSweep,
)
from agi_app.serving.config import ServingConfig
from agi_app.store.memory import MemoryStore
from tests.support.clock import clock_from
from tests.support.fake_pbx import FakePbx
from tests.support.poll import eventually
from tests.support.samples import PENDING
from tests.unit.serving.rig import serving_on, settings_for

LISTED, OTHER = "+15551230001", "+15551230002"
WINDOW = "08:00-21:00"
# Monday 1 March 2027, 2 s before the customer's window closes (21:00 UTC: the numbers have
# no known zone, so calling_rules.timezone, UTC, decides).
BEFORE_CLOSING = datetime(2027, 3, 1, 20, 59, 58, tzinfo=UTC)


class CountingStore(MemoryStore):
    """The in-memory store, counting the sweep's two reads."""

    def __init__(self) -> None:
        super().__init__()
        self.all_waiting = 0  # requests(*WAITING_STATES): every waiting callback
        self.with_hours = 0

    async def requests(self, *states: State) -> list[CallbackRequest]:
        self.all_waiting += states == WAITING_STATES
        return await super().requests(*states)

    async def requests_with_customer_hours(self, *states: State) -> list[CallbackRequest]:
        self.with_hours += 1
        return await super().requests_with_customer_hours(*states)


@dataclass
class Sweeping:
    store: CountingStore
    sweep: RulesSweep
    clock: Callable[[], datetime]
    now: float = 0.0  # the sweep's monotonic clock, moved by the test

    async def at(self, seconds: float) -> None:
        """The next sweep, ``seconds`` after the one before (SWEEP_EVERY_S: the usual pace)."""
        self.now += seconds
        await self.sweep.sweep()

    async def add(self, number: str, customer_hours: str = "") -> CallbackRequest:
        """Stored as the intake keeps it (held: pending, out of the queue)."""
        now = self.clock()
        return await self.store.add(
            replace(
                PENDING,
                id=str(uuid.uuid4()),
                channel=f"ch-{uuid.uuid4()}",
                position=None,
                caller_number=number,
                callback_number=number,
                queue_entered_at=now,
                requested_at=now,
                expires_at=now + timedelta(minutes=30),
                customer_hours=customer_hours,
            )
        )

    async def list_(self, entry: str) -> None:
        """As `agi-callback do-not-call add` does: into the store, the sweep not told."""
        await self.store.add_do_not_call(DoNotCallEntry(entry, self.clock(), "cli:admin"))

    async def state_of(self, request: CallbackRequest) -> CallbackRequest:
        stored = await self.store.get(request.id)
        assert stored is not None
        return stored


@asynccontextmanager
async def sweeping(
    tmp_path: Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> AsyncIterator[Sweeping]:
    """Serving built (not run: nothing sweeps or places but the test) on a counting store."""
    store = CountingStore()
    agents = ["PJSIP/agent1", "PJSIP/agent2"]
    serving = Serving(store, FakePbx({"support": agents}), ServingConfig.of(settings_for(tmp_path)),
                      clock=clock)  # fmt: skip
    rig = Sweeping(store, serving.rules, clock)
    rig.sweep = RulesSweep(serving.do_not_call, serving.hours, store, serving.unit_of_work,
                           clock, serving.placer.cancelled, monotonic=lambda: rig.now)  # fmt: skip
    yield rig


def ended_by_the_list(request: CallbackRequest) -> bool:
    return request.state is State.DONE and request.call_outcome is CallOutcome.CANCELLED


async def test_a_listed_number_is_ended_right_after_the_change_and_after_a_stale_intake(
    tmp_path: Path,
) -> None:
    async with sweeping(tmp_path) as rig:
        # A phone intake's list, read before the change (its freshness is SWEEP_EVERY_S of
        # real time; a minute here, so that a slow machine cannot make it read again).
        intake = DoNotCallList(rig.store, (), fresh_for_s=60)
        await intake.check(LISTED)
        before = await rig.add(LISTED)
        for _ in range(4):  # the list as first read, then unchanged: settled
            await rig.at(SWEEP_EVERY_S)
        await rig.list_(LISTED)
        await rig.at(SWEEP_EVERY_S)  # the first sweep to see the entry
        assert ended_by_the_list(await rig.state_of(before))
        assert [e.detail for e in await rig.store.events(before.id) if e.event == "DoNotCall"] == [
            {"entry": LISTED}
        ]
        # Let in just after the change by that intake, and stored a little later still.
        await intake.check(LISTED)
        stale = await rig.add(LISTED)
        other = await rig.add(OTHER)
        await rig.at(SWEEP_EVERY_S)
        assert ended_by_the_list(await rig.state_of(stale))
        await intake.check(LISTED)
        late = await rig.add(LISTED)  # one more, just before the last full read
        await rig.at(SWEEP_EVERY_S)
        assert ended_by_the_list(await rig.state_of(late))
        assert (await rig.state_of(other)).state is State.PENDING  # not listed: left alone


async def test_with_the_list_unchanged_the_sweep_reads_only_those_with_hours(
    tmp_path: Path,
) -> None:
    async with sweeping(tmp_path) as rig:
        for n in range(10):
            await rig.add(f"+155512301{n:02d}")
        await rig.at(0)  # the first sweep reads every waiting callback (stored while down)
        assert rig.store.all_waiting == 1
        # Full reads go on until one starts FULL_PASSES_FOR_S after the list was first seen.
        await rig.at(SWEEP_EVERY_S)
        await rig.at(FULL_PASSES_FOR_S - SWEEP_EVERY_S)
        assert rig.store.all_waiting == 3
        for _ in range(20):
            await rig.at(SWEEP_EVERY_S)
        assert (rig.store.all_waiting, rig.store.with_hours) == (3, 20)
        # A change (even an entry that covers nobody): every waiting callback again, for a
        # while; then not again.
        await rig.list_("+15559990000")
        await rig.at(SWEEP_EVERY_S)
        assert rig.store.all_waiting == 4
        for _ in range(5):
            await rig.at(SWEEP_EVERY_S)
        assert rig.store.all_waiting == 6


async def test_a_full_read_that_failed_half_way_is_done_again(tmp_path: Path) -> None:
    """The last full read after a change must go through: one cut short by the store is not
    counted as done."""
    async with sweeping(tmp_path) as rig:
        for _ in range(4):
            await rig.at(SWEEP_EVERY_S)
        await rig.list_(LISTED)
        await rig.at(SWEEP_EVERY_S)
        await rig.at(SWEEP_EVERY_S)
        working = rig.store.requests

        async def down(*states: State) -> list[CallbackRequest]:
            raise StoreUnavailable("cannot read requests: locked")

        rig.store.requests = down  # type: ignore[method-assign]
        with pytest.raises(StoreUnavailable):
            await rig.at(SWEEP_EVERY_S)  # the last full read, cut short
        rig.store.requests = working  # type: ignore[method-assign]
        listed = await rig.add(LISTED)
        await rig.at(SWEEP_EVERY_S)
        assert ended_by_the_list(await rig.state_of(listed))


async def test_customer_hours_close_with_the_narrow_read(tmp_path: Path) -> None:
    """Stored 2 s before its customer's hours close; once past the full reads, the sweep
    takes it out of the queue at the closing with the narrow read alone."""
    async with sweeping(tmp_path, clock=clock_from(BEFORE_CLOSING)) as rig:
        own_hours = await rig.add(LISTED, customer_hours=WINDOW)
        no_hours = await rig.add(OTHER)
        for _ in range(3):  # the first full reads
            await rig.at(SWEEP_EVERY_S)

        async def swept() -> CallbackRequest:
            await rig.at(SWEEP_EVERY_S)
            return await rig.state_of(own_hours)

        carried = await eventually(
            swept, lambda r: r.not_before is not None, within=10, what="out until they open"
        )
        assert (carried.state, carried.not_before) == (
            State.PENDING,
            datetime(2027, 3, 2, 8, tzinfo=UTC),
        )
        assert rig.clock() >= datetime(2027, 3, 1, 21, tzinfo=UTC)
        assert rig.store.all_waiting == 3  # the narrow read alone since the first three
        assert (await rig.state_of(no_hours)).not_before is None


async def test_the_turn_check_reads_only_the_callbacks_whose_turn_it_watches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Customer first and a preferred agent still get their turns, and the check never reads
    every waiting callback (what it did: requests(WAITING))."""
    async with serving_on(tmp_path) as rig:
        reads: list[tuple[State, ...]] = []
        watched: list[tuple[State, ...]] = []
        every, narrow = rig.store.requests, rig.store.requests_awaiting_turn

        async def counted(*states: State) -> list[CallbackRequest]:
            reads.append(states)
            return await every(*states)

        async def counted_narrow(*states: State) -> list[CallbackRequest]:
            watched.append(states)
            return await narrow(*states)

        monkeypatch.setattr(rig.store, "requests", counted)
        monkeypatch.setattr(rig.store, "requests_awaiting_turn", counted_narrow)
        customer_first = await rig.add(LISTED, mode=Mode.CUSTOMER_FIRST)
        preferred = await rig.add(OTHER, preferred_agent="PJSIP/agent2")
        for request in (customer_first, preferred):
            await rig.serving.request_stored(request)
        await rig.until(customer_first.id, lambda r: r.state is State.CALLING, "its turn came")
        offered = await rig.until(preferred.id, lambda r: r.state is State.OFFERED, "agent2")
        assert (offered.agent, offered.affinity) == ("PJSIP/agent2", "ringing")
        assert (State.WAITING,) in watched
        assert (State.WAITING,) not in reads
