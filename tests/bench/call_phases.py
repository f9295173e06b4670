"""Each bench call's timeline from AMI events, cut into the phases of keypress to prompt.

Seen from Asterisk (events as they arrive at the driver, which asks for only these with
AMI ``Filter`` actions, so its own parsing stays small):
- key: DTMFEnd received on the caller's channel;
- agi: the dialplan starts AGI() (Newexten Application AGI);
- each AGI command: AGIExecStart .. AGIExecEnd, in Asterisk; between one command's end and
  the next one's start the service is working (reading the reply, the rules, the commit);
- prompt: the prompt starts (Newexten Playback, or AGIExecStart STREAM FILE).
"""

import itertools
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field

from panoramisk import Manager
from panoramisk.message import Message

from tests.support.ami import action

# What the driver's own AMI connection needs (MatchCriteria, Filter), and nothing else.
FILTERS = [
    ("name(DTMFEnd),header(Direction),method(exact)", "Received"),
    ("name(Newexten),header(Application),method(regex)", "^(AGI|Playback)$"),
    ("name(AGIExecStart)", ""),
    ("name(AGIExecEnd)", ""),
]


async def watch_only_phases(ami: Manager) -> None:
    """Have Asterisk send this connection only the events the phases are made of."""
    for criteria, pattern in FILTERS:
        await action(ami, Action="Filter", Operation="Add", MatchCriteria=criteria, Filter=pattern)


@dataclass
class Call:
    key: float | None = None
    agi: float | None = None
    commands: list[tuple[str, float, float | None]] = field(default_factory=list)
    prompt: float | None = None


class Timeline:
    """Per caller channel, from the first key on."""

    def __init__(self) -> None:
        self.calls: dict[str, Call] = defaultdict(Call)

    def on_event(self, _manager: Manager, event: Message) -> None:
        name, now = event.get("Event"), time.monotonic()
        call = self.calls[str(event.get("Channel", ""))]
        if name == "DTMFEnd" and event.get("Direction") == "Received":
            call.key = call.key or now
        if call.key is None or call.prompt is not None:
            return
        if name == "Newexten" and event.get("Application") == "AGI":
            call.agi = call.agi or now
        elif name == "Newexten" and event.get("Application") == "Playback":
            call.prompt = now
        elif name == "AGIExecStart":
            command = str(event.get("Command", ""))
            call.commands.append((command.split(" ")[0], now, None))
            if command.startswith("STREAM FILE"):
                call.prompt = now
        elif name == "AGIExecEnd" and call.commands and call.commands[-1][2] is None:
            verb, started, _ = call.commands[-1]
            call.commands[-1] = (verb, started, now)

    def take(self) -> list[Call]:
        """The calls seen so far that heard their prompt; forgets every call."""
        done = [c for c in self.calls.values() if c.key is not None and c.prompt is not None]
        self.calls = defaultdict(Call)
        return done


PHASES = (
    "key to prompt",
    "key to AGI()",
    "AGI() to 1st command",
    "in Asterisk (commands)",
    "in the service (between)",
    "last command to prompt",
)


def phases(call: Call) -> dict[str, float]:
    """Seconds in each phase of one call (the full flow's AGI phases only when it had them)."""
    assert call.key is not None and call.prompt is not None
    out = {"key to prompt": call.prompt - call.key}
    ended = [(s, e) for _, s, e in call.commands if e is not None]
    if call.agi is None or not ended:
        return out
    out["key to AGI()"] = call.agi - call.key
    out["AGI() to 1st command"] = ended[0][0] - call.agi
    out["in Asterisk (commands)"] = sum(e - s for s, e in ended)
    if len(ended) > 1:  # a refused session has one command
        out["in the service (between)"] = sum(s - e for (_, e), (s, _) in itertools.pairwise(ended))
    out["last command to prompt"] = call.prompt - ended[-1][1]
    return out


def pct(samples: list[float], p: float) -> float:
    """The p-th percentile in ms (nearest rank below), NaN without samples."""
    if not samples:
        return float("nan")
    return sorted(samples)[int(p / 100 * (len(samples) - 1))] * 1000


def summary(calls: list[Call]) -> dict[str, float]:
    """p50 and p99 of each phase (ms), and the AGI commands per call."""
    by_phase: dict[str, list[float]] = defaultdict(list)
    for call in calls:
        for name, seconds in phases(call).items():
            by_phase[name].append(seconds)
    out: dict[str, float] = {}
    for name in PHASES:
        out[f"{name} p50"] = pct(by_phase[name], 50)
        out[f"{name} p99"] = pct(by_phase[name], 99)
    with_agi = [len(c.commands) for c in calls if c.agi is not None]
    out["agi_commands"] = statistics.fmean(with_agi) if with_agi else 0.0
    return out
