"""Placeholders wait with the language "callback-placeholder": every prompt the queue plays
to waiting callers must exist there as silence, or Asterisk falls back to the real prompt
and streams it to every placeholder (both cores at a few thousand waiting, BENCHMARKS.md).
"""

import configparser
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SILENT = REPO / "sounds" / "placeholder"


def queue_prompts() -> set[str]:
    """The prompts queues.conf has app_queue play to waiting callers."""
    conf = configparser.ConfigParser(
        strict=False, interpolation=None, inline_comment_prefixes=(";",)
    )
    conf.read_string(
        "\n".join(
            line for line in (REPO / "asterisk_conf" / "queues.conf").read_text().splitlines()
            if not line.lstrip().startswith("member")  # repeated keys
        )
    )  # fmt: skip
    prompts = {"queue-youarenext", "queue-thereare", "queue-callswaiting", "queue-holdtime"}
    for name in conf.sections():
        for key in ("periodic-announce", "queue-youarenext", "queue-thereare"):
            value = conf[name].get(key, "")
            prompts.update(p.strip() for p in value.split(",") if p.strip())
    return prompts


def test_every_queue_prompt_has_a_silent_twin() -> None:
    prompts = queue_prompts()
    assert "callback/offer" in prompts
    missing = sorted(p for p in prompts if not (SILENT / f"{p}.wav").is_file())
    assert missing == []


def test_every_callback_prompt_has_a_silent_twin() -> None:
    ours = {f"callback/{p.stem}" for p in (REPO / "sounds" / "callback").glob("*.wav")}
    twins = {f"callback/{p.stem}" for p in (SILENT / "callback").glob("*.wav")}
    assert ours and ours == twins


def test_twins_are_short_silence() -> None:
    twins = list(SILENT.rglob("*.wav"))
    assert len(twins) > 40
    for twin in twins:
        with wave.open(str(twin)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            assert w.getnframes() <= 400, twin  # at most 50 ms
            assert set(w.readframes(w.getnframes())) == {0}, twin
