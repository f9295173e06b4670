"""Issue 27 item 4: the two main tutorials, done as a reader would, so that a wrong command on
their pages fails the tests (tests/acceptance/tutorial_reader.py runs their shell blocks).

- docs/tutorials/first-callback.md: `make run`, a SIPp caller pressing 1, SIPp phones for the
  agent and the customer, the callback served and its outcome read with the command line;
- docs/tutorials/add-to-asterisk.md: the wheel `make wheel` builds, installed into a fresh
  venv, the component installed into a copy of Debian's stock /etc/asterisk (with the test
  bed's pjsip.conf as the admin's SIP side), checked, Asterisk reloaded, the service started
  from the tutorial's settings, and a caller's request taken.

The pages name the test bed's contract addresses (docs/testbed.md), which are worker 0's:
`make test` runs these in its serial phase, after the parallel one.
"""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from panoramisk import Manager

from tests.acceptance.calls import SUCCESS, calling, in_queue
from tests.acceptance.tutorial_reader import REPO, Reader, reader_env
from tests.support.ami import action, ami_client, queue_callers
from tests.support.poll import eventually
from tests.support.rtp import wait_heard
from tests.support.testbed import LOOPBACK, current

pytestmark = pytest.mark.serial

TUTORIALS = REPO / "docs" / "tutorials"
PLACEHOLDER = "Local/s@callback-placeholder"  # a placeholder's channel, as the queue shows it
ASTERISK = current().asterisk


@pytest.fixture
def contract_addresses() -> None:
    if current().asterisk.instance != 1:  # worker 0's Asterisk is the contract's
        pytest.fail("the tutorials name the test bed's addresses: run them without xdist")


async def test_your_first_callback(contract_addresses: None, ami: Manager, tmp_path: Path) -> None:
    env = reader_env(
        tmp_path,
        CALLBACK_CONFIG="",  # `make run` with no settings file, as on a fresh clone
        CALLBACK_STORE_PATH=str(tmp_path / "callbacks.sqlite3"),
    )
    paths = {"/tmp/agent1.log": tmp_path / "agent1.log"}
    async with Reader(TUTORIALS / "first-callback.md", paths=paths, env=env) as reader:
        await reader.run()


# The admin's SIP side (the tutorial's step 4): the test bed's endpoints and trunk, a context
# for what agents dial, and the test suite's own AMI account (reset, CLI) as the test bed's
# manager.conf has it.
AGENTS_CONTEXT = """
[agents]
exten => _X.,1,Hangup(21)
"""
TESTS_ACCOUNT = f"""[tests]
deny = 0.0.0.0/0.0.0.0
permit = {LOOPBACK}/255.255.255.255
read = all
write = system,call,originate,agent,user,reporting,command
#tryinclude "/etc/callback-secrets/tests.conf"
"""


@pytest.fixture
def stock_asterisk(sandbox: None, contract_addresses: None, tmp_path: Path) -> Iterator[Path]:
    """The admin's running Asterisk before the tutorial: Debian's stock configuration (the
    sandbox root's /etc/asterisk) with their SIP side, and a sounds directory of its own
    (empty: the tutorial's installer fills it). Afterwards the sandbox as every test has it."""
    root = ASTERISK.sandbox("root").stdout.strip()
    conf, sounds = tmp_path / "asterisk", tmp_path / "sounds"
    # -a: Asterisk runs as the root's asterisk user, which must still read the 0640 files.
    subprocess.run(["cp", "-a", f"{root}/etc/asterisk", str(conf)], check=True)
    with (conf / "pjsip.conf").open("a") as out:
        out.write("\n" + (REPO / "asterisk_conf" / "pjsip.conf").read_text())
    with (conf / "extensions.conf").open("a") as out:
        out.write(AGENTS_CONTEXT)
    (conf / "manager.d" / "tests.conf").write_text(TESTS_ACCOUNT)
    for mounted in ("callback", "callback-placeholder"):  # the sandbox mounts them at start
        (sounds / mounted).mkdir(parents=True)
    try:
        ASTERISK.down()
        ASTERISK.up(
            env={"CALLBACK_SANDBOX_CONF": str(conf), "CALLBACK_SANDBOX_SOUNDS": str(sounds)}
        )
        yield tmp_path
    finally:
        ASTERISK.down()
        ASTERISK.up()


async def test_add_it_to_your_asterisk(stock_asterisk: Path, tmp_path: Path) -> None:
    paths = {
        "/etc/asterisk": tmp_path / "asterisk",
        "/usr/share/asterisk/sounds": tmp_path / "sounds",
        "/etc/agi-callback": tmp_path / "etc-agi-callback",
        "/var/lib/agi-callback": tmp_path / "var-lib-agi-callback",
        "/opt/agi-callback": tmp_path / "opt-agi-callback",
    }

    async def call(number: str, exten: str, key: str) -> None:
        """Step 9: a caller on the trunk, waiting in the queue, presses the key; no agent
        takes calls (no phone answers for them here)."""
        async with ami_client() as ami:
            status = await action(ami, Action="QueueStatus", Queue="support")
            members = [str(m["Location"]) for m in status if m.get("Event") == "QueueMember"]
            assert members, "the tutorial's queue support has no members"
            for member in members:
                await action(
                    ami, Action="QueuePause", Queue="support", Interface=member, Paused="true"
                )
            async with calling(tmp_path, exten, number, [key]) as (caller, sink):
                await in_queue(ami, number)
                await caller.nudge()
                await wait_heard(sink, SUCCESS, timeout=20)
                await caller.finished()
            # The caller has hung up; a placeholder keeps their place.
            await eventually(
                lambda: queue_callers(ami, "support"),
                lambda es: (
                    [e.get("Channel", "")[:28] for e in es] == ["Local/s@callback-placeholder"]
                ),
                within=20,
                what="the placeholder alone in the queue",
            )

    page = TUTORIALS / "add-to-asterisk.md"
    async with Reader(page, paths=paths, env=reader_env(tmp_path), on_call=call) as reader:
        await reader.run()
