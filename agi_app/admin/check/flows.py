"""The callers' flows through the dialplan: where options are given and queues entered.

Each extension of a context that no Gosub calls is a flow; it is followed step by step in
the order written (Goto and GotoIf are not followed), into the subroutines it Gosubs with
their ARGn bound, as a channel would carry CALLBACK_OPTIONS and QUEUE_PRIO along.
"""

import re
from dataclasses import dataclass, field

from agi_app.admin.check.dialplan import COMPONENT_CONTEXTS, Dialplan, Step, gosub_target
from agi_app.admin.check.findings import Location
from agi_app.admin.check.traced import Lookup, Traced, split_arguments, substitute

_ARG = re.compile(r"ARG[0-9]+")
_EMPTY = Traced("", ())
# The component's entries that take options, and what the option names mean there.
OPTION_CONTEXTS = ("callback", "callback-status", "callback-offer-check")
QUEUE_KEY = "CALLBACK_OPTIONS"  # options the queue's exit context passes to [callback]


@dataclass(frozen=True)
class OptionSite:
    kind: str  # one of OPTION_CONTEXTS, or QUEUE_KEY
    args: list[Traced]
    where: Location  # the step
    flow: Location  # the step of the flow (outermost) that led there


@dataclass(frozen=True)
class QueueEntry:
    queue: Traced
    level: Traced | None  # Gosub(live-queue,s,1(QUEUE,LEVEL)); None: Queue() itself
    where: Location
    flow: Location
    prio: Traced | None  # the QUEUE_PRIO set before it in the flow, as written
    options: OptionSite | None  # the CALLBACK_OPTIONS in effect


@dataclass
class Flows:
    sites: list[OptionSite] = field(default_factory=list)
    entries: list[QueueEntry] = field(default_factory=list)
    missing: list[tuple[Step, str]] = field(default_factory=list)  # Gosub to no context


@dataclass
class _State:
    options: OptionSite | None = None
    prio: Traced | None = None


def walk(plan: Dialplan) -> Flows:
    flows = Flows()
    called: set[str] = set()
    for step in plan.steps():
        target = gosub_target(step, step.args) if step.app == "gosub" else None
        if target is not None:
            called.add(target[0])
    for context, extensions in plan.contexts.items():
        if context in COMPONENT_CONTEXTS or context in called:
            continue
        for steps in extensions.values():
            _follow(plan, flows, steps, None, None, _State(), 0)
    return flows


def lookup_in(plan: Dialplan, bindings: dict[str, Traced] | None) -> Lookup:
    def lookup(name: str) -> Traced | None:
        if _ARG.fullmatch(name):
            # In a Gosub every ARGn exists; past those given it is empty. Outside: unknown.
            return None if bindings is None else bindings.get(name, _EMPTY)
        return plan.global_value(name)

    return lookup


def _follow(
    plan: Dialplan,
    flows: Flows,
    steps: list[Step],
    bindings: dict[str, Traced] | None,
    flow: Location | None,
    state: _State,
    depth: int,
) -> None:
    for step in steps:
        text = substitute(step.args, lookup_in(plan, bindings))
        at = flow or step.where
        if step.app == "set":
            name, sep, _ = text.text.partition("=")
            if name.strip() == QUEUE_KEY and sep:
                site = OptionSite(QUEUE_KEY, split_arguments(text[len(name) + 1 :]), step.where, at)
                flows.sites.append(site)
                state.options = site
            elif name.strip() == "QUEUE_PRIO":
                state.prio = step.args[step.args.text.index("=") + 1 :].strip()
        elif step.app == "queue":
            queue = split_arguments(text)[0].strip()
            flows.entries.append(QueueEntry(queue, None, step.where, at, state.prio, state.options))
        elif step.app == "gosub":
            target = gosub_target(step, text)
            if target is None:
                continue
            context, exten, args = target
            if context in OPTION_CONTEXTS:
                flows.sites.append(OptionSite(context, args, step.where, at))
            elif context == "live-queue":
                queue = args[0].strip() if args else _EMPTY
                level = args[1].strip() if len(args) > 1 else _EMPTY
                flows.entries.append(QueueEntry(queue, level, step.where, at, None, state.options))
            elif context in plan.contexts:
                body = plan.contexts[context].get(exten, [])
                if depth < 4:
                    bound = {f"ARG{n}": a.strip() for n, a in enumerate(args, start=1)}
                    _follow(plan, flows, body, bound, at, state, depth + 1)
            elif "$" not in context:
                flows.missing.append((step, context))
