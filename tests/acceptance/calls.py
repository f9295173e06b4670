"""What the acceptance tests do with phones: call in, wait in the queue, bring agents in."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from panoramisk import Manager

from tests.support.ami import action, eventually, queue_callers
from tests.support.rtp import RtpSink, load_prompt, match_score
from tests.support.sipp import Caller

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
