"""INVITEs a SIPp phone received, with the time each arrived (from its -message_file)."""

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.support.uas import _URI_USER, _has_tag, _parse

# SIPp's separator line carries the local time the message was traced.
_STAMP = re.compile(r"^-{10,}\s+(\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d\.\d+)")
_RECEIVED = re.compile(r"^\S+ message received \[\d+\] bytes :?\s*$")


@dataclass(frozen=True)
class Invite:
    at: float  # epoch seconds
    user: str  # From user (agents: the caller's number) or Request-URI user (the carrier)
    to_user: str  # the Request-URI's user part
    request_id: str  # X-Callback-Request-Id, "" for a live caller
    call_id: str


def _user(value: str) -> str:
    match = _URI_USER.search(value.rsplit("<", 1)[-1] if "<" in value else value)
    return (match.group(1) or match.group(2)) if match else ""


def timed_invites(messages: Path) -> list[Invite]:
    """Each dialog-creating INVITE received, once (retransmissions skipped), in order."""
    if not messages.exists():
        return []
    out: list[Invite] = []
    seen: set[str] = set()
    stamp: float | None = None
    block: list[str] | None = None

    def flush() -> None:
        if block is None or stamp is None:
            return
        start, headers = _parse("\n".join(block).strip("\n"))
        method, _, rest = start.partition(" ")
        call_id = headers.get("call-id", "")
        if method != "INVITE" or _has_tag(headers.get("to", "")) or call_id in seen:
            return
        seen.add(call_id)
        out.append(
            Invite(
                at=stamp,
                user=_user(headers.get("from", "")),
                to_user=_user(rest.rsplit(" ", 1)[0]),
                request_id=headers.get("x-callback-request-id", ""),
                call_id=call_id,
            )
        )

    for line in messages.read_text(errors="replace").split("\n"):
        if match := _STAMP.match(line):
            flush()
            block = None
            stamp = datetime.fromisoformat(f"{match[1]} {match[2]}").timestamp()
        elif block is None and _RECEIVED.match(line.strip()):
            block = []
        elif block is not None:
            block.append(line.rstrip("\r"))
    flush()
    return out
