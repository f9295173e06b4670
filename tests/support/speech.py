"""What a customer's phone says when it answers: a person's "Hello?" or an answering machine's
greeting and beep, as RTP pcaps for SIPp's play_pcap_audio (tests/support/uas.py,
Behaviour.PERSON, PERSON_PRESSES_1 and MACHINE), for Asterisk's answering machine detection.

The speech is made at test time by espeak-ng and sox (what sounds/generate uses; `make deps`
installs them) as 8 kHz mono G.711 u-law, and kept with the pcaps in a cache directory outside
the repository (``CALLBACK_SPEECH_CACHE``, else ``$XDG_CACHE_HOME/agi-callback/speech``, else
``~/.cache/agi-callback/speech``): made once per text, voice, layout and tool version, written
whole under its final name (parallel workers may make the same file at once).

The answers, from the moment the phone sends its 200 OK (SIPp starts playing at the ACK):

- a person: 0.3 s of silence, "Hello?" (about 0.6 s), then silence; optionally the key 1
  (RFC 4733 events in the same RTP stream) ``key_after_s`` seconds after the answer, as a
  person does when asked to press 1;
- a machine: 0.3 s of silence, the greeting "Hi, you have reached the Smith family. ..."
  (about 4.6 s of speech), 0.4 s of silence, a 1 s beep at 1000 Hz, then silence.

Silence is sent as audio packets, as a phone does: AMD measures silence on the frames it
reads.
"""

import functools
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from tests.support.rtp_pcap import SAMPLES_PER_MS, ULAW_SILENCE, RtpStream, write_pcap

CACHE_ENV: Final = "CALLBACK_SPEECH_CACHE"
VOICE: Final = "en-us"
PEAK_DB: Final = -3  # speech normalised to this peak (dBFS), as the prompts of sounds/generate
TRIM_THRESHOLD: Final = "1%"  # sox silence: what counts as sound when the ends are trimmed


@dataclass(frozen=True)
class Utterance:
    text: str
    speed: int  # espeak-ng words per minute


HELLO: Final = Utterance("Hello?", 130)  # about 0.57 s of sound
GREETING: Final = Utterance(
    "Hi, you have reached the Smith family. We cannot take your call right now."
    " Please leave a message after the tone.",
    230,  # about 4.6 s of sound: a brisk recorded greeting
)
BEEP_HZ: Final = 1000
BEEP_MS: Final = 1000
BEEP_DB: Final = -6  # the beep's level (dBFS)

PICK_UP_MS: Final = 300  # between the answer and the first word
BEFORE_BEEP_MS: Final = 400
# Silence after the last sound, long enough for AMD to hear the end of a greeting
# (after_greeting_silence, 800 ms) and for WaitForSilence() after the beep; after the
# pcap the phone sends nothing, which Asterisk also takes as silence.
TRAILING_MS: Final = 6000
KEY: Final = "1"
AFTER_KEY_MS: Final = 2000  # at least this much silence follows the key
LAYOUT: Final = 1  # the version of how the pcaps are made here: raise it when that changes


class Answer(StrEnum):
    PERSON = "person"
    MACHINE = "machine"


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agi-callback" / "speech"


@functools.cache
def _tools() -> str:
    """The versions of espeak-ng and sox: a new version makes new files."""
    out = []
    for command in (["espeak-ng", "--version"], ["sox", "--version"]):
        try:
            done = subprocess.run(command, check=True, capture_output=True, text=True)
        except FileNotFoundError:
            raise RuntimeError(
                f"{command[0]} is missing: `make deps` installs it (apt-get install espeak-ng sox)"
            ) from None
        out.append(done.stdout.strip())
    return "\n".join(out)


