"""Asterisk configuration files as Asterisk reads them, each entry keeping its file:line.

pyst2's parser (``asterisk.config``) reads the content: sections and ``name = value`` /
``name => value`` entries. It knows neither ``#include`` nor template headers (``[a](!,b)``)
nor escaped or block comments, and numbers lines per file; so this module follows the
includes (relative paths from the configuration directory, as Asterisk does), drops the
comments, reduces headers to ``[name]`` and hands pyst2 the joined lines, mapping its line
numbers back to file:line.
"""

import glob
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asterisk.config

from agi_app.admin.check.findings import Finding, Location, error, warning

_ESCAPED_SEMICOLON = "\x00"  # "\;" survives pyst2, which splits every line on ";"
_DIRECTIVE = re.compile(r"#\s*(include|tryinclude|exec|tryexec)\s*(.*)", re.IGNORECASE)
_HEADER = re.compile(r"\[([^\]]*)\]\s*(?:\(([^)]*)\))?")


@dataclass(frozen=True)
class Entry:
    name: str
    value: str
    where: Location


@dataclass
class Section:
    name: str
    where: Location
    templates: tuple[str, ...] = ()  # inherited from, in order
    is_template: bool = False
    entries: list[Entry] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # its #tryinclude files that do not exist

    def last(self, name: str) -> Entry | None:
        found = [e for e in self.entries if e.name.lower() == name]
        return found[-1] if found else None


@dataclass
class ConfFile:
    name: str
    exists: bool
    sections: list[Section] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)

    def named(self, name: str) -> list[Section]:
        """The sections of that name that are not templates."""
        return [s for s in self.sections if s.name == name and not s.is_template]

    def inherited(self, section: Section) -> list[Entry]:
        """Its entries after those of its templates, as Asterisk merges them."""
        entries: list[Entry] = []
        before = self.sections[: self.sections.index(section)]
        for name in section.templates:
            parents = [s for s in before if s.name == name]
            if parents:
                entries += self.inherited(parents[-1])
        return entries + section.entries

    def value(self, section: Section, name: str) -> Entry | None:
        found = [e for e in self.inherited(section) if e.name.lower() == name]
        return found[-1] if found else None


@dataclass(frozen=True)
class _Raw:
    text: str
    where: Location
    absent: str | None = None  # a #tryinclude of a file that does not exist
    options: str | None = None  # a header's "(...)"


class _Pyst(asterisk.config.Config):  # type: ignore[misc]  # pyst2 has no type hints
    """pyst2's parser over lines already joined (its own load() opens one file)."""

    def __init__(self, lines: list[str]) -> None:
        self._given = lines
        super().__init__("<joined>")

    def load(self) -> None:
        self.raw_lines = list(self._given)


class Reader:
    def __init__(self, config_dir: Path, mounts: Mapping[str, Path] | None = None) -> None:
        self.config_dir = config_dir
        # Absolute include paths read from elsewhere (a configuration checked out of place).
        self.mounts = dict(mounts or {})

    def read(self, name: str) -> ConfFile:
        path = self.config_dir / name
        conf = ConfFile(name, path.is_file())
        if not conf.exists:
            return conf
        raws: list[_Raw] = []
        self._lines(name, path, raws, conf.problems, (path.resolve(),))
        _parse(raws, conf)
        return conf

    def real_path(self, target: str) -> Path:
        if not target.startswith("/"):
            return self.config_dir / target
        for prefix in sorted(self.mounts, key=len, reverse=True):
            if target == prefix or target.startswith(prefix.rstrip("/") + "/"):
                return self.mounts[prefix] / target[len(prefix) :].lstrip("/")
        return Path(target)

    def _lines(
        self,
        shown: str,
        path: Path,
        out: list[_Raw],
        problems: list[Finding],
        stack: tuple[Path, ...],
    ) -> None:
        in_block = False
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            problems.append(error(None, f"cannot read {shown}: {exc.strerror}"))
            return
        for number, line in enumerate(text.splitlines(), start=1):
            where = Location(shown, number)
            content, in_block = _strip(line, in_block)
            directive = _DIRECTIVE.fullmatch(content)
            if directive is None:
                out.append(_header(content, where))
                continue
            kind, target = directive.group(1).lower(), directive.group(2).strip().strip('"<>')
            if kind.endswith("exec"):
                problems.append(warning(where, f"#{kind} {target}: its output is not checked"))
                continue
            files = self._included(target)
            if not files:
                if kind == "include":
                    problems.append(
                        error(
                            where,
                            f"#include {target}: no such file (Asterisk will not load {shown})",
                        )
                    )
                out.append(_Raw("", where, absent=target))
                continue
            for included in files:
                if included.resolve() in stack:
                    problems.append(error(where, f"#{kind} {target} includes itself"))
                    continue
                name = target if len(files) == 1 else str(included)
                self._lines(name, included, out, problems, (*stack, included.resolve()))

    def _included(self, target: str) -> list[Path]:
        path = self.real_path(target)
        if any(c in target for c in "*?["):
            return [Path(p) for p in sorted(glob.glob(str(path))) if Path(p).is_file()]
        return [path] if path.is_file() else []


