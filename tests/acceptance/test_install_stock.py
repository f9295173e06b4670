"""Issue 17 item 1: the component installed into Debian's stock Asterisk configuration (the
asterisk-config package's sample files, in the sandbox root) serves a callback over SIP.

The test plays the admin of docs/tutorials/add-to-asterisk.md: a copy of the stock
/etc/asterisk gets their SIP endpoints (agents, the carrier trunk named pstn), a queue whose
exit context is the component's and a flow that puts callers into it at a level; then
`agi-callback install-asterisk-config` adds the component, twice (the second run changes
nothing). Asterisk starts on that directory (docker/sandbox, CALLBACK_SANDBOX_CONF) with the
sounds the installer wrote and none of the repo's (CALLBACK_SANDBOX_SOUNDS), and the running
service serves a caller's callback: the agent rung first with the screen-pop, then the
customer. Afterwards the sandbox is restarted on the test bed's configuration.
"""

import difflib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from agi_app.config.settings import Settings
from agi_app.domain.request import CallOutcome, ContactOutcome, State
from tests.acceptance.calls import (
    SUCCESS,
    Phones,
    calling,
    hang_up_agent,
    in_queue,
    invites,
    placeholder_at,
    set_paused,
    the_request,
)
from tests.support.ami import action, ami_client, cli, queue_callers, sandbox_secret
from tests.support.postgres import ONE_STORE
from tests.support.rtp import wait_heard
from tests.support.testbed import AGENTS, LOOPBACK, current
from tests.support.uas import Behaviour

# The store plays no part in what these tests show (SIP authentication, the installation).
pytestmark = ONE_STORE

REPO = Path(__file__).resolve().parents[2]
ASTERISK = current().asterisk

# The admin's queue, as docs/tutorials/add-to-asterisk.md shows it: the component's exit
# context takes key 1.
QUEUE = """
[support]
strategy = rrmemory
ringinuse = no
timeout = 15
retry = 1
joinempty = yes
leavewhenempty = no
periodic-announce = callback/offer
periodic-announce-frequency = 30
context = callback-queue-exit
member => PJSIP/agent1
member => PJSIP/agent2
member => PJSIP/agent3
"""

# The admin's flow, as docs/tutorials/add-to-asterisk.md shows it: the callback options, then
# the caller into the queue at level 5 (QUEUE_PRIO as callbacks get it).
FLOW = """
[from-pstn]
exten => 5000,1,Answer()
 same => n,Set(CALLBACK_OPTIONS=queue=support,priority=5,destination=original)
 same => n,Gosub(live-queue,s,1(support,5))
 same => n,Hangup()

[agents]
exten => _X.,1,Hangup(21)
"""

# The test suite's own AMI account (reset, CLI), as the test bed's manager.conf adds it (the
# tests' clients come from LOOPBACK, whichever instance they reach).
TESTS_ACCOUNT = f"""[tests]
deny = 0.0.0.0/0.0.0.0
permit = {LOOPBACK}/255.255.255.255
read = all
write = system,call,originate,agent,user,reporting,command
#tryinclude "/etc/callback-secrets/tests.conf"
"""


def install(conf: Path, sounds: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "agi_app", "install-asterisk-config", str(conf),
         "--sounds-dir", str(sounds), "--ami-secret-file", str(sandbox_secret("callback"))],
        check=True, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    return out.stdout


def added(before: bytes, after: bytes) -> list[str]:
    old, new = (b.decode("utf-8", "surrogateescape").splitlines() for b in (before, after))
    diff = difflib.ndiff(old, new)
    changed = [d for d in diff if d[:2] in ("- ", "+ ")]
    assert all(d.startswith("+ ") for d in changed), changed
    return [d[2:] for d in changed]


