"""Phone numbers in log lines keep their last four digits only, unless log_numbers is on:
logs outlive the store's retention and travel further."""

import io
import logging

import pytest

from agi_app.app.log_format import redact_numbers, setup_logging
from agi_app.config.settings import Settings


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("stored number=+15551230111 extension=-", "stored number=+…0111 extension=-"),
        ("'02079460100' is not a phone number", "'…0100' is not a phone number"),
        ("dialing PJSIP/+15551230001@pstn", "dialing PJSIP/+…0001@pstn"),
    ],
)
def test_numbers_keep_their_last_four_digits(line: str, shown: str) -> None:
    assert redact_numbers(line) == shown


@pytest.mark.parametrize(
    "line",
    [  # uniqueids, request and channel ids, times, addresses, short numbers
        "channel=1796577623.0 queue=support",
        "cb-2bf83ded-65e4-4a32-ab96-000000000001-1-f",
        "2026-11-26 14:47:27,399 fastagi 127.0.0.13:4573",
        "dialed 5000, waited 25 s",
    ],
)
def test_what_is_not_a_number_is_left_alone(line: str) -> None:
    assert redact_numbers(line) == line


@pytest.mark.parametrize("numbers", [False, True])
def test_the_service_logs_numbers_in_full_only_when_asked(numbers: bool) -> None:
    root = logging.getLogger()
    kept = root.handlers[:], root.level
    out = io.StringIO()
    try:
        root.handlers.clear()
        setup_logging("INFO", out, numbers=Settings(log_numbers=numbers).log_numbers)
        logging.getLogger("agi_app.test").info("callback for %s", "+15551230111")
    finally:
        root.handlers[:], root.level = kept[0], kept[1]
    assert ("+15551230111" in out.getvalue()) is numbers
    assert "+…0111" in out.getvalue() or numbers
