"""Calling rules through the request handler, over FastAGI, against a scripted Asterisk: a
caller on the do-not-call list (the settings' or the store's) hears the error prompt and
nothing is stored; the flow's customer_hours option, else the queue's, is kept with the
request."""

from collections.abc import AsyncIterator, Callable

import pytest

from agi_app.config.calling_rules import CallingRules
from agi_app.domain.calling_rules import DoNotCallEntry
from agi_app.domain.numbers import NumberRules
from agi_app.ivr.fastagi import FastAgiServer
from agi_app.ivr.request_dialogue import RequestHandler
from agi_app.store.memory import MemoryStore
from tests.support.fake_asterisk import AgiCall
from tests.support.store_samples import NOW

SUCCESS = 'SET VARIABLE CALLBACK_PROMPT "callback/request-successful"'
ERROR = 'SET VARIABLE CALLBACK_PROMPT "callback/error-in-request"'
RULES = CallingRules(do_not_call=["+15551230009"], customer_hours={"support": "09:00-20:00"})
Session = tuple[MemoryStore, int]


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    store = MemoryStore()
    handler = RequestHandler(store, NumberRules(allowed_prefixes=("+1555",)), calling_rules=RULES)
    server = FastAgiServer({"callback": handler}, allowed_peers=["127.0.0.1"])
    await server.start("127.0.0.1", 0)
    yield store, server.port
    await server.stop()


def in_queue(command: str) -> str:
    return "200 result=1 (1|1|5|30)" if command.startswith("GET FULL VARIABLE") else "200 result=1"


async def ask(port: int, number: str, *options: str) -> list[str]:
    reply: Callable[[str], str] = in_queue
    call = AgiCall(["queue=support", *options], callerid=number, uniqueid=number, reply=reply)
    return await call.run(port)


async def test_a_listed_caller_hears_the_error_and_nothing_is_stored(session: Session) -> None:
    store, port = session
    # The phone intake reads the store's entries at most every SWEEP_EVERY_S (one read for a
    # burst of callers): this one is there before the first caller.
    await store.add_do_not_call(DoNotCallEntry("+1555123001*", NOW, "api:crm"))
    assert (await ask(port, "+15551230009"))[-1] == ERROR  # the settings' entry
    assert (await ask(port, "+15551230011"))[-1] == ERROR  # the store's prefix
    assert await store.requests() == []


async def test_the_flows_option_else_the_queues_window_is_kept(session: Session) -> None:
    store, port = session
    assert (await ask(port, "+15551230021", "customer_hours=08:00-12:00/14:00-21:00"))[-1] == (
        SUCCESS
    )
    (request,) = await store.requests()
    assert request.customer_hours == "08:00-12:00/14:00-21:00"
    assert (await ask(port, "+15551230022"))[-1] == SUCCESS
    queue_default = next(r for r in await store.requests() if r.callback_number.endswith("22"))
    assert queue_default.customer_hours == "09:00-20:00"
