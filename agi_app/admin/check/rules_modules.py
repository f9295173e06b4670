"""modules.conf: Asterisk loads every module the component's contexts run (and those these
require), else the line that uses one fails when a call reaches it.

And the files some of these modules decline to load without, whatever modules.conf says
(amd.conf for app_amd)."""

import re

from agi_app.admin.check.dialplan import COMPONENT_CONTEXTS, Dialplan, Line
from agi_app.admin.check.findings import Finding, Location, error
from agi_app.admin.check.reading import ConfFile, Entry, Reader

# What the component's contexts run and which module provides it (Set, GotoIf, Answer and
# Hangup are Asterisk's own).
APPLICATION_MODULES = {
    "AGI": "res_agi",
    "Gosub": "app_stack",
    "Return": "app_stack",
    "Queue": "app_queue",
    "QueueLog": "app_queue",
    "Playback": "app_playback",
    "Read": "app_read",
    "Record": "app_record",
    "Dial": "app_dial",
    "UserEvent": "app_userevent",
    "AMD": "app_amd",
    "WaitForSilence": "app_waitforsilence",
    "ChanSpy": "app_chanspy",
}
_APPLICATIONS = {name.lower(): name for name in APPLICATION_MODULES}
FUNCTION_MODULES = {
    "BASE64_DECODE": "func_base64",
    "CALLERID": "func_callerid",
    "CHANNEL": "func_channel",
    "CUT": "func_cut",
    "IMPORT": "func_logic",
    "CHANNEL_EXISTS": "func_channel",
    "DB": "func_db",
    "PJSIP_HEADER": "res_pjsip_header_funcs",
    "STRFTIME": "func_strings",
}
# Their AST_MODULE_INFO .requires: without these loaded too, Asterisk declines to load them
# (app_amd, app_waitforsilence, app_record and app_chanspy require none).
REQUIRES = {
    "res_agi": ("res_speech",),
    "chan_pjsip": ("res_pjsip", "res_pjsip_session", "res_pjsip_pubsub"),
    "res_pjsip_header_funcs": ("res_pjsip", "res_pjsip_session"),
    "res_pjsip": ("res_pjproject", "res_sorcery_config", "res_sorcery_memory", "res_sorcery_astdb"),
    "res_pjsip_session": ("res_pjsip",),
    "res_pjsip_pubsub": ("res_pjsip",),
    "res_pjproject": ("res_sorcery_config",),
}
# Files in the configuration directory a module's load_module() declines without: app_amd
# logs "Configuration file amd.conf missing" and AMD() does not exist.
MODULE_FILES = {"app_amd": "amd.conf"}
_FUNCTION = re.compile(r"([A-Z][A-Z0-9_]*)\(")
_TRUE = ("yes", "true", "y", "t", "1", "on")  # ast_true


def needed_modules(plan: Dialplan) -> dict[str, tuple[str, Location | None]]:
    """module: (why, where), in the order first met."""
    needed: dict[str, tuple[str, Location | None]] = {
        "pbx_config": ("which reads extensions.conf", None)
    }
    for context, extensions in plan.contexts.items():  # in file order: the first use is named
        if context not in COMPONENT_CONTEXTS:
            continue
        for steps in extensions.values():
            for step in steps:
                app = _APPLICATIONS.get(step.app, "")
                uses = [(APPLICATION_MODULES.get(app), f"{app}()")]
                uses += [
                    (FUNCTION_MODULES.get(f), f"{f}()") for f in _FUNCTION.findall(step.args.text)
                ]
                if step.app == "dial" and step.args.text.upper().startswith("PJSIP/"):
                    uses.append(("chan_pjsip", "Dial(PJSIP/...)"))
                for module, what in uses:
                    if module is not None:
                        needed.setdefault(module, (f"which {what} needs", step.where))
    pending = list(needed)
    while pending:  # and what those require, transitively
        module = pending.pop(0)
        for required in REQUIRES.get(module, ()):
            if required not in needed:
                needed[required] = (f"which {module}.so requires", None)
                pending.append(required)
    return needed


def check_modules(conf: ConfFile, plan: Dialplan) -> list[Finding]:
    if not conf.exists:
        return []  # Asterisk would not start at all; nothing to say about which modules
    sections = conf.named("modules")
    if not sections:
        return [error(None, "modules.conf has no [modules]: Asterisk loads no module")]
    section = sections[0]  # Asterisk reads the first [modules] only
    entries = conf.inherited(section)

    def named(kind: str) -> dict[str, Entry]:
        return {_base(e.value): e for e in entries if e.name.lower() == kind}

    autoload = conf.value(section, "autoload")  # ast_variable_retrieve: the last one
    loaded = None if autoload is not None and autoload.value.lower() in _TRUE else named("load")
    if loaded is not None:
        for kind in ("require", "preload", "preload-require"):
            loaded.update(named(kind))
    refused = named("noload")
    found: list[Finding] = []
    for module, (why, used) in needed_modules(plan).items():
        at = f" ({used})" if used is not None else ""
        if module in refused:
            cause, where = f"noload => {module}.so", refused[module].where
        elif loaded is not None and module not in loaded:
            off = "autoload = no" if autoload is not None else "no autoload = yes"
            cause, where = f"{off} and no load => {module}.so", (autoload or section).where
        else:
            continue
        found.append(error(where, f"{cause}: Asterisk does not load {module}.so, {why}{at}"))
    return found


def check_module_files(reader: Reader, plan: Dialplan) -> list[Finding]:
    """A file a module the component runs needs (MODULE_FILES): missing, or unreadable as
    Asterisk reads it, the module declines to load, whatever modules.conf says. Named by the
    first line that runs it (by file, then line: a "(+)" adds lines to an earlier context)."""
    first: dict[str, Line] = {}
    for line in plan.lines:
        module = APPLICATION_MODULES.get(_APPLICATIONS.get(line.app, ""))
        if line.context not in COMPONENT_CONTEXTS or line.duplicate_of is not None or not module:
            continue
        if module not in first or line.where < first[module].where:
            first[module] = line
    found: list[Finding] = []
    for module, name in MODULE_FILES.items():
        if module not in first:
            continue
        line = first[module]
        conf = reader.read(name)
        if not conf.exists:
            what = f"{_APPLICATIONS[line.app]}() at {line.where}"
            found.append(
                error(
                    None,
                    f"{name} missing: {module} does not load without it ({what}):"
                    f" agi-callback install-asterisk-config writes one",
                )
            )
        found += conf.problems
    return found


def _base(name: str) -> str:
    """A module as the loader matches it: without .so, any case."""
    name = name.strip().lower()
    return name.removesuffix(".so")
