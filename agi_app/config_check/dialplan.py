"""extensions.conf as contexts of extensions, each a list of application steps in order."""

import re
from dataclasses import dataclass, field

from agi_app.config_check.findings import Finding, Location, error
from agi_app.config_check.reading import ConfFile, Entry
from agi_app.config_check.traced import Traced, call_parts, split_arguments

# The contexts of extensions_callback.conf: the component's own, never a caller's flow.
COMPONENT_CONTEXTS = frozenset(
    {
        "callback",
        "callback-status",
        "callback-offer-check",
        "callback-queue-exit",
        "live-queue",
        "callback-placeholder",
        "callback-agent-predial",
        "callback-customer",
        "callback-customer-end",
    }
)
_PRIORITY = re.compile(r"(\d+|n|hint)(?:\(([^)]*)\))?(?:\+\d+)?", re.IGNORECASE)


@dataclass(frozen=True)
class Step:
    context: str
    exten: str
    app: str  # lower case
    args: Traced
    where: Location


@dataclass
class Dialplan:
    contexts: dict[str, dict[str, list[Step]]] = field(default_factory=dict)
    context_where: dict[str, Location] = field(default_factory=dict)
    globals: dict[str, Entry] = field(default_factory=dict)  # the last assignment wins
    globals_first: Location | None = None  # where [globals] begins

    def steps(self) -> list[Step]:
        return [s for exts in self.contexts.values() for steps in exts.values() for s in steps]

    def global_value(self, name: str) -> Traced | None:
        entry = self.globals.get(name)
        return Traced.of(entry.value, entry.where) if entry is not None else None


def read_dialplan(conf: ConfFile) -> tuple[Dialplan, list[Finding]]:
    plan = Dialplan()
    problems: list[Finding] = []
    for section in conf.sections:
        if section.name == "general":
            continue
        if section.name == "globals":
            plan.globals_first = plan.globals_first or section.where
            plan.globals.update({e.name: e for e in section.entries})
            continue
        plan.context_where.setdefault(section.name, section.where)
        extensions = plan.contexts.setdefault(section.name, {})
        current: str | None = None
        for entry in conf.inherited(section):
            kind = entry.name.lower()
            if kind == "exten":
                parts = entry.value.split(",", 2)
                if len(parts) < 3:
                    problems.append(_malformed(entry, "exten => EXTENSION,PRIORITY,APPLICATION"))
                    continue
                current = parts[0].strip()
                rest = ",".join(parts[1:])
            elif kind == "same":
                if current is None:
                    problems.append(error(entry.where, "'same =>' with no 'exten =>' before it"))
                    continue
                rest = entry.value
            else:
                continue  # include, switch, ignorepat: nothing of the component's
            priority, _, application = rest.partition(",")
            if not _PRIORITY.fullmatch(priority.strip()):
                problems.append(_malformed(entry, "a priority (1, n, n(label))"))
                continue
            name, args = call_parts(Traced.of(application, entry.where))
            extensions.setdefault(current, []).append(
                Step(section.name, current, name.text.lower(), args or Traced("", ()), entry.where)
            )
    return plan, problems


def _malformed(entry: Entry, expected: str) -> Finding:
    return error(entry.where, f"'{entry.name} => {entry.value}' is not {expected}")


def gosub_target(step: Step, text: Traced) -> tuple[str, str, list[Traced]] | None:
    """Gosub's ``[[context,]exten,]priority(args)`` (``text`` substituted) as (context,
    exten, args); the step's own context and extension where left out."""
    head, args = call_parts(text)
    names = [p.strip() for p in head.text.split(",")]
    if not head.text or len(names) > 3:
        return None
    context = names[0] if len(names) == 3 else step.context
    exten = names[-2] if len(names) >= 2 else step.exten
    return context, exten, split_arguments(args) if args is not None else []
