"""What the acceptance tests do with phones: call in, wait in the queue, bring agents in; and
what they read of the service's store, or put in it before the service starts."""

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import CallbackRequest, CallOutcome, ContactOutcome, State
from agi_app.store.open import ServiceStore, StoreConfig, open_store
from tests.support.ami import action, eventually, eventually_local, queue_callers
from tests.support.rtp import RtpSink, load_prompt, match_score, wait_heard
from tests.support.sipp import Caller
from tests.support.uas import Behaviour, Phone

SOUNDS = Path(__file__).resolve().parents[2] / "sounds" / "callback"
SUCCESS = SOUNDS / "request-successful.wav"
ERROR = SOUNDS / "error-in-request.wav"
AGENT1 = "PJSIP/agent1"


@asynccontextmanager
async def calling(
    workdir: Path, did: str, number: str, keys: list[str], **kwargs: object
) -> AsyncIterator[tuple[Caller, RtpSink]]:
    """A customer on the carrier calling ``did``; their SDP points at an RtpSink."""
    async with RtpSink() as sink:
        caller = Caller(did, number, workdir, key_groups=keys, rtp_port=sink.port, **kwargs)  # type: ignore[arg-type]
        await caller.start()
        try:
            yield caller, sink
        finally:
            await caller.kill()


async def in_queue(ami: Manager, number: str, queue: str = "support") -> dict[str, str]:
    entries = await eventually(
        lambda: queue_callers(ami, queue),
        lambda es: any(e.get("CallerIDNum") == number for e in es),
        within=20,
        what=f"{number} waiting in {queue}",
    )
    return next(e for e in entries if e.get("CallerIDNum") == number)


def not_heard(sink: RtpSink, prompt: Path) -> bool:
    return match_score(sink.samples(), load_prompt(prompt)) < 0.5


async def set_paused(ami: Manager, agent: str, paused: bool) -> None:
    await action(
        ami, Action="QueuePause", Queue="support", Interface=agent, Paused=str(paused).lower()
    )


async def hang_up_agent(ami: Manager, agent: str) -> None:
    """What the agent's hang-up key does: end the call on the agent's channel."""
    await action(ami, Action="Hangup", Channel=f"/^{agent.replace('/', '.')}-/")


class Phones:
    """Agents and the carrier, each with an RtpSink for what it hears."""

    def __init__(self, stack: AsyncExitStack, workdir: Path) -> None:
        self._stack = stack
        self._workdir = workdir

    async def start(
        self, port: int, behaviour: Behaviour, name: str, host: str = ""
    ) -> tuple[Phone, RtpSink]:
        """A phone on ``host``:``port`` (the worker's Asterisk's address unless given: the
        second server's agents and carrier are on its own)."""
        sink = await self._stack.enter_async_context(RtpSink())
        phone = Phone(port, self._workdir, behaviour, rtp_port=sink.port, name=name, host=host)
        await self._stack.enter_async_context(phone)
        return phone, sink


async def the_request(store: ServiceStore, *states: State, within: float = 20) -> CallbackRequest:
    (request,) = await eventually(
        lambda: store.requests(*states),
        lambda rs: len(rs) == 1,
        within=within,
        what=f"one request in {states}",
    )
    return request


async def invites(phone: Phone, count: int, within: float = 20) -> list[dict[str, str]]:
    return await eventually_local(
        phone.invites,
        lambda i: len(i) >= count,
        within=within,
        what=f"{count} INVITEs to {phone.name}",
    )


async def invite_from(phone: Phone, number: str, within: float = 20) -> dict[str, str]:
    """The INVITE of ``number``'s call. Not simply the first INVITE: after a restart of
    Asterisk an earlier test's agents were rung with no phone listening, and Asterisk
    retransmits such an INVITE for up to 32 s (it cannot CANCEL before a provisional
    answer), so a phone started on the same port may receive it first."""
    offers = await eventually_local(
        phone.invites,
        lambda i: any(o.get("from_user") == number for o in i),
        within=within,
        what=f"an INVITE of {number} to {phone.name}",
    )
    return next(o for o in offers if o.get("from_user") == number)


async def request_callback(
    stack: AsyncExitStack, ami: Manager, workdir: Path, did: str, number: str, **kw: object
) -> Caller:
    """A caller on ``did`` presses 1 in the queue and hears success."""
    caller, sink = await stack.enter_async_context(calling(workdir, did, number, ["1"], **kw))
    await in_queue(ami, number)
    await caller.nudge()
    await wait_heard(sink, SUCCESS, timeout=20)
    await caller.finished()
    return caller


async def placeholder_at(ami: Manager, position: int, count: int) -> list[dict[str, str]]:
    return await eventually(
        lambda: queue_callers(ami, "support"),
        lambda es: len(es) == count and not es[position - 1]["Channel"].startswith("PJSIP/"),
        within=10,
        what=f"placeholder at position {position} of {count}",
    )


def store(service: Service) -> ServiceStore:
    assert service.store is not None
    return service.store


async def stored_requests(
    settings: Settings, numbers: list[str], max_wait: list[int] | None = None
) -> None:
    """Requests already in the store before the service starts, oldest first."""
    now = datetime.now(UTC)
    async with open_store(StoreConfig.of(settings)) as stored:
        for i, number in enumerate(numbers):
            seconds = max_wait[i] if max_wait else 3600
            await stored.add(CallbackRequest(
                id=str(uuid.uuid4()), channel=f"held.{i}",
                state=State.PENDING, queue="support", priority=5, position=None,
                caller_name="Held Test", caller_number=number, callback_number=number,
                extension=None, dialed_number="5000", timeout_prompt="callback/timeout",
                queue_entered_at=now - timedelta(seconds=60 - i), requested_at=now,
                expires_at=now + timedelta(seconds=seconds),
            ))  # fmt: skip


async def placeholders(ami: Manager) -> list[str]:
    return [
        e["Uniqueid"]
        for e in await queue_callers(ami, "support")
        if not e["Channel"].startswith("PJSIP/")
    ]


async def served_once(ami: Manager, store: ServiceStore, agent: Phone, customer: Phone) -> None:
    """The one waiting callback reaches agent1, who answers and hangs up: it ends answered on
    its first attempt, its customer dialed once."""
    await set_paused(ami, AGENT1, False)
    await invites(agent, 1)
    await the_request(store, State.CONNECTED)
    await hang_up_agent(ami, AGENT1)
    done = await the_request(store, State.DONE)
    assert (done.call_outcome, done.contact_outcome, done.attempt) == (
        CallOutcome.ANSWERED,
        ContactOutcome.ANSWERED,
        1,
    )
    assert len(customer.invites()) == 1


async def heard_then_press(caller: Caller, sink: RtpSink, prompt: str) -> None:
    await wait_heard(sink, SOUNDS / f"{prompt}.wav", timeout=40)
    await caller.nudge()


async def typed_then_press(
    caller: Caller, sink: RtpSink, ami: Manager, number: str, prompt: str
) -> None:
    await heard_then_press(caller, sink, prompt)
    await in_queue(ami, number)
    await caller.nudge()
