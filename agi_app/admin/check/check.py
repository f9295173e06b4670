"""Every rule over one configuration directory, findings in the order an admin fixes them."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agi_app.admin.check.dialplan import read_dialplan
from agi_app.admin.check.findings import Finding, Severity, error
from agi_app.admin.check.flows import OPTION_CONTEXTS, QUEUE_KEY, walk
from agi_app.admin.check.reading import Reader
from agi_app.admin.check.rules_dialplan import (
    check_brackets,
    check_component_contexts,
    check_component_sends_facts,
    check_priorities,
)
from agi_app.admin.check.rules_events import check_event_filters
from agi_app.admin.check.rules_languages import languages_set
from agi_app.admin.check.rules_modules import check_module_files, check_modules
from agi_app.admin.check.rules_options import check_options
from agi_app.admin.check.rules_pjsip import check_pjsip
from agi_app.admin.check.rules_prompts import Sounds, check_prompts
from agi_app.admin.check.rules_queues import check_queues
from agi_app.admin.check.rules_service import check_agi, check_ami, check_schedules
from agi_app.config.settings import Settings


@dataclass(frozen=True)
class Target:
    config_dir: Path
    sounds: Sounds
    # Absolute #include paths read from elsewhere: {"/etc/callback-testbed": Path(...)}.
    mounts: Mapping[str, Path] = field(default_factory=dict)


def check(target: Target, settings: Settings) -> list[Finding]:
    reader = Reader(target.config_dir, target.mounts)
    extensions = reader.read("extensions.conf")
    queues = reader.read("queues.conf")
    manager = reader.read("manager.conf")
    pjsip = reader.read("pjsip.conf")
    modules = reader.read("modules.conf")
    found = [p for conf in (extensions, queues, manager, pjsip, modules) for p in conf.problems]
    if not extensions.exists:
        return [error(None, f"no extensions.conf in {target.config_dir}")]
    if not queues.exists:
        found.append(error(None, f"no queues.conf in {target.config_dir}"))
    plan, problems = read_dialplan(extensions)
    found += problems
    found += check_component_contexts(extensions, plan)
    found += check_component_sends_facts(plan)
    found += check_priorities(plan)
    found += check_brackets(plan)
    flows = walk(plan)
    checked = []
    for site in flows.sites:
        item, problems = check_options(site)
        checked.append(item)
        found += problems
    # [callback] always (it is what is checked), and the other entries the flows use.
    needed = {"callback"} | {s.kind for s in flows.sites} - {QUEUE_KEY}
    needed |= {"live-queue" for e in flows.entries if e.level is not None}
    if missing := sorted(needed - set(plan.contexts)):
        found.append(
            error(
                None,
                f"the dialplan does not define {', '.join(f'[{c}]' for c in missing)}:"
                " #include extensions_callback.conf in extensions.conf, after [globals]",
            )
        )
    for step, context in flows.missing:
        if context in OPTION_CONTEXTS:
            continue
        found.append(error(step.where, f"Gosub to [{context}], which the dialplan does not define"))
    found += check_queues(plan, flows, checked, queues)
    languages = languages_set(plan, pjsip)
    found += check_prompts(plan, checked, queues, target.sounds, languages)
    found += check_agi(plan, settings)
    found += check_schedules(checked, settings)
    found += check_ami(manager, settings)
    found += check_event_filters(manager, settings)
    found += check_pjsip(pjsip, queues)
    found += check_modules(modules, plan)
    found += check_module_files(reader, plan)
    return ordered(found)


def ordered(found: list[Finding]) -> list[Finding]:
    """Once each; errors first, each kind by file and line."""
    unique = list(dict.fromkeys(found))
    return sorted(
        unique,
        key=lambda f: (
            f.severity is not Severity.ERROR,
            f.where is not None,
            f.where.file if f.where else "",
            f.where.line if f.where else 0,
        ),
    )
