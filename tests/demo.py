"""`make demo`: one callback from request to outcome, played by SIPp phones on the sandbox.

A customer on 5000 presses 1 and hangs up; agent1's phone (SIPp) rings with the screen-pop
and answers; the customer's phone (SIPp on the carrier port) rings and answers; after a
short talk the agent hangs up. The request's timeline is printed as it happens, then the
service keeps running with its Live view until Ctrl-C.
"""

import asyncio
import contextlib
import os
import signal
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import State
from tests.acceptance.calls import (
    Phones,
    hang_up_agent,
    in_queue,
    placeholder_at,
    set_paused,
    the_request,
)
from tests.support.ami import ami_client, cli
from tests.support.rtp import RtpSink, wait_heard
from tests.support.sipp import Caller
from tests.support.testbed import AGENT_PORTS, CARRIER_PORT, TESTBED_NUMBERS, current
from tests.support.uas import Behaviour

SOUNDS = Path(__file__).resolve().parents[1] / "sounds" / "callback"
TALK_S = 3.0


async def timeline(service: Service, done: asyncio.Event) -> None:
    assert service.store is not None
    printed = 0
    while not done.is_set():
        for request in await service.store.requests():
            events = await service.store.events(request.id)
            for event in events[printed:]:
                detail = ", ".join(f"{k}={v}" for k, v in event.detail.items() if v not in ("", []))
                print(
                    f"  {event.at:%H:%M:%S.%f}"[:-3] + f"  {event.state:<9} {event.event} {detail}"
                )
            printed = len(events)
        await asyncio.sleep(0.1)


async def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="callback-demo-"))
    token = os.environ.get("CALLBACK_WEB_TOKEN", "demo-token")  # a supervisor token
    bed = current()  # the sandboxed Asterisk; FastAGI and the web on its address
    settings = Settings(
        ami_host=bed.host, agi_host=bed.host, web_host=bed.host,
        store_path=workdir / "callbacks.sqlite3", web_token=token,
        allowed_number_prefixes=TESTBED_NUMBERS,
    )  # fmt: skip
    async with ami_client() as ami, Service(settings) as service, AsyncExitStack() as stack:
        await cli(ami, "channel request hangup all")
        for agent in ("PJSIP/agent1", "PJSIP/agent2", "PJSIP/agent3"):
            await set_paused(ami, agent, True)
        phones = Phones(stack, workdir)
        await phones.start(AGENT_PORTS["agent1"], Behaviour.ANSWER, "agent1")
        await phones.start(CARRIER_PORT, Behaviour.ANSWER, "carrier")
        print(f"Live view: {bed.url(service.web_port, '/')}  (agents: /agents;"
              f" token {token!r})")  # fmt: skip
        print("Timeline of the callback:")
        done = asyncio.Event()
        printer = asyncio.ensure_future(timeline(service, done))

        sink = await stack.enter_async_context(RtpSink())
        caller = Caller("5000", "+15551230001", workdir, name="Demo Caller", key_groups=["1"],
                        rtp_port=sink.port)  # fmt: skip
        await caller.start()
        await in_queue(ami, "+15551230001")
        print("  -- the caller waits in queue support and presses 1")
        await caller.nudge()
        await wait_heard(sink, SOUNDS / "request-successful.wav", timeout=20)
        await caller.finished()
        print("  -- the caller heard 'Request successful' and hung up")
        await placeholder_at(ami, 1, 1)
        print("  -- agent1 becomes available")
        await set_paused(ami, "PJSIP/agent1", False)
        assert service.store is not None
        await the_request(service.store, State.CONNECTED)
        print("  -- agent and customer talk")
        await asyncio.sleep(TALK_S)  # a show, not a test: let them talk a little
        await hang_up_agent(ami, "PJSIP/agent1")
        request = await the_request(service.store, State.DONE)
        await asyncio.sleep(0.3)
        done.set()
        await printer
        print(f"Outcome: {request.call_outcome} / {request.contact_outcome}")
        await set_paused(ami, "PJSIP/agent1", True)
        print(f"Live view: {bed.url(service.web_port, '/')}  (sign in with the"
              f" token {token!r}) - Ctrl-C to stop")  # fmt: skip
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
