"""What a caller heard Asterisk say with SAY DIGITS: each digit's own sound, found in order.

Asterisk says digits from its core sounds (``digits/0`` .. ``digits/9`` of the channel's
language, GSM files in the sandbox root). sox decodes them to 8 kHz PCM as Asterisk does, and
each digit is looked for in the caller's audio right after the one before it (within
``GAP_SECONDS``), so "5 5 5 1 2 3 9 9 9 9" is told apart from "5 5 5 1 2 3 7 7 7 7", which a
match of a prompt's first 1.5 s (tests.support.rtp) could not do.
"""

import functools
import os
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

import numpy as np
import numpy.typing as npt

from tests.support.poll import eventually_local
from tests.support.rtp import SAMPLE_RATE, Audio, RtpSink, correlations, load_prompt

REPO = Path(__file__).resolve().parents[2]
GAP_SECONDS = 1.0  # at most this much between the end of one digit and the next
THRESHOLD = 0.8


def _inside(root: Path, path: str) -> Path:
    """``path`` resolved as the sandbox's Asterisk sees it: its absolute symlinks (sounds/en
    -> /etc/alternatives/... -> /usr/share/...) point inside the root, not at the host."""
    current = PurePosixPath(path)
    for _ in range(40):
        host = root / current.relative_to("/")
        for parent in [*reversed(current.parents), current]:
            candidate = root / parent.relative_to("/")
            if candidate.is_symlink():
                target = PurePosixPath(os.readlink(candidate))
                if not target.is_absolute():
                    target = parent.parent / target
                current = target / current.relative_to(parent)
                break
        else:
            return host
    raise RuntimeError(f"{path}: too many symlinks in {root}")


@functools.cache
def digit_sounds(language: str = "en") -> dict[str, Audio]:
    """The sound of each digit 0-9 as the sandboxed Asterisk says it, silence trimmed."""
    root = subprocess.run(
        [str(REPO / "docker" / "sandbox"), "root"], check=True, capture_output=True, text=True
    ).stdout.strip()
    directory = _inside(Path(root), f"/usr/share/asterisk/sounds/{language}/digits")
    sounds: dict[str, Audio] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for digit in "0123456789":
            wav = Path(tmp) / f"{digit}.wav"
            subprocess.run(
                ["sox", "-V1", str(directory / f"{digit}.gsm"), "-r", str(SAMPLE_RATE),
                 "-c", "1", "-b", "16", "-e", "signed-integer", str(wav)],
                check=True,
            )  # fmt: skip
            sounds[digit] = _trimmed(load_prompt(wav))
    return sounds


def _trimmed(sound: Audio) -> Audio:
    loud = np.nonzero(np.abs(sound) >= 0.02 * float(np.max(np.abs(sound))))[0]
    return sound[loud[0] : loud[-1] + 1]


def said_at(heard: Audio, digits: str, *, after: int = 0) -> int | None:
    """The sample offset where ``digits``, said one right after the other, end in ``heard``
    (the first of them at ``after`` or later); None when they were not (all) said."""
    sounds = {d: sound.astype(np.float64) for d, sound in digit_sounds().items()}
    signal = heard.astype(np.float64)
    first = sounds[digits[0]]
    for offset in _matches(signal[after:], first):  # each place the first digit was said
        end = _following(signal, [sounds[d] for d in digits[1:]], after + offset + first.size)
        if end is not None:
            return end
    return None


def _following(
    signal: npt.NDArray[np.float64], sounds: list[npt.NDArray[np.float64]], start: int
) -> int | None:
    """Where ``sounds`` end when each comes within GAP_SECONDS of the one before, from
    ``start``; None when one does not."""
    end = start
    for sound in sounds:
        found = _matches(signal[end : end + int(GAP_SECONDS * SAMPLE_RATE) + sound.size], sound)
        if not found:
            return None
        end += found[0] + sound.size
    return end


def _matches(signal: npt.NDArray[np.float64], template: npt.NDArray[np.float64]) -> list[int]:
    """Where ``template`` starts in ``signal``, each occurrence once."""
    offsets: list[int] = []
    for offset in np.nonzero(correlations(signal, template) >= THRESHOLD)[0]:
        if not offsets or offset >= offsets[-1] + template.size:
            offsets.append(int(offset))
    return offsets


async def wait_said(sink: RtpSink, digits: str, *, after: int = 0, timeout: float) -> int:
    """Wait until the peer has heard ``digits`` said in a row after sample ``after``; return
    the sample offset where the last one ends."""
    found = await eventually_local(
        lambda: said_at(sink.samples(), digits, after=after),
        lambda end: end is not None,
        within=timeout,
        interval=0.25,
        what=f"digits {digits} said after sample {after}",
    )
    assert found is not None
    return found
