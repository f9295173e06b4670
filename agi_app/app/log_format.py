"""Log lines for a terminal, or for journald when stderr is its stream, with the phone
numbers in them shortened to their last four digits (unless log_numbers is on).

journald stamps each line itself, and reads a "<N>" syslog priority at the start of a line
(sd-daemon(3)); so under systemd a line carries its level that way, without a timestamp.

Phone numbers are personal data, and logs are kept and copied beyond the store's own
retention: a line keeps enough of a number to tell two apart while reading it ("+…0111"),
not enough to call it. A run of six or more digits, with or without "+", not part of a word,
a uniqueid ("1796577623.0"), a time or an id, counts as a number.
"""

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

from agi_app.config.file import SettingsError

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL = "%(levelname)s %(name)s: %(message)s"

# Python levels to syslog priorities (crit, err, warning, info; below INFO: debug).
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))


_NUMBER = re.compile(r"(?<![\w.:/-])(\+?)\d{2,11}(\d{4})(?![\w.:/-])")


def redact_numbers(text: str) -> str:
    """Each phone number of ``text`` shortened to its last four digits."""
    return _NUMBER.sub(lambda m: f"{m[1]}…{m[2]}", text)


class Redacting(logging.Formatter):
    """Another formatter's lines, their phone numbers shortened (redact_numbers)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact_numbers(self._inner.format(record))


def syslog_priority(levelno: int) -> int:
    return next((p for level, p in _PRIORITIES if levelno >= level), 7)


class JournalFormatter(logging.Formatter):
    """Every line of a record (a traceback's too) prefixed with the record's priority: journald
    splits a stream into lines and reads the prefix of each."""

    def __init__(self) -> None:
        super().__init__(JOURNAL)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines() or [""])


def stderr_is_journal(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """JOURNAL_STREAM names the device and inode of the stream systemd connected; it is ours
    only if ``stream`` is that very file (a child whose stderr was redirected inherits the
    variable, not the stream)."""
    device, _, inode = environ.get("JOURNAL_STREAM", "").partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        found = os.fstat(stream.fileno())
    except (OSError, ValueError):  # no file descriptor (a test's captured stream)
        return False
    return (found.st_dev, found.st_ino) == (int(device), int(inode))


def setup_logging(level: str, stream: TextIO | None = None, *, numbers: bool = False) -> None:
    """The root logger at ``level``, writing to ``stream`` (stderr) in the form it suits;
    phone numbers in full only with ``numbers`` (the log_numbers setting)."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    journal = stderr_is_journal(stream)
    formatter = JournalFormatter() if journal else logging.Formatter(PLAIN)
    handler.setFormatter(formatter if numbers else Redacting(formatter))
    logging.basicConfig(level=level.upper(), handlers=[handler])


EXIT_SETTINGS = 2  # the status of refused settings (as check's for a wrong directory)


def report_refused(error: SettingsError, stream: TextIO | None = None) -> int:
    """Each problem on stderr at error priority (journald reads the "<3>" prefix), before
    any logging is set up; the exit status for refused settings."""
    stream = stream or sys.stderr
    prefix = "<3>" if stderr_is_journal(stream) else ""
    for line in error.problems:
        print(f"{prefix}agi-callback: settings error: {line}", file=stream)
    return EXIT_SETTINGS
