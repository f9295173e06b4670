"""Languages: every prompt the configuration plays exists in each language a flow gives a
channel (Set(CHANNEL(language)=xx) in the dialplan, language= on a PJSIP endpoint), where
Asterisk looks for it: sounds/<language>/, then without each _ suffix (main/file.c,
fileexists_core). Without it the callers of that language hear the prompt found next: the
one without a language (ours: English)."""

import re
from pathlib import Path

from agi_app.admin.check.dialplan import COMPONENT_CONTEXTS, Dialplan
from agi_app.admin.check.findings import Finding, Location, warning
from agi_app.admin.check.flows import lookup_in
from agi_app.admin.check.reading import ConfFile
from agi_app.admin.check.traced import substitute
from agi_app.domain.language import channel_language, fallbacks

_SET_LANGUAGE = re.compile(r"\s*CHANNEL\(language\)\s*=\s*(?P<value>.*?)\s*", re.IGNORECASE)
# Found with no language of their own: our prompts are English and sit without a language.
_DEFAULT = "en"


def languages_set(plan: Dialplan, pjsip: ConfFile) -> dict[str, tuple[Location, str]]:
    """Each language a flow sets, with its first place and how it is set."""
    found: dict[str, tuple[Location, str]] = {}

    def add(raw: str, where: Location, how: str) -> None:
        language = channel_language(raw)
        if language and language != _DEFAULT and "$" not in raw:
            found.setdefault(language, (where, how))

    for step in plan.steps():
        # The component's own (the placeholders' silence, the agent's language) are not a
        # caller's language.
        if step.app != "set" or step.context in COMPONENT_CONTEXTS:
            continue
        text = substitute(step.args, lookup_in(plan, None))
        if (match := _SET_LANGUAGE.fullmatch(text.text)) and not text.is_dynamic():
            add(match["value"], step.where, "Set(CHANNEL(language)=...)")
    for section in pjsip.sections:
        kind = pjsip.value(section, "type")
        language = pjsip.value(section, "language")
        if kind is not None and kind.value.strip().lower() == "endpoint" and language:
            add(language.value, language.where, f"endpoint '{section.name}' language=")
    return found


def _exists(root: Path, language: str, name: str) -> bool:
    path = Path(name)
    return any(
        any((root / folder / path.parent).glob(f"{path.name}.*")) for folder in fallbacks(language)
    )


def check_languages(
    prompts: dict[str, Location],
    languages: dict[str, tuple[Location, str]],
    root: Path | None,
) -> list[Finding]:
    """One warning per language that lacks some of ``prompts`` (name: first use) in ``root``
    (Asterisk's sounds directory)."""
    if root is None or not root.is_dir():
        return []
    found: list[Finding] = []
    for language, (where, how) in sorted(languages.items()):
        missing = sorted(name for name in prompts if not _exists(root, language, name))
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            found.append(
                warning(
                    where,
                    f"language '{language}' ({how}) has no {', '.join(missing[:5])}{more} in"
                    f" {root / language}:"
                    " its callers hear them in the language found next (the prompts without"
                    " a language: English). Add them (docs/how-to/languages.md)",
                )
            )
    return found
