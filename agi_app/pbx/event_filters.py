"""AMI event filters (manager.conf ``eventfilter``) read as Asterisk 22's manager.c reads them,
to tell whether an account's filters let through every event serving acts on.

Serving needs the events of ``serving.events`` and ``ami`` (FullyBooted, Shutdown), for a
callback's own channels (their uniqueids are ``channel_ids``'), and for live callers where
they join and leave a queue and where an agent answers them. Without filters Asterisk sends
an account every event of every call its read classes allow; the shipped account
(asterisk_conf/manager.conf) asks for no more than these. Responses to actions are never
filtered.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agi_app.domain.channel_ids import Leg, channel_id

LIFECYCLE = ("FullyBooted", "Shutdown")  # agi_app/pbx/ami.py: placement waits for a booted PBX
# Serving acts on these for live callers too (their join times, a place opening up, their
# number answered: its callbacks still waiting in that queue are cancelled).
LIVE_CALLER_EVENTS = ("QueueCallerAbandon", "QueueCallerJoin", "QueueCallerLeave", "AgentConnect")
# The component's UserEvents (asterisk_conf/extensions_callback.conf), each with the leg that
# sends it: the placeholder's Queue() result comes from the placeholder (its uniqueid ours),
# machine detection's verdict from the customer's channel (Asterisk's own uniqueid: the
# request is named in the event's Leg header).
QUEUE_RESULT = "CallbackQueueResult"
AMD_RESULT = "CallbackAmd"
HUMAN_CHECK = "CallbackHumanCheck"  # customer first: from the customer's channel, ours too
# name: sent from a channel whose uniqueid is ours
USER_EVENTS = {QUEUE_RESULT: True, AMD_RESULT: False, HUMAN_CHECK: True}

_OPTION = re.compile(r"(action|name|header|method)\(([^()]*)\)")
_METHODS = ("regex", "exact", "starts_with", "ends_with", "contains", "none")


@dataclass(frozen=True)
class EventFilter:
    exclude: bool
    name: str | None  # exact and case-sensitive (Asterisk compares hashes)
    header: str | None  # "Uniqueid:": only that header's values are matched
    method: str
    pattern: str

    def matches(self, event: Mapping[str, str]) -> bool:
        if self.name is not None and event.get("Event") != self.name:
            return False
        if self.header is None:
            text = "".join(f"{k}: {v}\r\n" for k, v in event.items())
            return self._match(text)
        return any(
            self._match(v.strip()) for k, v in event.items() if f"{k}:" == self.header and v.strip()
        )

    def _match(self, data: str) -> bool:
        pattern = self.pattern
        match self.method:
            case "regex":
                return re.search(pattern, data) is not None
            case "exact":
                return data == pattern
            case "starts_with":
                return data.startswith(pattern)
            case "ends_with":
                return data.endswith(pattern)
            case "contains":
                return pattern in data
        return True  # none


def parse_filter(key: str, value: str) -> EventFilter:
    """One ``eventfilter`` line (``key = value``); ValueError where Asterisk refuses it."""
    pattern = value.strip()
    exclude = pattern.startswith("!")
    pattern = pattern.removeprefix("!")
    criteria = key.strip().removeprefix("eventfilter")
    if not criteria:  # legacy: a regex over the whole event
        if not pattern:
            raise ValueError("a legacy eventfilter needs a pattern")
        return EventFilter(exclude, None, None, "regex", pattern)
    if not (criteria.startswith("(") and criteria.endswith(")")):
        raise ValueError(f"eventfilter{criteria}: not (option(value),...)")
    found: dict[str, str] = {}
    for part in filter(None, criteria[1:-1].split(",")):
        match = _OPTION.fullmatch(part.strip())
        if match is None or not match.group(2).strip():
            raise ValueError(f"eventfilter{criteria}: {part!r} is not an option")
        found[match.group(1)] = match.group(2).strip()
    method = found.get("method", "none")
    if method not in _METHODS or found.get("action", "include") not in ("include", "exclude"):
        raise ValueError(f"eventfilter{criteria}: unknown method or action")
    if (method == "none") != (not pattern):
        raise ValueError(f"eventfilter{criteria}: a pattern needs a method, and method none none")
    header = found.get("header")
    return EventFilter(
        exclude=found.get("action") == "exclude" if "action" in found else exclude,
        name=found.get("name"),
        header=None if header is None else header if header.endswith(":") else f"{header}:",
        method=method,
        pattern=pattern,
    )


def passes(filters: Iterable[EventFilter], event: Mapping[str, str]) -> bool:
    """Whether Asterisk sends ``event`` to a session with these filters (manager.c's
    should_send_event: includes first, if any, then excludes)."""
    listed = list(filters)
    includes = [f for f in listed if not f.exclude]
    excludes = [f for f in listed if f.exclude]
    if includes and not any(f.matches(event) for f in includes):
        return False
    return not any(f.matches(event) for f in excludes)


def needed_events(handled: Iterable[str]) -> list[dict[str, str]]:
    """A sample of each event serving acts on (``handled``: serving's event names), as
    Asterisk would send it for a callback's channel, and for a live caller where that counts."""
    ours = channel_id("00000000-0000-0000-0000-000000000000", 1, Leg.PLACEHOLDER)
    samples = []
    for name in (*LIFECYCLE, *handled):
        event = {"Event": name, "Privilege": "call,all", "Uniqueid": ours}
        if name == "UserEvent":
            samples += [
                {**event, "UserEvent": user, "Uniqueid": ours if from_ours else "1700000000.2"}
                for user, from_ours in USER_EVENTS.items()
            ]
            continue
        samples.append(event)
        if name in LIVE_CALLER_EVENTS:
            samples.append({**event, "Uniqueid": "1700000000.1"})
    return samples