@pytest.fixture
def stock(sandbox: None, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A copy of the root's stock /etc/asterisk with the admin's additions, and a sounds dir."""
    root = ASTERISK.sandbox("root")
    conf, sounds = tmp_path / "asterisk", tmp_path / "sounds"
    # -a: Asterisk runs as the root's asterisk user, which must still read the 0640 files.
    subprocess.run(["cp", "-a", f"{root.stdout.strip()}/etc/asterisk", str(conf)], check=True)
    with (conf / "pjsip.conf").open("a") as out:  # the admin's agents and trunk
        out.write("\n" + (REPO / "asterisk_conf" / "pjsip.conf").read_text())
    with (conf / "queues.conf").open("a") as out:
        out.write(QUEUE)
    with (conf / "extensions.conf").open("a") as out:
        out.write(FLOW)
    (conf / "manager.d" / "tests.conf").write_text(TESTS_ACCOUNT)
    yield conf, sounds


@pytest.fixture
def installed(stock: tuple[Path, Path]) -> tuple[Path, Path]:
    conf, sounds = stock
    before = {p: p.read_bytes() for p in conf.rglob("*") if p.is_file()}
    first = install(conf, sounds)
    assert 'added #include "extensions_agi_callback.conf"' in first
    second = install(conf, sounds)
    assert "Nothing to change" in second
    for path, data in before.items():  # the admin's files: one #include line more, at most
        lines = added(data, path.read_bytes())
        assert lines == ([] if path.name != "extensions.conf" else
                         ['#include "extensions_agi_callback.conf"']), path  # fmt: skip
    return conf, sounds


@pytest.fixture
async def stock_ami(installed: tuple[Path, Path]) -> AsyncIterator[Manager]:
    """Asterisk running on the installed stock configuration, agents paused; afterwards the
    sandbox as every other test has it."""
    conf, sounds = installed
    try:
        ASTERISK.down()
        stock = {"CALLBACK_SANDBOX_CONF": str(conf), "CALLBACK_SANDBOX_SOUNDS": str(sounds)}
        ASTERISK.sandbox("up", env=stock)
        async with ami_client() as manager:
            # AMI answers before the stock configuration's many modules are loaded: a caller
            # then finds no queue yet.
            await cli(manager, "core waitfullybooted")
            for agent in AGENTS:
                await set_paused(manager, agent, True)
            yield manager
    finally:
        ASTERISK.down()
        ASTERISK.up()


async def test_stock_debian_asterisk_with_the_component_serves_a_callback(
    stock_ami: Manager,
    settings: Settings,
    phones: Phones,
    tmp_path: Path,
) -> None:
    ami = stock_ami
    agent, _ = await phones.start(5071, Behaviour.ANSWER, "agent1")
    customer, _ = await phones.start(5090, Behaviour.ANSWER, "carrier")
    number = "+15551230301"
    async with Service(settings) as service, AsyncExitStack() as stack:
        assert service.store is not None
        caller, sink = await stack.enter_async_context(calling(tmp_path, "5000", number, ["1"]))
        await in_queue(ami, number)
        await caller.nudge()
        try:  # the installed prompt: nothing else is there
            await wait_heard(sink, SUCCESS, timeout=20)
        except AssertionError as exc:  # what Asterisk and the store had, for the report
            queue = await queue_callers(ami, "support")
            stored = await service.store.requests()
            raise AssertionError(f"{exc}; queue: {queue}; stored: {stored}") from exc
        await caller.finished()
        assert caller.received("BYE")
        (placeholder,) = await placeholder_at(ami, 1, 1)
        (language,) = await action(
            ami, Action="Getvar", Channel=placeholder["Channel"], Variable="CHANNEL(language)"
        )
        assert language.get("Value") == "callback-placeholder"
        assert "callback-placeholder" in await cli(ami, "core show sound callback/offer")
        assert customer.invites() == []

        await set_paused(ami, AGENTS[0], False)
        (offer,) = await invites(agent, 1)
        request = await the_request(service.store, State.CONNECTED, State.DONE)
        assert offer["x-callback-request-id"] == request.id
        assert offer["from_user"] == number
        (dialed,) = await invites(customer, 1)
        assert dialed["request_uri"].startswith(ASTERISK.carrier_uri(number))
        # Hung up once the customer's answer is seen (the INVITE alone is not an answer).
        await the_request(service.store, State.CONNECTED)
        await hang_up_agent(ami, AGENTS[0])
        done = await the_request(service.store, State.DONE)
    assert (done.call_outcome, done.contact_outcome) == (
        CallOutcome.ANSWERED,
        ContactOutcome.ANSWERED,
    )
    assert (done.queue, done.priority, done.agent) == ("support", 5, AGENTS[0])
