"""What the check reports: a severity, where (file:line), and a sentence for the admin."""

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, order=True)
class Location:
    file: str  # as the admin knows it: relative to the configuration directory, else as included
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Severity(StrEnum):
    ERROR = "error"  # Asterisk or the service will not do what the admin meant
    WARNING = "warning"  # works, but worth knowing (or cannot be checked from here)


@dataclass(frozen=True)
class Finding:
    severity: Severity
    where: Location | None  # None: about the configuration as a whole
    message: str

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where is not None else ""
        return f"{prefix}{self.severity}: {self.message}"


def error(where: Location | None, message: str) -> Finding:
    return Finding(Severity.ERROR, where, message)


def warning(where: Location | None, message: str) -> Finding:
    return Finding(Severity.WARNING, where, message)
