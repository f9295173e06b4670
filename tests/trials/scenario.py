"""What one trial does, drawn from its seed alone (no I/O): rerunning a seed replays it."""

import random
from dataclasses import dataclass
from enum import StrEnum

from tests.support import testbed
from tests.support.uas import Behaviour

# The test bed's dialed numbers and the priority level their flow gives (extensions.conf).
# 5014 is 5000 with mode=customer_first (retries=1, retry_interval=5).
# 5042 is 5000 with agent affinity (preferred_agent=PJSIP/agent2, affinity_timeout=8).
LEVEL_OF_DID = {"5000": 5, "5003": 1, "5014": 5, "5042": 5}
CUSTOMER_FIRST_DIDS = frozenset({"5014"})
AFFINITY_DIDS = frozenset({"5042"})
# The share of the callbacks drawn on 5000 that are made on 5014 (customer first) instead.
CUSTOMER_FIRST_SHARE = 0.4
# Of the agent first callbacks left on 5000, the share made on 5042 (agent2 preferred).
AFFINITY_SHARE = 0.25
# Each agent's phone port (on the test bed's Asterisk's address), by its queue member.
AGENT_PORTS = {f"PJSIP/{agent}": port for agent, port in testbed.AGENT_PORTS.items()}


class FaultKind(StrEnum):
    KILL9 = "kill9"  # SIGKILL the service, then start it again
    ASTERISK_RESTART = "asterisk-restart"  # docker/sandbox down + up
    AMI_FREEZE = "ami-freeze"  # the AMI link half-open for a while (TcpProxy)
    STORE_LOCK = "store-lock"  # another connection holds BEGIN IMMEDIATE for a while


class Phase(StrEnum):
    ARRIVAL = "arrival"  # callers join and press; agents paused
    SERVING = "serving"  # agents unpaused until every call is served


@dataclass(frozen=True)
class CallerPlan:
    number: str  # distinct per caller, so every SIP message names its call
    did: str
    press: bool  # asks for a callback (1) or stays a live caller
    start_after: float  # seconds after the previous caller started
    press_after: float  # seconds after it is seen in the queue

    @property
    def level(self) -> int:
        return LEVEL_OF_DID[self.did]

    @property
    def customer_first(self) -> bool:
        return self.did in CUSTOMER_FIRST_DIDS

    @property
    def preferred(self) -> bool:
        return self.did in AFFINITY_DIDS


@dataclass(frozen=True)
class FaultPlan:
    kind: FaultKind
    phase: Phase
    at: float  # seconds into the phase
    hold: float  # how long a freeze or a lock lasts


@dataclass(frozen=True)
class Scenario:
    seed: int
    callers: tuple[CallerPlan, ...]
    agents: dict[str, Behaviour | None]  # None: the agent stays paused, no phone
    carrier: Behaviour
    faults: tuple[FaultPlan, ...]

    def describe(self) -> str:
        kinds = ",".join(f"{f.kind}@{f.phase}+{f.at:.1f}s" for f in self.faults) or "none"
        agents = ",".join(f"{a[-6:]}={b or 'off'}" for a, b in self.agents.items())
        presses = sum(c.press for c in self.callers)
        first = sum(c.customer_first for c in self.callers)
        preferred = sum(c.preferred for c in self.callers)
        return (
            f"callers={len(self.callers)} (callbacks={presses}, customer first={first},"
            f" agent2 preferred={preferred})"
            f" agents[{agents}]"
            f" carrier={self.carrier} faults[{kinds}]"
        )


_FAULT_WEIGHTS = {
    FaultKind.KILL9: 3,
    FaultKind.ASTERISK_RESTART: 2,
    FaultKind.AMI_FREEZE: 2,
    FaultKind.STORE_LOCK: 2,
}


def answers(carrier: Behaviour) -> bool:
    """Whether the carrier's phone answers the customers' calls."""
    return carrier in (Behaviour.ANSWER, Behaviour.PERSON, Behaviour.PERSON_PRESSES_1)


def generate(seed: int) -> Scenario:
    rng = random.Random(seed)
    # Customer first is drawn from a stream of its own, so that a seed drawn before it existed
    # keeps its callers, agents, customer, faults and moments (some of its callbacks on 5000
    # are now made on 5014).
    first = random.Random(f"customer-first-{seed}")
    affinity = random.Random(f"affinity-{seed}")  # likewise, for agent affinity (5042)
    count = rng.randint(3, 6)
    callers = []
    for i in range(count):
        did = rng.choice(("5000", "5000", "5003"))
        press = rng.random() < 0.65
        customer_first = first.random() < CUSTOMER_FIRST_SHARE  # drawn for every caller
        preferred = affinity.random() < AFFINITY_SHARE
        if press and did == "5000":
            did = "5014" if customer_first else "5042" if preferred else did
        callers.append(
            CallerPlan(
                # +1555 then 7 digits: distinct within a trial, varied across seeds.
                number=f"+1555{(seed * 7 + i) % 10_000_000:07d}",
                did=did,
                press=press,
                # Joins at least 1.2 s apart: the queue's order of entry is then unambiguous
                # to an observer polling the queue, yet a caller may press while the next joins.
                start_after=0.0 if i == 0 else rng.uniform(1.2, 2.5),
                press_after=rng.uniform(0.0, 3.0),
            )
        )
    agents: dict[str, Behaviour | None] = {"PJSIP/agent1": Behaviour.ANSWER}  # progress
    for agent in ("PJSIP/agent2", "PJSIP/agent3"):
        agents[agent] = rng.choice((Behaviour.ANSWER, Behaviour.DECLINE, Behaviour.NO_ANSWER, None))
    carrier = rng.choices(
        (Behaviour.ANSWER, Behaviour.NO_ANSWER, Behaviour.BUSY), weights=(6, 2, 2)
    )[0]
    # One phone answers every customer: a person who says "Hello?" and presses 1 three seconds
    # after answering, as customer first needs (AMD() judges a person, then the key). An agent
    # first customer is bridged to its agent at once, and nothing checked depends on what the
    # agent hears; the draw above is unchanged, so older seeds keep their customer.
    if carrier is Behaviour.ANSWER:
        carrier = Behaviour.PERSON_PRESSES_1
    # Moments that matter: callers join after the 4-5 s welcome prompt, so an arrival fault
    # falls between the first join and a few seconds after the last press; serving lasts
    # a few seconds per caller.
    arrival = (4.0, 4.0 + sum(c.start_after for c in callers) + 5.0)
    serving = (0.0, 2.5 * count)
    faults = []
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        kind = rng.choices(list(_FAULT_WEIGHTS), weights=list(_FAULT_WEIGHTS.values()))[0]
        phase = rng.choice((Phase.ARRIVAL, Phase.SERVING))
        at = rng.uniform(*(arrival if phase is Phase.ARRIVAL else serving))
        faults.append(FaultPlan(kind, phase, at, rng.uniform(2.0, 5.0)))
    faults.sort(key=lambda f: (f.phase != Phase.ARRIVAL, f.at))
    return Scenario(seed, tuple(callers), agents, carrier, tuple(faults))
