"""Dialplan text that remembers, character by character, which line wrote it.

Asterisk substitutes ``${VAR}`` before an application splits its arguments on commas, so one
option may come from a global, another from a Gosub argument at the call site; a mistake is
reported where its text was written.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from agi_app.admin.check.findings import Location

_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


@dataclass(frozen=True)
class Traced:
    text: str
    origins: tuple[Location, ...]

    @staticmethod
    def of(text: str, where: Location) -> "Traced":
        return Traced(text, (where,) * len(text))

    def __add__(self, other: "Traced") -> "Traced":
        return Traced(self.text + other.text, self.origins + other.origins)

    def __getitem__(self, index: slice) -> "Traced":
        return Traced(self.text[index], self.origins[index])

    def origin(self, index: int = 0, default: Location | None = None) -> Location:
        if self.origins:
            return self.origins[min(max(index, 0), len(self.origins) - 1)]
        assert default is not None, "an empty text has no origin"
        return default

    def strip(self) -> "Traced":
        start = len(self.text) - len(self.text.lstrip())
        end = len(self.text.rstrip())
        return self[start:end]

    def is_dynamic(self) -> bool:
        """Still holds a variable or expression only a call can give a value."""
        return "${" in self.text or "$[" in self.text


Lookup = Callable[[str], "Traced | None"]


def substitute(text: Traced, lookup: Lookup, depth: int = 0) -> Traced:
    """``${NAME}`` replaced where ``lookup`` knows NAME (recursively); the rest kept as is."""
    out = Traced("", ())
    position = 0
    for match in _VARIABLE.finditer(text.text):
        value = lookup(match.group(1)) if depth < 8 else None
        if value is None:
            continue
        out = out + text[position : match.start()] + substitute(value, lookup, depth + 1)
        position = match.end()
    return out + text[position:]


def split_arguments(text: Traced) -> list[Traced]:
    """An application's arguments: commas outside parentheses, brackets and quotes."""
    parts: list[Traced] = []
    depth, quoted, start = 0, False, 0
    for i, char in enumerate(text.text):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def call_parts(text: Traced) -> tuple[Traced, Traced | None]:
    """``name(args)`` as (name, args); (text, None) without parentheses. Without the closing
    one, Asterisk runs the application with the rest of the line (and warns)."""
    open_at = text.text.find("(")
    close_at = text.text.rfind(")")
    if open_at < 0:
        return text.strip(), None
    end = close_at if close_at > open_at else len(text.text)
    return text[:open_at].strip(), text[open_at + 1 : end]
