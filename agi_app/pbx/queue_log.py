"""Reading Asterisk's queue_log file (``/var/log/asterisk/queue_log`` by default)."""

from datetime import datetime
from pathlib import Path

from agi_app.domain.queue_day import LogLine, parse_line

DEFAULT_PATH = Path("/var/log/asterisk/queue_log")


def read_queue_log(path: Path, start: datetime, end: datetime) -> list[LogLine]:
    """The lines of ``path`` from ``start`` (inclusive) to ``end`` (exclusive), in file order.

    Read as a stream: a queue_log that is not rotated daily grows large. Lines that are not
    queue_log lines (torn by a crash, foreign) are skipped.
    """
    lines = []
    with path.open(encoding="utf-8", errors="replace") as file:
        for text in file:
            line = parse_line(text)
            if line is not None and start <= line.at < end:
                lines.append(line)
    return lines
