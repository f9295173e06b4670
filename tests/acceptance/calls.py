"""What the acceptance tests do with phones: call in, wait in the queue, bring agents in."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from panoramisk import Manager

from agi_app.domain.request import CallbackRequest, State
from agi_app.store_open import ServiceStore
from tests.support.ami import action, eventually, eventually_local, queue_callers
from tests.support.rtp import RtpSink, load_prompt, match_score, wait_heard
from tests.support.sipp import Caller
from tests.support.uas import Behaviour, Phone

SOUNDS = Path(__file__).resolve().parents[2] / "sounds" / "callback"
SUCCESS = SOUNDS / "request-successful.wav"
ERROR = SOUNDS / "error-in-request.wav"


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
        self, port: int, behaviour: Behaviour, name: str, host: str = "127.0.0.1"
    ) -> tuple[Phone, RtpSink]:
        """A phone on ``host``:``port`` (127.0.0.2 for the second Asterisk's agents and carrier)."""
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
