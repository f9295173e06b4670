"""The worker's second Asterisk (``testbed.current().second``), for the several-servers tests.

The same root and configuration as the first, on the worker's second address with the same
ports (SIP 5060, AMI 5038), systemname b (its uniqueids start with "b-"), FastAGI to that
address's 4573, agents' phones on it at 5071..5073 and the carrier at 5090 (docs/testbed.md,
"Instances and parallel workers"). Its callers are ``Caller(..., host=HOST)``, its phones
``Phone(..., host=HOST)``.

Like the first, it belongs to one worker: no other test session touches it.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from panoramisk import Manager

from tests.support.ami import ami_client
from tests.support.ami import reset as ami_reset
from tests.support.testbed import current

SECOND = current().second
HOST = SECOND.host
UNIQUEID_PREFIX = SECOND.uniqueid_prefix  # systemname b


@contextmanager
def running() -> Iterator[None]:
    """Up for the block, down after it, whatever happens in it."""
    SECOND.up()
    try:
        yield
    finally:
        SECOND.down()


async def restart() -> None:
    """Down and up again (fully booted), off the event loop."""
    await SECOND.restart()


@asynccontextmanager
async def ami() -> AsyncIterator[Manager]:
    """The tests account on its AMI."""
    async with ami_client(host=HOST) as manager:
        yield manager


async def reset(manager: Manager) -> None:
    """What the acceptance tier does to the first Asterisk before each test (no calls, every
    agent paused), to this one."""
    await ami_reset(manager, " on 2")
