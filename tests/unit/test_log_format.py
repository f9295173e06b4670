"""Log lines as journald reads them when stderr is its stream, as before otherwise."""

import logging
import os
import re
import sys
from pathlib import Path

from agi_app.app.log_format import PLAIN, JournalFormatter, stderr_is_journal, syslog_priority


def record(level: int, message: str, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise RuntimeError("store gone")
        except RuntimeError:
            info = sys.exc_info()
    return logging.LogRecord("agi_app.app.service", level, __file__, 1, message, (), info)


def test_each_level_gets_its_syslog_priority_and_no_timestamp() -> None:
    formatter = JournalFormatter()
    lines = [
        formatter.format(record(level, "service up"))
        for level in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO, 5)
    ]
    assert lines == [
        "<2>CRITICAL agi_app.app.service: service up",
        "<3>ERROR agi_app.app.service: service up",
        "<4>WARNING agi_app.app.service: service up",
        "<6>INFO agi_app.app.service: service up",
        f"<7>{logging.getLevelName(5)} agi_app.app.service: service up",  # named by a library
    ]
    assert syslog_priority(logging.DEBUG) == 7


def test_every_line_of_a_traceback_keeps_the_priority() -> None:
    text = JournalFormatter().format(record(logging.ERROR, "serving died\nsecond line", exc=True))
    lines = text.splitlines()
    assert len(lines) > 3 and lines[-1] == "<3>RuntimeError: store gone"
    assert all(line.startswith("<3>") for line in lines)


def test_journal_stream_is_recognised_only_for_the_stream_it_names(tmp_path: Path) -> None:
    with (tmp_path / "a").open("w") as named, (tmp_path / "b").open("w") as other:
        found = os.fstat(named.fileno())
        env = {"JOURNAL_STREAM": f"{found.st_dev}:{found.st_ino}"}
        assert stderr_is_journal(named, env)
        assert not stderr_is_journal(other, env)  # inherited variable, redirected stderr
        assert not stderr_is_journal(named, {})
        assert not stderr_is_journal(named, {"JOURNAL_STREAM": "garbage"})


def test_without_journald_the_line_keeps_its_timestamp() -> None:
    line = logging.Formatter(PLAIN).format(record(logging.WARNING, "fastagi busy"))
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING agi_app\.app\.service: fastagi busy", line
    )
