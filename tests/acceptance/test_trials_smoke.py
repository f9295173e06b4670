"""A smoke run of the randomized trials (``make trials`` runs many): two fixed seeds that
between them kill -9 the service, restart Asterisk and freeze the AMI link, with agents that
answer and decline, customers that answer, and customer first callbacks among agent first
ones. (The store locked is test_store_faults'; seed 29 adds it here when run by hand.)"""

import time

import pytest

from tests.trials.__main__ import one

# CPU-heavy: make test runs these after the parallel phase, alone.
pytestmark = pytest.mark.serial

# 28: freeze + kill -9 while callers arrive, declining agents, customer answers; one of its
#     three callbacks is customer first.
# 31: Asterisk restarted while callers arrive, kill -9 while serving; one customer first.
SEEDS = (28, 31)


async def test_trials_smoke(restarts_asterisk: None, sandbox: None) -> None:
    for seed in SEEDS:
        findings, finished, _elapsed, faults = await one(seed, time.time() + 150, keep=False)
        assert findings.ok, (seed, findings)
        assert finished, seed
        assert faults, seed
