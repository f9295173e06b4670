"""Reconciliation at each AMI login: make the store agree with Asterisk, then let placement
go on. Events were lost while the link was down (or the service was)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from panoramisk.message import Message

from agi_app.domain import lifecycle as lc
from agi_app.domain.affinity import RINGING
from agi_app.domain.channel_ids import Leg, channel_id
from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.options import Mode
from agi_app.domain.request import WAITING_STATES, CallbackRequest, State
from agi_app.pbx.ami import AmiError
from agi_app.serving.backoff import Retry
from agi_app.serving.notifier import Notifier
from agi_app.serving.pbx import Pbx
from agi_app.serving.placer import Placer
from agi_app.serving.unit_of_work import UnitOfWork
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)


def _epoch(text: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        return None


@dataclass
class Reconciler:
    store: RequestStore
    pbx: Pbx
    unit_of_work: UnitOfWork
    placer: Placer
    notifier: Notifier
    clock: Callable[[], datetime]
    _logins: int = field(default=0, init=False)  # resume() calls: a newer one supersedes

    async def resume(self) -> None:
        """After (re)connecting: make the store agree with Asterisk, then place what is due.

        Retried with backoff while it fails (a locked store): until it succeeds nothing is
        placed, so it must not give up while this login lasts. A newer login's resume
        supersedes it.
        """
        self._logins += 1
        login = self._logins

        async def attempt() -> AmiError | None:
            if login != self._logins:
                return None  # superseded
            try:
                await self._resume()
            except AmiError as exc:
                return exc  # not retried: AMI is gone, and this login with it
            return None

        retry = Retry("resume failed", log, expected=(StoreUnavailable,), level=logging.ERROR)
        if interrupted := await retry.until_passed(attempt, bug_tries=None):
            log.warning("resume interrupted (%s); it runs again at the next login", interrupted)

    async def _resume(self) -> None:
        """A placeholder still in its queue is kept (never placed twice); a customer leg still
        up goes on reporting; one that ended meanwhile left its outcome in AstDB; anything
        else lost its place and is placed again, one at a time in serving order so that each
        sees the ones before it.
        """
        active = await self.store.requests(*(s for s in State if s is not State.DONE))
        await self.pbx.until_booted()
        await self.pbx.until_queues_answer()
        queued = await self.pbx.queued_uniqueids(r.queue for r in active)
        channels = await self.pbx.channels()
        for request in active:
            await self._reconcile(request, queued, channels)
        await self._hang_up_strays(active)
        self.notifier.recount(await self.store.requests(*WAITING_STATES))
        pending = await self.store.requests(State.PENDING)
        self.placer.resumed([r.id for r in pending])
        log.info("resume done: %s active, %s to place", len(active), len(pending))

    async def _hang_up_strays(self, active: list[CallbackRequest]) -> None:
        """A placeholder of no request waiting at that attempt (one cancelled while its
        placement was under way, a superseded attempt, a store that is not ours) must not be
        served: hung up, as one joining while we listen is (AmiEvents.caller_joined)."""
        current = {channel_id(r.id, r.attempt, Leg.PLACEHOLDER) for r in active}
        for uniqueid, channel in (await self.pbx.placeholders_queued()).items():
            if uniqueid not in current:
                log.warning("hanging up stray placeholder %s found at login", uniqueid)
                await self.pbx.hangup(channel)

    async def _reconcile(
        self, request: CallbackRequest, queued: set[str], up: dict[str, Message]
    ) -> None:
        apply = self.unit_of_work.apply
        now = self.clock()
        attempt = request.attempt
        placeholder = channel_id(request.id, attempt, Leg.PLACEHOLDER)
        customer_leg = channel_id(request.id, attempt, Leg.CUSTOMER)
        if attempt == 0:
            return  # never placed: placement follows
        if request.state in (State.CALLING, State.QUEUED) or (
            request.mode is Mode.CUSTOMER_FIRST and request.state is State.CONNECTED
        ):
            await self._reconcile_customer_first(request, queued, up)
            return
        if request.affinity == RINGING and request.state is State.OFFERED:
            await self._reconcile_ring(request, up)
            return
        if placeholder in queued:
            await apply(request.id, lc.Joined(attempt, now))  # if not yet known
        elif customer_leg in up and placeholder in up:
            # An agent took it while we were away; the leg is bridged once the customer answered.
            if request.state in (State.PENDING, State.WAITING, State.OFFERED):
                await apply(request.id, lc.AgentAnswered(attempt, request.agent or "", now))
            if up[customer_leg].get("BridgeId"):
                await apply(request.id, lc.CustomerAnswered(attempt, now))
        elif request.state in (State.DIALING, State.CONNECTED):
            await self._recover_leg(request)
        elif (record := await self.pbx.leg_record(request.id)) and record[0] == str(attempt):
            # Served from start to end while we were away.
            await apply(request.id, lc.AgentAnswered(attempt, request.agent or "", now))
            await self._recover_leg(request, record)
        else:
            await apply(request.id, lc.PlaceholderLost(request.attempt, now))

    async def _reconcile_ring(self, request: CallbackRequest, up: dict[str, Message]) -> None:
        """Agent affinity: its preferred agent was ringing when we went away. Answered (the
        ;1 half is up once the agent answered), it goes on as agent first; served and ended
        meanwhile, AstDB says how; still ringing, the ring is stopped (its answer could no
        longer be told from a stale one), and any agent takes it at its place."""
        apply = self.unit_of_work.apply
        now = self.clock()
        attempt = request.attempt
        customer_leg = channel_id(request.id, attempt, Leg.CUSTOMER)
        if customer_leg in up and up[customer_leg].get("ChannelStateDesc") == "Up":
            await apply(request.id, lc.AgentAnswered(attempt, request.agent or "", now))
            if up[customer_leg].get("BridgeId"):
                await apply(request.id, lc.CustomerAnswered(attempt, now))
        elif (record := await self.pbx.leg_record(request.id)) and record[0] == str(attempt):
            await apply(request.id, lc.AgentAnswered(attempt, request.agent or "", now))
            await self._recover_leg(request, record)
        else:
            if (ring := up.get(channel_id(request.id, attempt, Leg.AGENT))) is not None:
                await self.pbx.hangup(str(ring.get("Channel")))
            why = "the service was away while the preferred agent rang"
            await apply(request.id, lc.AffinityOver(attempt, why, now))

    async def _reconcile_customer_first(
        self, request: CallbackRequest, queued: set[str], up: dict[str, Message]
    ) -> None:
        """Customer first, served from its turn on: the customer's own channel tells. Still
        up, it goes on reporting (one found in the queue joined meanwhile); gone, its call
        ended unseen (a retry while checked, abandoned while waiting, answered if talking)."""
        apply = self.unit_of_work.apply
        now = self.clock()
        attempt = request.attempt
        called = channel_id(request.id, attempt, Leg.CALLED)
        if called in queued:
            await apply(request.id, lc.CustomerJoined(attempt, now))
            return
        if called in up:
            return
        # Ended while we were away: [callback-customer-first-end] kept how, in AstDB.
        record = await self.pbx.leg_record(request.id)
        if record is not None and record[:2] == ["first", str(attempt)]:
            _, _, key, member, ended = record
            at = _epoch(ended) or now
            if key == "1":
                await apply(request.id, lc.CustomerJoined(attempt, at))
            if member:
                await apply(request.id, lc.AgentAnswered(attempt, member, at))
            await apply(request.id, lc.CallEnded(attempt, at))
            return
        log.warning("callback %s: the customer's call ended unseen, no record", request.id)
        await apply(request.id, lc.CallEnded(attempt, now))

    async def _recover_leg(self, request: CallbackRequest, record: list[str] | None = None) -> None:
        """The customer leg ended while we were away: read how from AstDB."""
        apply = self.unit_of_work.apply
        record = record or await self.pbx.leg_record(request.id)
        now = self.clock()
        attempt = request.attempt
        if record is None or record[0] != str(attempt):
            log.warning("callback %s: customer leg ended unseen, no record", request.id)
            await apply(request.id, lc.CallEnded(attempt, now))
            return
        _, dialed, status, answered, ended = record
        ended_at = _epoch(ended) or now
        if _epoch(dialed):
            await apply(request.id, lc.CustomerDialed(attempt, _epoch(dialed) or now))
        if status == "ANSWER":
            talk = timedelta(seconds=float(answered or 0))
            await apply(request.id, lc.CustomerAnswered(attempt, ended_at - talk))
            await apply(request.id, lc.CallEnded(attempt, ended_at))
        elif status:
            await apply(request.id, lc.CustomerUnreached(attempt, status, ended_at))
        else:
            await apply(request.id, lc.CallEnded(attempt, ended_at))
