"""The test bed a test runs on: one per pytest-xdist worker, each with Asterisks of its own.

Worker ``gwK`` (or a run without xdist, K = 0) owns two sandboxed Asterisks (``docker/sandbox``
instances 2K+1 and 2K+2): its main one on 127.0.0.(2K+1) and its second server on
127.0.0.(2K+2), with the same ports and identities as the contract of docs/testbed.md. Worker 0
is the contract itself (127.0.0.1, the second on 127.0.0.2), so a run without xdist, `make run`
and the scripts run by hand use the addresses the docs name. The agents' phones and the
carrier answer on the Asterisk's own address (ports 5071-5073 and 5090), and the service under
test listens for FastAGI on it (4573): two workers never share a socket, a queue, an astdb or a
queue_log. What only the test itself talks to (RTP sinks, HTTP receivers) listens on
``LOOPBACK``, on ports the kernel or the worker's own port range gives.

Everything outside pytest that the tests start (the service as a process, the benchmark and
trial scripts) finds the same bed: xdist's PYTEST_XDIST_WORKER is in their environment, and a
script run by hand is worker 0 unless CALLBACK_TESTBED_WORKER says otherwise.

An address literal in a test other than here is a bug (`make lint` checks it).
"""

import asyncio
import os
import re
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[2]
SANDBOX = str(REPO / "docker" / "sandbox")

# Where the tests' own listeners are (RTP sinks, webhook receivers, proxies): every worker's.
LOOPBACK = "127.0.0.1"

# The test bed's customers have fictional +1555 numbers, which belong to no region: the
# destination policy refuses them unless the admin allows the prefix, as the test bed does.
TESTBED_NUMBERS = ["+1555"]

# The members of queue support (asterisk_conf/queues.conf), the same on every Asterisk.
AGENTS = ("PJSIP/agent1", "PJSIP/agent2", "PJSIP/agent3")

SIP_PORT = 5060
AMI_PORT = 5038
AGI_PORT = 4573
AGENT_PORTS = {"agent1": 5071, "agent2": 5072, "agent3": 5073}
CARRIER_PORT = 5090
# The standby service's FastAGI port in the standby tests (tests/acceptance/test_standby.py):
# the second service process listens there, the first keeps AGI_PORT. docker/compose.yaml's
# `postgres` profile runs its standby on the same port (tests/unit/test_compose.py checks).
STANDBY_AGI_PORT = 4574

# Ports the worker's SIPp callers and phones' media may take: a range of its own per worker
# (below Asterisk's RTP range, 20000+, and the kernel's ephemeral range, 32768+, which RTP
# sinks and clients draw from), so that no two workers ever pick the same port.
_PORTS_FROM = 10000
_PORTS_PER_WORKER = 1200
WORKER_ENV = "CALLBACK_TESTBED_WORKER"


