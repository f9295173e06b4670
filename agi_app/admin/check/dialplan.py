"""extensions.conf as contexts of extensions, each a list of application steps in order."""

import re
from dataclasses import dataclass, field

from agi_app.admin.check.findings import Finding, Location, error
from agi_app.admin.check.reading import ConfFile, Entry
from agi_app.admin.check.traced import Traced, call_parts, split_arguments

# The contexts of extensions_callback.conf: the component's own, never a caller's flow.
COMPONENT_CONTEXTS = frozenset(
    {
        "callback",
        "callback-status",
        "callback-offer-check",
        "callback-queue-exit",
        "live-queue",
        "callback-placeholder",
        "callback-preferred",
        "callback-agent-predial",
        "callback-customer",
        "callback-customer-end",
        "callback-agent-language",
        "callback-amd",
        "callback-customer-first",
        "callback-customer-first-end",
    }
)
# pbx_config's priority: a number, n(ext), s(ame) or hint, then +N, then (label); a +N after
# the label is cut off with it and ignored, as Asterisk does.
_PRIORITY = re.compile(
    r"(?P<base>\d+|n|next|s|same|hint)(?:\+(?P<plus>\d+))?(?:\((?P<label>[^)]*)\))?(?:\+\d+)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Step:
    context: str
    exten: str
    app: str  # lower case
    args: Traced
    where: Location


@dataclass(frozen=True)
class Line:
    """An exten/same line as pbx_config numbers it (hints left out)."""

    context: str
    exten: str
    priority: int
    label: str | None
    app: str  # lower case
    application: str  # what follows the priority, as written
    where: Location
    section: Location  # the header it is written under: a context may have several
    duplicate_of: Location | None  # the line Asterisk kept with this priority, dropping this one


@dataclass
class Dialplan:
    contexts: dict[str, dict[str, list[Step]]] = field(default_factory=dict)  # duplicates dropped
    lines: list[Line] = field(default_factory=list)  # every numbered line, duplicates too
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
    kept: dict[tuple[str, str, int], Location] = {}  # (context, exten, priority): first line
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
        last: int | None = None  # pbx_config's lastpri: per section, across its extensions
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
            written, _, application = rest.partition(",")
            match = _PRIORITY.fullmatch(written.strip())
            if match is None:
                problems.append(_malformed(entry, "a priority (1, n, n(label))"))
                continue
            if match["base"].lower() == "hint":
                continue  # a device state, never run
            number = _number(match, last)
            if number is None:
                problems.append(
                    error(
                        entry.where,
                        f"priority '{match['base']}' on the first line of [{section.name}]"
                        " follows no priority: Asterisk drops this line",
                    )
                )
                continue
            last = number
            name, args = call_parts(Traced.of(application, entry.where))
            key = (section.name, current, number)
            line = Line(
                *key,
                match["label"],
                name.text.lower(),
                application,
                entry.where,
                section.where,
                kept.get(key),
            )
            plan.lines.append(line)
            if line.duplicate_of is None:  # ast_add_extension2 without replace: the first stays
                kept[key] = entry.where
                extensions.setdefault(current, []).append(
                    Step(section.name, current, line.app, args or Traced("", ()), entry.where)
                )
    return plan, problems


def _number(match: re.Match[str], last: int | None) -> int | None:
    """The priority's number; None for n or s with none before it."""
    base = match["base"].lower()
    if base.isdigit():
        number = int(base)
    elif last is None:
        return None
    else:
        number = last + 1 if base in ("n", "next") else last
    return number + int(match["plus"] or 0)


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
