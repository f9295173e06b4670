"""Writing a plan: each file replaced whole (a temporary file renamed over it, so Asterisk
never reads half of one), only where its bytes differ; and the report of what changed."""

import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agi_app.admin.install.plan import Plan, Write


@dataclass(frozen=True)
class Outcome:
    write: Write
    state: str  # "created", "updated" or "unchanged"


def outcomes(plan: Plan) -> list[Outcome]:
    found = []
    for write in plan.writes:
        if not write.path.exists():
            found.append(Outcome(write, "created"))
        elif write.path.read_bytes() == write.data:
            found.append(Outcome(write, "unchanged"))
        else:
            found.append(Outcome(write, "updated"))
    return found


def apply(plan: Plan) -> list[Outcome]:
    done = outcomes(plan)
    for outcome in done:
        if outcome.state != "unchanged":
            _write(outcome.write)
    return done


def _write(write: Write) -> None:
    write.path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd, name = tempfile.mkstemp(dir=write.path.parent, prefix=f".{write.path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(write.data)
            os.fchmod(out.fileno(), write.mode)
            if write.owner_of is not None and os.geteuid() == 0:
                owner = write.owner_of.stat()
                os.fchown(out.fileno(), owner.st_uid, owner.st_gid)
            out.flush()
            os.fsync(out.fileno())
        os.replace(name, write.path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def report(done: list[Outcome], dry_run: bool, kept: Sequence[Path] = ()) -> list[str]:
    """One line per configuration file, one per group of sounds; admins' files by the line
    added to them; the files left as they are because they exist (``kept``)."""
    lines: list[str] = []
    groups: dict[str, Counter[str]] = {}
    for outcome in done:
        write = outcome.write
        if write.edit:
            if outcome.state != "unchanged":
                verb = "would add" if dry_run else "added"
                lines.append(f"{write.path}: {verb} {write.edit}")
        elif write.bulk:
            groups.setdefault(write.label, Counter())[outcome.state] += 1
        else:
            would = dry_run and outcome.state != "unchanged"
            lines.append(f"{write.path}: {'would be ' if would else ''}{outcome.state}")
    lines += [f"{path}: exists, kept as it is" for path in kept]
    for label, counts in groups.items():
        parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        lines.append(f"{label}: {parts}" + (" (dry run)" if dry_run else ""))
    return lines
