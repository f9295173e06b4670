"""A smoke run of the randomized trials (``make trials`` runs many): three fixed seeds that
between them kill -9 the service, restart Asterisk, freeze the AMI link and lock the store,
with agents that answer, decline and ring out, and customers that answer or are busy."""

import time

from tests.trials.__main__ import one

# 28: freeze + kill -9 while callers arrive, declining agents, customer answers.
# 29: store locked in both phases, an agent that rings out, customer busy.
# 31: Asterisk restarted while callers arrive, kill -9 while serving.
SEEDS = (28, 29, 31)


async def test_trials_smoke(restarts_asterisk: None, sandbox: None) -> None:
    for seed in SEEDS:
        findings, finished, _elapsed, faults = await one(seed, time.time() + 150, keep=False)
        assert findings.ok, (seed, findings)
        assert finished, seed
        assert faults, seed