def _key(*parts: object) -> str:
    text = "\n".join(map(str, (_tools(), *parts)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _write_once(path: Path, make: Callable[[Path], None]) -> Path:
    """``make(tmp)`` writes the file at ``tmp``; it is renamed to ``path`` once whole."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        make(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _sox(*args: str) -> None:
    # -R: repeatable (no random dither seed), -D: no dither, -V1: errors only.
    subprocess.run(["sox", "-R", "-V1", *args], check=True, capture_output=True)


def _speak(utterance: Utterance, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spoken = Path(tmp) / "spoken.wav"
        speak = ["espeak-ng", "-v", VOICE, "-s", str(utterance.speed), "-w", str(spoken)]
        subprocess.run([*speak, utterance.text], check=True, capture_output=True)
        # Both ends' silence trimmed (the second pass on the reversed sound), peak normalised,
        # then 8 kHz mono u-law, raw.
        _sox(
            str(spoken), "-D", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(out),
            "silence", "1", "0.02", TRIM_THRESHOLD, "reverse",
            "silence", "1", "0.02", TRIM_THRESHOLD, "reverse",
            "norm", str(PEAK_DB),
        )  # fmt: skip


def spoken(utterance: Utterance) -> bytes:
    """The utterance as 8 kHz u-law samples, without leading or trailing silence."""
    name = f"speech-{_key('speech', VOICE, PEAK_DB, TRIM_THRESHOLD, utterance)}.ul"
    return _write_once(cache_dir() / name, functools.partial(_speak, utterance)).read_bytes()


def _tone(out: Path) -> None:
    _sox(
        "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(out),
        "synth", f"{BEEP_MS / 1000}", "sine", str(BEEP_HZ), "gain", str(BEEP_DB),
    )  # fmt: skip


def beep() -> bytes:
    """An answering machine's beep: 1 s at 1000 Hz, 8 kHz u-law."""
    name = f"beep-{_key('beep', BEEP_HZ, BEEP_MS, BEEP_DB)}.ul"
    return _write_once(cache_dir() / name, _tone).read_bytes()


def _silence(ms: int) -> bytes:
    return bytes([ULAW_SILENCE]) * (ms * SAMPLES_PER_MS)


def audio(answer: Answer) -> bytes:
    """What the phone says from the answer on (before any key), as 8 kHz u-law."""
    if answer is Answer.PERSON:
        return _silence(PICK_UP_MS) + spoken(HELLO) + _silence(TRAILING_MS)
    return (
        _silence(PICK_UP_MS)
        + spoken(GREETING)
        + _silence(BEFORE_BEEP_MS)
        + beep()
        + _silence(TRAILING_MS)
    )


def stream(answer: Answer, key_after_s: float | None = None) -> RtpStream:
    """The RTP the phone sends: ``audio(answer)``, and with ``key_after_s`` the key 1 that
    many seconds after the answer (in place of the audio there), then the rest of it."""
    samples = audio(answer)
    rtp = RtpStream()
    if key_after_s is None:
        rtp.audio(samples)
        return rtp
    at = round(key_after_s * 1000 / 20) * 20 * SAMPLES_PER_MS  # on a packet's boundary
    if not 0 <= at <= len(samples):
        raise ValueError(f"key_after_s={key_after_s}: within the {len(samples) / 8000} s answer")
    rtp.audio(samples[:at])
    before = rtp.duration_ms
    rtp.key(KEY)
    rest = samples[at + (rtp.duration_ms - before) * SAMPLES_PER_MS :]
    rtp.audio(rest)
    rtp.silence(max(0, AFTER_KEY_MS - len(rest) // SAMPLES_PER_MS))  # sending on after the key
    return rtp


def answer_pcap(answer: Answer, key_after_s: float | None = None) -> Path:
    """The pcap of ``stream(answer, key_after_s)``, made once into the cache directory."""
    key = "" if key_after_s is None else f"-key{KEY}-at{key_after_s:g}s"
    layout = (
        LAYOUT,
        PICK_UP_MS,
        AFTER_KEY_MS,
        BEFORE_BEEP_MS,
        TRAILING_MS,
        BEEP_HZ,
        BEEP_MS,
        BEEP_DB,
        HELLO,
        GREETING,
    )
    name = f"{answer.value}{key}-{_key('pcap', VOICE, PEAK_DB, TRIM_THRESHOLD, *layout)}.pcap"

    def make(path: Path) -> None:
        write_pcap(path, stream(answer, key_after_s).packets)

    return _write_once(cache_dir() / name, make)


# A caller's voice message (the message option): what they say after the tone.
MESSAGE: Final = Utterance("I am calling about my broken heating, invoice number four two.", 150)
MESSAGE_TAIL_MS: Final = 5000  # then silence, which ends Record() (3 s) as a person's pause


def message_pcap(lead_ms: int, utterance: Utterance = MESSAGE) -> Path:
    """The RTP of a caller who waits ``lead_ms`` (the rest of the prompt and its tone), says
    ``utterance``, then pauses: for a SIPp caller's step (tests/support/sipp.py,
    Caller.pcaps)."""
    layout = (LAYOUT, lead_ms, MESSAGE_TAIL_MS, utterance)
    name = f"message-{_key('message-pcap', VOICE, PEAK_DB, TRIM_THRESHOLD, *layout)}.pcap"

    def make(path: Path) -> None:
        rtp = RtpStream()
        rtp.audio(_silence(lead_ms) + spoken(utterance) + _silence(MESSAGE_TAIL_MS))
        write_pcap(path, rtp.packets)

    return _write_once(cache_dir() / name, make)


def spoken_wav(utterance: Utterance = MESSAGE) -> Path:
    """The utterance as an 8 kHz 16-bit WAV, as the RTP matcher takes a prompt
    (tests/support/rtp.py load_prompt): to find it in what a phone heard."""
    name = f"spoken-{_key('spoken-wav', VOICE, PEAK_DB, TRIM_THRESHOLD, utterance)}.wav"
    raw = cache_dir() / f"speech-{_key('speech', VOICE, PEAK_DB, TRIM_THRESHOLD, utterance)}.ul"
    spoken(utterance)  # makes ``raw``

    def make(path: Path) -> None:
        _sox("-t", "raw", "-r", "8000", "-c", "1", "-e", "u-law", str(raw),
             "-e", "signed-integer", "-b", "16", "-t", "wav", str(path))  # fmt: skip

    return _write_once(cache_dir() / name, make)
