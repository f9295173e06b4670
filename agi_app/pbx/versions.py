"""The Asterisk versions the component runs on: 22.9 or later (Queue()'s argument order of
Asterisk 21, the QUEUEWAIT variable of 22.9; docs/asterisk-notes.md). The configuration files
the admin commands read do not say which Asterisk reads them, so the service checks the
version AMI reports at each login (CoreSettings' AsteriskVersion)."""

import re

MINIMUM = (22, 9)
NEEDED_FOR = "Queue()'s argument order of Asterisk 21 and the QUEUEWAIT variable of 22.9"

_RELEASE = re.compile(r"(?:certified[/-])?(\d+)\.(\d+)")


def below_minimum(version: str) -> bool | None:
    """Whether ``version`` (as Asterisk reports it: "22.10.1+dfsg+~cs6...-1",
    "certified-20.7-cert3", "GIT-master-abc123") is older than MINIMUM; None when it names
    no release (a build from git: its age is unknown)."""
    found = _RELEASE.match(version.strip())
    if found is None:
        return None
    return (int(found[1]), int(found[2])) < MINIMUM