def _strip(line: str, in_block: bool) -> tuple[str, bool]:
    """The line without its comments: ";" to the end, ";-- ... --;" blocks, "\\;" kept."""
    out: list[str] = []
    i = 0
    while i < len(line):
        if in_block:
            end = line.find("--;", i)
            if end < 0:
                break
            i, in_block = end + 3, False
        elif line.startswith("\\;", i):
            out.append(_ESCAPED_SEMICOLON)
            i += 2
        elif line.startswith(";--", i):
            i, in_block = i + 3, True
        elif line[i] == ";":
            break
        else:
            out.append(line[i])
            i += 1
    return "".join(out).strip(), in_block


def _header(content: str, where: Location) -> _Raw:
    match = _HEADER.fullmatch(content)
    if match is None or match.group(2) is None:
        return _Raw(content, where)
    return _Raw(f"[{match.group(1)}]", where, options=match.group(2))


def _parse(raws: list[_Raw], conf: ConfFile) -> None:
    lines = [r.text for r in raws]
    while True:
        try:
            parsed = _Pyst(lines)
            break
        except asterisk.config.ParseError as exc:  # one at a time: note it, blank it, go on
            number, message = exc.args
            conf.problems.append(
                error(raws[number - 1].where, f"cannot be read ({message}): {lines[number - 1]!r}")
            )
            lines[number - 1] = ""
    current: Section | None = None
    for line in parsed.lines:
        raw = raws[line.number - 1]
        if isinstance(line, asterisk.config.Category):
            current = _section(line.name.strip(), raw, conf)
        elif isinstance(line, asterisk.config.Item):
            if current is None:
                conf.problems.append(error(raw.where, f"{raw.text!r} comes before any [section]"))
                continue
            value = str(line.value).strip().replace(_ESCAPED_SEMICOLON, ";")
            current.entries.append(Entry(str(line.name).strip(), value, raw.where))
        elif raw.absent is not None and current is not None:
            current.absent.append(raw.absent)


def _section(name: str, raw: _Raw, conf: ConfFile) -> Section:
    options = [o.strip() for o in (raw.options or "").split(",") if o.strip()]
    if "+" in options:  # (+): more entries for the last section of that name
        earlier = [s for s in conf.sections if s.name == name]
        if earlier:
            return earlier[-1]
        conf.problems.append(
            error(
                raw.where,
                f"[{name}](+) adds to [{name}], but none comes before it: Asterisk refuses it",
            )
        )
    templates = tuple(o for o in options if o not in ("!", "+"))
    for template in templates:
        if not any(s.name == template for s in conf.sections):
            conf.problems.append(
                error(
                    raw.where, f"[{name}] inherits from [{template}], which does not come before it"
                )
            )
    section = Section(name, raw.where, templates, "!" in options)
    conf.sections.append(section)
    return section
