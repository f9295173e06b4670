"""``python -m tests.trials --trials 100 --minutes 40`` (``make trials``); ``--seed S`` reruns
one trial exactly. Hold the sandbox lock around it: it restarts and resets the sandbox."""

import argparse
import asyncio
import logging
import random
import shutil
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.trials.checks import Findings, check, timeline
from tests.trials.scenario import FaultKind, generate
from tests.trials.trial import run_trial

WORKROOT = Path("/tmp/agi-callback-trials")
TRIAL_LIMIT = 170.0  # seconds: a trial's own deadline (SIPp callers end by themselves at 180)


@dataclass
class Tally:
    trials: int = 0
    failed: list[int] = field(default_factory=list)
    calls: int = 0
    callbacks: int = 0
    customer_first: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    doubled: int = 0
    order: int = 0
    attempts: int = 0
    replaced: int = 0
    unfinished: int = 0
    errors: int = 0

    def add(self, seed: int, calls: int, callbacks: int, customer_first: int,
            faults: Counter[str], f: Findings, finished: bool) -> None:  # fmt: skip
        self.trials += 1
        self.calls += calls
        self.callbacks += callbacks
        self.customer_first += customer_first
        self.faults.update(faults)
        self.lost += len(f.lost)
        self.doubled += len(f.doubled)
        self.order += len(f.order)
        self.attempts += len(f.attempts)
        self.replaced += len(f.replaced)
        self.unfinished += not finished
        self.errors += len(f.errors)
        if not f.ok:
            self.failed.append(seed)

    def markdown(self, minutes: float) -> str:
        kinds = ", ".join(f"{k} {self.faults[k]}" for k in FaultKind) or "none"
        rows = [
            ("trials", f"{self.trials} in {minutes:.1f} min"),
            (
                "callers (of which pressed 1; of those, customer first)",
                f"{self.calls} ({self.callbacks}; {self.customer_first})",
            ),
            ("faults by kind", f"{sum(self.faults.values())}: {kinds}"),
            ("lost", str(self.lost)),
            ("doubled", str(self.doubled)),
            ("order violations", str(self.order)),
            ("attempts consumed by the PBX", str(self.attempts)),
            ("requests placed again after their withdrawal", str(self.replaced)),
            ("trials not over by their deadline", str(self.unfinished)),
            ("trials that could not complete (runner or stack errors)", str(self.errors)),
            ("failing seeds", ", ".join(map(str, self.failed)) or "none"),
        ]
        return "\n".join(
            ["| measure | result |", "| --- | --- |"] + [f"| {a} | {b} |" for a, b in rows]
        )


async def one(
    seed: int, deadline: float, keep: bool, verbose: bool = False
) -> tuple[Findings, bool, float, Counter[str]]:
    scenario = generate(seed)
    workdir = WORKROOT / str(seed)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    print(f"trial seed={seed}: {scenario.describe()}", flush=True)
    began = time.monotonic()
    try:
        observed = await asyncio.wait_for(
            run_trial(scenario, workdir, deadline), max(10.0, deadline - time.time() + 30)
        )
    except Exception as exc:  # the stack misbehaved outside what the checks read: a failure
        trace = "".join(traceback.format_exception(exc))
        print(f"seed={seed} ERROR ({time.monotonic() - began:.0f}s): {exc!r}\n{trace[-2000:]}")
        print(f"  workdir kept: {workdir}", flush=True)
        failed = Findings(errors=[f"trial did not complete: {exc!r}"])
        return failed, False, time.monotonic() - began, Counter()
    findings = check(observed)
    elapsed = time.monotonic() - began
    faults = Counter(f.kind.value for f in observed.faults)
    print(
        f"seed={seed} calls={len(scenario.callers)}"
        f" callbacks={len(observed.requests)} offers={len(observed.offers)}"
        f" dials={len(observed.dials)}"
        f" faults={dict(faults) or '{}'}"
        f" lost={len(findings.lost)} doubled={len(findings.doubled)}"
        f" order={len(findings.order)} attempts={len(findings.attempts)}"
        f" replaced={len(findings.replaced)}"
        f" over={'yes' if observed.finished else 'NO'}"
        f" ({elapsed:.0f}s) {'OK' if findings.ok else 'FAIL'}",
        flush=True,
    )
    for label, items in (("lost", findings.lost), ("doubled", findings.doubled),
                         ("order", findings.order), ("attempts", findings.attempts),
                         ("replaced", findings.replaced),
                         ("note", findings.notes)):  # fmt: skip
        for item in items:
            print(f"  {label}: {item}", flush=True)
    if verbose or not findings.ok:
        for line in timeline(observed):
            print(f"    {line}")
    if not findings.ok:
        print(f"  workdir kept: {workdir} (service.log, phone traces)", flush=True)
    elif not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return findings, observed.finished, elapsed, faults


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.trials", description=__doc__)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=40)
    parser.add_argument("--seed", type=int, help="run only this trial (its printed seed)")
    parser.add_argument("--first-seed", type=int, help="seeds first-seed, first-seed+1, ...")
    parser.add_argument("--keep", action="store_true", help="keep every trial's workdir")
    parser.add_argument("--verbose", action="store_true", help="print every trial's timeline")
    args = parser.parse_args(argv)
    # A restart of Asterisk makes panoramisk and the AMI proxy log every refused connection.
    for noisy in ("panoramisk", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)

    if args.seed is not None:
        seeds = [args.seed]
    else:
        first = args.first_seed if args.first_seed is not None else random.randrange(10**6)
        seeds = [first + i for i in range(args.trials)]
    started = time.time()
    end = started + args.minutes * 60
    tally = Tally()
    longest = 90.0  # a guess until a trial was measured
    for seed in seeds:
        if time.time() + min(longest * 1.2, TRIAL_LIMIT) > end and tally.trials:
            print(f"stopping: the next trial might not end within {args.minutes} min")
            break
        deadline = min(time.time() + TRIAL_LIMIT, end)
        scenario = generate(seed)
        findings, finished, elapsed, faults = await one(seed, deadline, args.keep, args.verbose)
        longest = max(longest if tally.trials else 0.0, elapsed)
        callbacks = sum(c.press for c in scenario.callers)
        first = sum(c.customer_first for c in scenario.callers)
        tally.add(seed, len(scenario.callers), callbacks, first, faults, findings, finished)
    print()
    print(tally.markdown((time.time() - started) / 60))
    return 0 if not tally.failed and tally.trials else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
