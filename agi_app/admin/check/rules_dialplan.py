"""The dialplan's structure as pbx_config builds it: a component context the PBX defines too,
priorities that skip or repeat, and brackets an application's arguments leave open."""

from itertools import pairwise
from pathlib import PurePath

from agi_app.admin.check.dialplan import COMPONENT_CONTEXTS, Dialplan, Line
from agi_app.admin.check.findings import Finding, error, warning
from agi_app.admin.check.reading import ConfFile, Section

COMPONENT_FILE = "extensions_callback.conf"
# Applications after which a call never runs the next priority.
_ENDS = frozenset({"hangup", "goto", "return"})
_CLOSERS = {")": "(", "}": "{", "]": "["}


def check_component_sends_facts(plan: Dialplan) -> list[Finding]:
    """An older [callback] whose AGI() sends no callback_facts: it works, but the service
    asks the channel for them, one more AGI round trip per request (docs/explanation/
    performance.md)."""
    return [
        warning(
            line.where,
            "[callback]'s AGI() sends no callback_facts=: an older component; each request"
            " then takes one more AGI round trip (install the current extensions_callback.conf)",
        )
        for line in plan.lines
        if line.context == "callback"
        and line.app == "agi"
        and line.duplicate_of is None
        and "callback_facts=" not in line.application
    ]


def check_component_contexts(conf: ConfFile, plan: Dialplan) -> list[Finding]:
    """A component context also written elsewhere: Asterisk merges the two into one context,
    where both have a priority keeping the first registered, so one shadows the other."""
    found: list[Finding] = []
    for name in sorted(COMPONENT_CONTEXTS):
        sections = conf.named(name)
        if len(sections) < 2:
            continue
        ours = [s for s in sections if PurePath(s.where.file).name == COMPONENT_FILE]
        component = ours[0] if ours else sections[0]
        lines = [line for line in plan.lines if line.context == name]
        kept = {line.where: line for line in lines if line.duplicate_of is None}
        for section in (s for s in sections if s is not component):
            pair = {section.where, component.where}
            clashes = [
                line
                for line in lines
                if line.duplicate_of in kept
                and {line.section, kept[line.duplicate_of].section} == pair
            ]
            found.append(_merged(conf, name, section, component, clashes))
    return found


def _merged(
    conf: ConfFile, name: str, section: Section, component: Section, clashes: list[Line]
) -> Finding:
    also = f"[{name}] is also the component's context ({component.where})"
    if not clashes:
        return warning(
            section.where,
            f"{also}: Asterisk merges the two into one; rename this context, or the"
            " component's extensions and this one's mix",
        )
    lost = clashes[0]
    if conf.sections.index(section) < conf.sections.index(component):
        effect = (
            "which its #include merges into this one: where both have a priority Asterisk"
            f" keeps this one's, so the component's {lost.exten},{lost.priority}"
        )
    else:
        effect = (
            "and Asterisk merges this one into it: where both have a priority it keeps the"
            f" component's, so this one's {lost.exten},{lost.priority}"
        )
    more = f" and {len(clashes) - 1} more never run" if len(clashes) > 1 else " never runs"
    return error(section.where, f"{also}, {effect} ({lost.where}){more}; rename this context")


def check_priorities(plan: Dialplan) -> list[Finding]:
    """Each extension runs from priority 1 up, one at a time, and ends at the first missing
    one: a gap cuts off the rest, and a priority written twice keeps only its first line."""
    found: list[Finding] = []
    extensions: dict[tuple[str, str], dict[int, Line]] = {}
    for line in plan.lines:
        if line.duplicate_of is None:
            extensions.setdefault((line.context, line.exten), {})[line.priority] = line
            continue
        first = extensions[(line.context, line.exten)][line.priority]
        if line.context in COMPONENT_CONTEXTS and first.section != line.section:
            continue  # the context written twice: check_component_contexts says it once
        found.append(
            error(
                line.where,
                f"priority {line.priority} of {line.exten}@{line.context} is already at"
                f" {line.duplicate_of}: Asterisk keeps that line and drops this one",
            )
        )
    for (context, exten), lines in extensions.items():
        if "/" in exten:
            continue  # a caller ID variant may hold only the priorities it overrides
        numbers = sorted(lines)
        if numbers[0] != 1 and lines[numbers[0]].label is None:  # labelled: Gosub(ctx,x,label)
            found.append(
                error(
                    lines[numbers[0]].where,
                    f"{exten}@{context} has no priority 1 (its first is {numbers[0]}):"
                    " a call to it, or a Gosub, finds nothing to run",
                )
            )
        for before, after in pairwise(numbers):
            if after == before + 1:
                continue
            line, previous = lines[after], lines[before]
            if previous.app in _ENDS:
                found.append(
                    warning(
                        line.where,
                        f"{exten}@{context} jumps from priority {before} to {after}: this line"
                        " and those after it are reached only by a Goto",
                    )
                )
            else:
                found.append(
                    error(
                        line.where,
                        f"{exten}@{context} jumps from priority {before} to {after}: the call"
                        f" ends after {previous.where} (there is no priority {before + 1}),"
                        " and this line is reached only by a Goto",
                    )
                )
    return found


def check_brackets(plan: Dialplan) -> list[Finding]:
    found: list[Finding] = []
    for line in plan.lines:
        problem = unbalanced(line.application)
        if problem is not None:
            found.append(
                error(line.where, f"unbalanced brackets in {line.application.strip()}: {problem}")
            )
    return found


def unbalanced(text: str) -> str | None:
    """What is left open or closed twice in an application and its arguments: "(" ")", and
    "${" "}" and "$[" "]" with the braces and brackets nested in them, as Asterisk pairs
    them (a backslash escapes; braces and brackets outside ${ and $[ are plain text)."""
    stack: list[tuple[str, int]] = []  # opener ("(", "${", "{", "$[", "["), where
    i = 0
    while i < len(text):
        char, pair = text[i], text[i : i + 2]
        if char == "\\":
            i += 2
            continue
        if pair in ("${", "$["):
            stack.append((pair, i))
            i += 2
            continue
        if char == "(" or (char in "{[" and any(o == "$" + char for o, _ in stack)):
            stack.append((char, i))
        elif char == ")" or (char in "}]" and any(o == "$" + _CLOSERS[char] for o, _ in stack)):
            if not stack:
                return f"the ')' in '{_excerpt(text, i)}' closes nothing"
            opener, at = stack.pop()
            if opener[-1] != _CLOSERS[char]:
                return f"the '{opener}' of '{_excerpt(text, at)}' is closed by '{char}'"
        i += 1
    if stack:
        opener, at = stack[-1]
        return f"the '{opener}' of '{_excerpt(text, at)}' is never closed"
    return None


def _excerpt(text: str, at: int) -> str:
    """From the bracket on, with the name it belongs to (``CUT(``, ``Read(``)."""
    while at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_"):
        at -= 1
    rest = text[at:].strip()
    return rest if len(rest) <= 40 else rest[:37] + "..."
