"""The caller's language: Asterisk's CHANNEL(language) when the callback was asked for, kept
with the request so that every prompt the customer hears later is in it."""

import re

# What Asterisk names a language with (en, es, pt_BR, fr_CA_formal...), at most MAX_LANGUAGE
# (40) characters: it becomes a directory under sounds/, so nothing else may pass.
_LANGUAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
# The silent language placeholders wait with: never a caller's.
PLACEHOLDER_LANGUAGE = "callback-placeholder"


def channel_language(raw: str) -> str:
    """The language as kept, "" (Asterisk's default when played) when it is not one."""
    value = raw.strip()
    if not _LANGUAGE.fullmatch(value) or value == PLACEHOLDER_LANGUAGE:
        return ""
    return value


def fallbacks(language: str) -> tuple[str, ...]:
    """The language directories Asterisk tries, in order, before the one without a language
    (main/file.c, fileexists_core): the language, then without each ``_`` suffix."""
    found: list[str] = []
    while language:
        found.append(language)
        language = language.rpartition("_")[0]
    return tuple(found)
