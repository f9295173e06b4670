"""Which settings file the commands read, and settings refused in words an admin can act on:
one line per problem, naming the file, the TOML line and the key (or the environment variable).

The file is ``--config PATH``, else ``CALLBACK_CONFIG``, else ``./callback.toml`` when it
exists, else none (the defaults and the environment alone). A file that is named but does not
exist is an error: a wrong path must not pass for a configuration that silently is the
defaults. ``CALLBACK_CONFIG=""`` names no file on purpose (a container set up by environment).
"""

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from agi_app.config.settings import CONFIG_ENV, DEFAULT_CONFIG, Settings, reading


class SettingsError(Exception):
    """Settings the service cannot run on: ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SettingsSource:
    """The file read (None: defaults and environment only) and what named it."""

    path: Path | None
    named_by: str

    def describe(self) -> str:
        if self.path is None:
            return "no settings file (the defaults and CALLBACK_* environment variables)"
        return f"{self.path} ({self.named_by})"


def settings_source(
    explicit: str | None = None, environ: Mapping[str, str] = os.environ
) -> SettingsSource:
    """The file to read, refusing one that is named but absent (SettingsError)."""
    if explicit is not None:
        named, by = explicit, "--config"
    elif CONFIG_ENV in environ:
        named, by = environ[CONFIG_ENV], CONFIG_ENV
        if not named:
            return SettingsSource(None, f"{CONFIG_ENV} empty")
    elif DEFAULT_CONFIG.is_file():
        return SettingsSource(DEFAULT_CONFIG, "found in the working directory")
    else:
        return SettingsSource(None, f"no --config, no {CONFIG_ENV}, no ./{DEFAULT_CONFIG}")
    path = Path(named)
    if not path.is_file():
        why = "is not a file" if path.exists() else "does not exist"
        raise SettingsError([f"{path}: the settings file {by} names {why}"])
    return SettingsSource(path, by)


def load_settings(source: SettingsSource, environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings from ``source`` and the environment; SettingsError says what is wrong."""
    with reading(source.path):
        try:
            return Settings()
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError([_toml_problem(source.path, exc)]) from None
        except ValidationError as exc:
            raise SettingsError(problems(exc, source.path, environ)) from None


def startup_problems(settings: Settings) -> None:
    """What the service would otherwise find only once starting (SettingsError): each
    Asterisk server's AMI secret and each webhook's secret, present, readable and private."""
    found = []
    for name, server in settings.servers().items() if settings.ami_enabled else ():
        try:
            server.ami_password()
        except ValueError as exc:
            found.append(f"asterisk server {name}: {exc}")
    for hook in settings.webhooks:
        try:
            hook.key()
        except ValueError as exc:
            found.append(str(exc))
    if found:
        raise SettingsError(found)


def _toml_problem(path: Path | None, exc: tomllib.TOMLDecodeError) -> str:
    found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
    where = f"{path}:{found.group(1)}" if found else str(path)
    return f"{where}: not valid TOML: {str(exc).split(' (at ')[0]}"


def problems(exc: ValidationError, path: Path | None, environ: Mapping[str, str]) -> list[str]:
    """One line per error, in the file's order: where it was written, the key, what is wrong,
    and a hint."""
    lines = key_lines(path.read_text(errors="replace") if path is not None else "")
    found: list[tuple[int, str]] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc)
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message.removeprefix(f"{loc[-1]}: ") if loc else message
        variable = f"CALLBACK_{str(loc[0]).upper()}" if loc else ""
        line = None if variable in environ else _line_of(lines, loc)
        if variable in environ:
            where = f"environment {variable}"
        else:
            where = f"{path}:{line}" if line else str(path or "settings")
        text = f"{where}: {key}: {message}" if key else f"{where}: {message}"
        found.append((line or 0, text + _hint(error["type"], loc)))
    return [text for _, text in sorted(found, key=lambda item: item[0])]


def _hint(kind: str, loc: tuple[object, ...]) -> str:
    if kind != "extra_forbidden" or not loc:
        return ""
    name = str(loc[-1])
    if len(loc) > 1 and name in Settings.model_fields:
        table = ".".join(str(p) for p in loc[:-1])
        return (
            f" (hint: {name} is a top-level setting, but a key written after [{table}]"
            " belongs to that table: move it above the first [table] header)"
        )
    close = difflib.get_close_matches(name, sorted(Settings.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if len(loc) == 1 and close else ""


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", dotted))


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Each table header's and key's full path, to its first line (1-based). A line scan, not
    a parser: enough to point at the line of a key an admin wrote in a settings file."""
    found: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _parts(header.group(1))
            found.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            found.setdefault((*table, *_parts(key.group(1))), number)
    return found


def _line_of(lines: dict[tuple[str, ...], int], loc: tuple[object, ...]) -> int | None:
    """The line of the longest written prefix of ``loc`` (a list index ends the search)."""
    path: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break
        path.append(str(part))
    while path:
        if tuple(path) in lines:
            return lines[tuple(path)]
        path.pop()
    return None
