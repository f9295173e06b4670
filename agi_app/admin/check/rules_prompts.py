"""Prompts: each one the configuration names exists in the sounds directories, and each one
a queue plays to waiting callers has its silent twin for callback placeholders."""

import re
from dataclasses import dataclass
from pathlib import Path

from agi_app.admin.check.dialplan import COMPONENT_CONTEXTS, Dialplan
from agi_app.admin.check.findings import Finding, Location, error, warning
from agi_app.admin.check.flows import lookup_in
from agi_app.admin.check.reading import ConfFile
from agi_app.admin.check.rules_languages import check_languages
from agi_app.admin.check.rules_options import Checked
from agi_app.admin.check.rules_queues import callback_queues, queues_of
from agi_app.admin.check.traced import split_arguments, substitute

_SOUND_NAME = re.compile(r"[A-Za-z0-9_]+(?:[/.-][A-Za-z0-9_]+)*")
# What app_queue plays to waiting callers besides periodic-announce: queues.conf key, default.
_POSITION_SOUNDS = {
    "queue-youarenext": "queue-youarenext",
    "queue-thereare": "queue-thereare",
    "queue-callswaiting": "queue-callswaiting",
}
_HOLDTIME_SOUNDS = {
    "queue-holdtime": "queue-holdtime",
    "queue-minutes": "queue-minutes",
    "queue-seconds": "queue-seconds",
    "queue-thankyou": "queue-thankyou",
}


@dataclass(frozen=True)
class Sounds:
    dirs: tuple[Path, ...]  # the callers' language: /usr/share/asterisk/sounds/en
    placeholder: Path  # the language placeholders wait with: .../sounds/callback-placeholder
    root: Path | None = None  # Asterisk's sounds directory, holding one folder per language

    def has(self, name: str, dirs: tuple[Path, ...] | None = None) -> bool:
        path = Path(name)
        return any(any((d / path.parent).glob(f"{path.name}.*")) for d in (dirs or self.dirs))


def check_prompts(
    plan: Dialplan,
    checked: list[Checked],
    queues_conf: ConfFile,
    sounds: Sounds,
    languages: dict[str, tuple[Location, str]] | None = None,
) -> list[Finding]:
    # prompt: first place, how it is used, whether the component plays it (else: a flow of
    # the admin's, which only gets a warning)
    used: dict[str, tuple[Location, str, bool]] = {}

    def use(prompt: str, where: Location, how: str, ours: bool = True) -> None:
        for name in prompt.split("&"):
            name = name.strip()
            if _SOUND_NAME.fullmatch(name) and ".." not in name:
                used.setdefault(name, (where, how, ours))

    for item in checked:
        for option, prompt, where in item.prompts():
            use(prompt, where, f"{option}=")
    fallback = plan.globals.get("CALLBACK_FALLBACK_ERROR")
    if fallback is not None:
        use(fallback.value, fallback.where, "CALLBACK_FALLBACK_ERROR")
    queues = queues_of(queues_conf)
    twins: dict[str, tuple[Location, str]] = {}
    for name in sorted(callback_queues(checked) & set(queues)):
        for prompt, where, key in _queue_sounds(queues_conf, name):
            use(prompt, where, key)
            twins.setdefault(prompt, (where, f"queue '{name}' plays '{prompt}' ({key})"))
    for step in plan.steps():
        position = {"playback": 0, "background": 0, "read": 1}.get(step.app)
        if position is not None:
            args = split_arguments(substitute(step.args, lookup_in(plan, None)))
            if len(args) > position and not args[position].is_dynamic():
                how = f"{step.app.capitalize()}()"
                use(args[position].text, step.where, how, step.context in COMPONENT_CONTEXTS)
    found: list[Finding] = []
    existing = tuple(d for d in sounds.dirs if d.is_dir())
    if not existing:
        shown = ", ".join(str(d) for d in sounds.dirs)
        found.append(warning(None, f"no sounds directory at {shown}: prompts not checked"))
    else:
        places = ", ".join(str(d) for d in existing)
        for name, (where, how, ours) in used.items():
            if not sounds.has(name, existing):
                found.append(
                    (error if ours else warning)(
                        where, f"prompt '{name}' ({how}) is not in {places}"
                    )
                )
    for name, (where, how) in twins.items():
        if not sounds.has(name, (sounds.placeholder,)):
            found.append(
                error(
                    where,
                    f"{how} to waiting callers, but {sounds.placeholder} has no silent twin"
                    " of it: every callback placeholder would stream it (add 20 ms of"
                    " silence under that name, see sounds/generate)",
                )
            )
    # In each language a flow sets: only those that exist (a missing one is reported above).
    first = {name: where for name, (where, _, _) in used.items() if sounds.has(name, existing)}
    found += check_languages(first, languages or {}, sounds.root)
    return found


def _queue_sounds(conf: ConfFile, name: str) -> list[tuple[str, Location, str]]:
    section = queues_of(conf)[name]
    found: list[tuple[str, Location, str]] = []
    announce = conf.value(section, "periodic-announce")
    if announce is not None:
        for prompt in re.split(r"[,|]", announce.value):
            if prompt.strip():
                found.append((prompt.strip(), announce.where, "periodic-announce"))

    def setting(key: str, default: str) -> str:
        entry = conf.value(section, key)
        return entry.value.strip().lower() if entry is not None else default

    frequency = setting("announce-frequency", "0")
    announcing = frequency not in ("0", "") or setting("announce-position", "no") != "no"
    extra = dict(_POSITION_SOUNDS) if announcing else {}
    if announcing and setting("announce-holdtime", "no") not in ("no", "0"):
        extra.update(_HOLDTIME_SOUNDS)
    for key, default in extra.items():
        entry = conf.value(section, key)
        found.append((entry.value if entry else default, (entry or section).where, key))
    return found
