"""Deterministic Asterisk uniqueids for a request's channels, one set per placement attempt.

Asterisk refuses a second channel with a uniqueid that is in use, so a placement repeated
after a crash cannot make a second placeholder; and every AMI event about these channels
names its request without any lookup.
"""

import re
from dataclasses import dataclass
from enum import StrEnum


class Leg(StrEnum):
    CUSTOMER = "c"  # the Local ;1 half: dials the customer once an agent answered
    PLACEHOLDER = "q"  # the Local ;2 half: waits in the queue
    INFORM = "i"  # the informative call to the customer
    CALLED = "f"  # customer first: the customer's own channel, called before any agent
    AGENT = "a"  # agent affinity: the Local ;2 half that dials the preferred agent alone


_PATTERN = re.compile(r"^cb-(?P<request>[0-9a-f-]{36})-(?P<attempt>\d+)-(?P<leg>[cqifa])$")


@dataclass(frozen=True)
class ChannelRef:
    request_id: str
    attempt: int
    leg: Leg


def channel_id(request_id: str, attempt: int, leg: Leg) -> str:
    return f"cb-{request_id}-{attempt}-{leg.value}"


def parse_channel_id(uniqueid: str) -> ChannelRef | None:
    match = _PATTERN.match(uniqueid)
    if match is None:
        return None
    return ChannelRef(match["request"], int(match["attempt"]), Leg(match["leg"]))
