"""Queues: that the ones named exist, that callers enter them at the level callbacks use, and
that a queue offering callbacks lets the key out to the component."""

import re

from agi_app.admin.check.dialplan import Dialplan
from agi_app.admin.check.findings import Finding, error, warning
from agi_app.admin.check.flows import QUEUE_KEY, Flows, QueueEntry
from agi_app.admin.check.reading import ConfFile, Section
from agi_app.admin.check.rules_options import Checked
from agi_app.admin.check.traced import Traced

_LIVE_QUEUE_MAPPING = "QUEUE_PRIO=$[10-${ARG2}]"


def queues_of(conf: ConfFile) -> dict[str, Section]:
    return {s.name: s for s in conf.sections if s.name != "general" and not s.is_template}


def callback_queues(checked: list[Checked]) -> set[str]:
    return {q.value for c in checked if (q := c.queue()) is not None}


def check_queues(
    plan: Dialplan, flows: Flows, checked: list[Checked], conf: ConfFile
) -> list[Finding]:
    queues = queues_of(conf)
    found: list[Finding] = []
    for item in checked:
        queue = item.queue()
        if queue is not None and queue.value not in queues:
            doing = (
                "offers callbacks in it"
                if item.site.kind in (QUEUE_KEY, "callback")
                else ("checks callbacks in it")
            )
            found.append(
                error(
                    queue.where,
                    f"queues.conf has no queue '{queue.value}', but this line {doing}"
                    f" (queue={queue.value})",
                )
            )
    offered = callback_queues(checked)
    for entry in flows.entries:
        found += _entry(entry, queues, offered, plan, conf)
    found += _exits(plan, checked, queues, conf)
    live = plan.contexts.get("live-queue", {}).get("s", [])
    if live and not any(
        s.app == "set" and s.args.text.replace(" ", "") == _LIVE_QUEUE_MAPPING for s in live
    ):
        found.append(
            error(
                live[0].where,
                "[live-queue] does not set QUEUE_PRIO=$[10 - ${ARG2}], the mapping callbacks"
                " wait with: live callers and callbacks would not be served in level order"
                " (use extensions_callback.conf unchanged)",
            )
        )
    return found


def _entry(
    entry: QueueEntry,
    queues: dict[str, Section],
    offered: set[str],
    plan: Dialplan,
    conf: ConfFile,
) -> list[Finding]:
    if entry.queue.is_dynamic() or not entry.queue.text:
        return []
    name, where = entry.queue.text, entry.queue.origin(default=entry.where)
    if name not in queues:
        return [
            error(where, f"queues.conf has no queue '{name}', but this line puts callers in it")
        ]
    found: list[Finding] = []
    level = entry.level
    if level is not None and not level.is_dynamic() and not re.fullmatch(r"10|[1-9]", level.text):
        found.append(
            error(
                level.origin(default=entry.where),
                f"live-queue level '{level.text}' for queue '{name}' is not 1..10",
            )
        )
    exit_context = _exit_context(queues[name], conf, plan)
    callbacks_wait = name in offered or exit_context is not None
    if entry.level is None and entry.prio is not None and callbacks_wait:
        found += _mapping(entry.prio, name)
    elif entry.level is None and callbacks_wait:
        found.append(
            error(
                entry.where,
                f"callers enter queue '{name}' with Queue() and no QUEUE_PRIO, but callbacks"
                " wait in it at QUEUE_PRIO = 10 - level: use"
                f" Gosub(live-queue,s,1({name},LEVEL)) so that both are served in level order",
            )
        )
    options = entry.options
    queue = _static_queue(options.args) if options is not None else None
    if options is not None and queue and queue != name:
        found.append(
            error(
                entry.where,
                f"callers enter queue '{name}' here, but the CALLBACK_OPTIONS set at"
                f" {options.where} ask for callbacks in queue '{queue}'",
            )
        )
    if options is None and exit_context is not None:
        found.append(
            error(
                entry.where,
                f"callers enter queue '{name}' without CALLBACK_OPTIONS set before: one who"
                f" presses the callback key there ([{exit_context}] in queues.conf) hears"
                " 'Error in request'",
            )
        )
    return found


def _mapping(prio: Traced, queue: str) -> list[Finding]:
    """A QUEUE_PRIO of the flow's own: a literal 0..9 is a level (10 - it); $[10 - ...] is
    the mapping; anything else may be another one."""
    text = prio.text.replace(" ", "")
    if re.fullmatch(r"[0-9]|\$\[10-.+\]", text):
        return []
    where = prio.origin()
    if re.fullmatch(r"-?[0-9]+", text):
        return [
            error(
                where,
                f"QUEUE_PRIO={prio.text} for queue '{queue}' is outside 0..9, where callbacks"
                " wait (QUEUE_PRIO = 10 - level): these callers jump ahead of, or fall behind,"
                " every callback",
            )
        ]
    return [
        warning(
            where,
            f"QUEUE_PRIO={prio.text} for queue '{queue}': callbacks wait at QUEUE_PRIO ="
            " 10 - level; unless this is the same mapping, use"
            f" Gosub(live-queue,s,1({queue},LEVEL))",
        )
    ]


def _static_queue(args: list[Traced]) -> str | None:
    for arg in args:
        name, _, value = arg.text.strip().partition("=")
        if name.strip() == "queue" and "$" not in value:
            return value.strip()
    return None


def _exit_context(queue: Section, conf: ConfFile, plan: Dialplan) -> str | None:
    """The queue's exit context if one of its extensions calls [callback]."""
    entry = conf.value(queue, "context")
    if entry is None:
        return None
    extensions = plan.contexts.get(entry.value, {})
    calls = any(
        s.app == "gosub" and s.args.text.split(",")[0].strip() == "callback"
        for steps in extensions.values()
        for s in steps
    )
    return entry.value if calls else None


def _exits(
    plan: Dialplan, checked: list[Checked], queues: dict[str, Section], conf: ConfFile
) -> list[Finding]:
    """Each queue callers may leave for a callback has an exit context with the key."""
    found: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for item in checked:
        queue = item.queue()
        if item.site.kind != QUEUE_KEY or queue is None or queue.value not in queues:
            continue
        key = item.given.get("key")
        digit = key.value if key is not None else "1"
        if (queue.value, digit) in seen:
            continue
        seen.add((queue.value, digit))
        section = queues[queue.value]
        context = conf.value(section, "context")
        told = f"key={digit} at {key.where}" if key is not None else "the default key 1"
        if context is None:
            found.append(
                error(
                    section.where,
                    f"queue '{queue.value}' has no context= (exit context), so a caller who"
                    f" presses {digit} stays in the queue, though {item.site.where} sets"
                    " callback options for it: add context = callback-queue-exit",
                )
            )
        elif context.value not in plan.contexts:
            found.append(
                error(
                    context.where,
                    f"queue '{queue.value}' exits to context [{context.value}], which"
                    " extensions.conf does not define",
                )
            )
        elif digit not in plan.contexts[context.value]:
            found.append(
                error(
                    context.where,
                    f"queue '{queue.value}' exits to [{context.value}], which has no extension"
                    f" {digit} for the callback key ({told}): a caller who presses it stays"
                    " in the queue",
                )
            )
    return found