@dataclass(frozen=True)
class Asterisk:
    """One sandboxed Asterisk (``CALLBACK_SANDBOX_INSTANCE=instance docker/sandbox``)."""

    instance: int
    systemname: str = ""  # asterisk.conf's: uniqueids start with "<systemname>-"

    @property
    def host(self) -> str:
        return f"127.0.0.{self.instance}"

    @property
    def sip(self) -> str:
        """Its PJSIP transport, as SIPp takes it (host:port)."""
        return f"{self.host}:{SIP_PORT}"

    @property
    def uniqueid_prefix(self) -> str:
        return f"{self.systemname}-" if self.systemname else ""

    def agi_url(self, script: str, port: int = AGI_PORT) -> str:
        """The FastAGI URL its dialplan names for ``script`` (the service listens there)."""
        return f"agi://{self.host}:{port}/{script}"

    def contact(self, agent: str) -> str:
        """An agent's static contact (asterisk_conf/pjsip.conf), as the INVITE's Request-URI."""
        return f"sip:{agent}@{self.host}:{AGENT_PORTS[agent]}"

    def carrier_uri(self, number: str) -> str:
        """Where a customer is dialed: the Request-URI of the carrier's INVITE."""
        return f"sip:{number}@{self.host}:{CARRIER_PORT}"

    # The sandbox commands, on this instance.

    def sandbox(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> "subprocess.CompletedProcess[str]":
        """``docker/sandbox ARGS`` on this instance (``env``: more of its environment, such
        as CALLBACK_SANDBOX_CONF)."""
        return subprocess.run(
            [SANDBOX, *args],
            env={**os.environ, **self.environment(), **(env or {})},
            check=check,
            capture_output=True,
            text=True,
        )

    def environment(self) -> dict[str, str]:
        return {
            "CALLBACK_SANDBOX_INSTANCE": str(self.instance),
            "CALLBACK_SANDBOX_SYSTEMNAME": self.systemname,
        }

    def up(self, env: dict[str, str] | None = None) -> None:
        """Start it (if down) and return once it has fully booted: AMI answering is not
        enough, app_queue and PJSIP may still be loading."""
        self.sandbox("up", env=env)
        self.sandbox("cli", "core waitfullybooted")

    def down(self) -> None:
        self.sandbox("down")

    def is_up(self) -> bool:
        return self.sandbox("status", check=False).returncode == 0

    async def restart(self) -> None:
        """Down and up again (fully booted), off the event loop."""
        await asyncio.to_thread(self.down)
        await asyncio.to_thread(self.up)

    def cli(self, command: str) -> str:
        return self.sandbox("cli", command).stdout

    def state_dir(self) -> Path:
        """The directory whose var/lib/asterisk (astdb), var/log/asterisk (queue_log,
        messages.log) and var/spool/asterisk this instance writes: the root itself for
        instance 1, its run directory for the others (beside them, etc-asterisk: its
        generated configuration)."""
        root = Path(self.sandbox("root").stdout.strip())
        return root if self.instance == 1 else root.parent / f"run{self.instance}"

    def queue_log(self) -> Path:
        return self.state_dir() / "var" / "log" / "asterisk" / "queue_log"

    def voice_messages(self) -> Path:
        """Where this instance's Record() puts the callers' voice messages (the shipped
        voice_messages.asterisk_dir), as this host sees it."""
        return self.state_dir() / "var" / "spool" / "asterisk" / "callback-messages"

    def lockfile(self) -> Path:
        """The file held (flock) by whoever uses this instance: a test session, a person."""
        return Path(self.sandbox("lockfile").stdout.strip())


@dataclass
class TestBed:
    """A worker's test bed: its Asterisk, its second server, its ports, its PostgreSQL."""

    __test__ = False  # not a test class, whatever its name

    worker: int
    asterisk: Asterisk
    second: Asterisk
    _postgres: "PostgresServer | None" = field(default=None, repr=False)

    @classmethod
    def for_worker(cls, worker: int) -> "TestBed":
        if not 0 <= worker < 127:
            raise ValueError(f"test bed worker {worker}: 0 to 126 (two addresses each)")
        return cls(worker, Asterisk(2 * worker + 1), Asterisk(2 * worker + 2, systemname="b"))

    @property
    def host(self) -> str:
        """The main Asterisk's address: its SIP, AMI and phones, and the service's FastAGI."""
        return self.asterisk.host

    def url(self, port: int | None, path: str = "") -> str:
        """A URL of the service under test's web (the acceptance tier's web_host is the
        worker's address); ``port``: the running service's ``web_port``."""
        assert port is not None, "the service's web is not running"
        return f"http://{self.host}:{port}{path}"

    def udp_ports(self) -> range:
        """The ports this worker's SIPp processes may bind."""
        start = _PORTS_FROM + self.worker * _PORTS_PER_WORKER
        return range(start, start + _PORTS_PER_WORKER)

    def postgres(self) -> "PostgresServer":
        """The worker's throwaway PostgreSQL server (tests/support/postgres.py), started on
        first use; stopped by ``close``."""
        if self._postgres is None:
            from tests.support.postgres import start  # psycopg only where a test needs it

            self._postgres = start()
        return self._postgres

    def close(self) -> None:
        if self._postgres is not None:
            self._postgres.stop()
            self._postgres = None


def worker_index(environ: "os._Environ[str] | dict[str, str] | None" = None) -> int:
    """This process's worker: xdist's gwK, else CALLBACK_TESTBED_WORKER, else 0."""
    env = os.environ if environ is None else environ
    name = env.get("PYTEST_XDIST_WORKER", "")
    if match := re.fullmatch(r"gw(\d+)", name):
        return int(match.group(1))
    return int(env.get(WORKER_ENV) or 0)


@cache
def current() -> TestBed:
    """The test bed of this process (the same object for the whole run)."""
    return TestBed.for_worker(worker_index())
