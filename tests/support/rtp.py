"""What a SIP peer heard: its RTP audio matched against the prompts, and its RFC 4733 keys.

A SIPp peer's SDP points at an :class:`RtpSink`; Asterisk sends it G.711 u-law (payload type
0, 8 kHz) and RFC 4733 telephone events (payload type 101, as in the scenarios' SDP). The
audio is compared with the prompt WAVs (8 kHz mono 16-bit) by normalized cross-correlation
(:func:`match_score`, :func:`wait_heard`); the keys are read as :meth:`RtpSink.dtmf`.

numpy and the standard library only (``audioop`` is deprecated, and warnings are errors).
Loopback neither reorders nor loses packets, so they are taken in arrival order.
"""

import asyncio
import os
import socket
import struct
import wave
from types import TracebackType
from typing import Final, Self

import numpy as np
import numpy.typing as npt

from tests.support.poll import eventually_local
from tests.support.testbed import LOOPBACK

Audio = npt.NDArray[np.float32]

SAMPLE_RATE: Final = 8000
PCMU: Final = 0
TELEPHONE_EVENT: Final = 101
_KEYS: Final = "0123456789*#ABCD"  # RFC 4733 event codes 0..15
# The prompt's first 1.5 s of sound is what is looked for: long enough to tell prompts
# apart, short enough to be found in a recording that started late.
MATCH_WINDOW_SECONDS: Final = 1.5


def _ulaw_table() -> Audio:
    """Linear value (in [-1, 1)) of each G.711 u-law code."""
    codes = np.arange(256, dtype=np.int32) ^ 0xFF
    exponent = (codes >> 4) & 0x07
    magnitude = (((codes & 0x0F) << 3) + 0x84 << exponent) - 0x84
    linear = np.where(codes & 0x80, -magnitude, magnitude)
    return (linear / 32768.0).astype(np.float32)


_ULAW: Final = _ulaw_table()


def ulaw_decode(data: bytes) -> Audio:
    return _ULAW[np.frombuffer(data, dtype=np.uint8)]


def parse_rtp(data: bytes) -> tuple[int, int, int, bytes] | None:
    """(payload type, SSRC, timestamp, payload) of an RTP packet (RFC 3550, 5.1), or None."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    _, second, _, timestamp, ssrc = struct.unpack_from("!BBHII", data)
    offset = 12 + 4 * (data[0] & 0x0F)  # CSRC list
    if data[0] & 0x10 and len(data) >= offset + 4:  # header extension
        offset += 4 + 4 * int.from_bytes(data[offset + 2 : offset + 4], "big")
    end = len(data) - (data[-1] if data[0] & 0x20 else 0)  # padding
    if end < offset:
        return None
    return second & 0x7F, ssrc, timestamp, data[offset:end]


class RtpSink(asyncio.DatagramProtocol):
    """The audio and keys that arrive as RTP on a loopback UDP port:
    ``async with RtpSink() as sink``, then put ``sink.port`` in a peer's SDP."""

    def __init__(self) -> None:
        self._chunks: list[Audio] = []
        self._samples: Audio | None = None
        self._keys: list[str] = []
        self._events_ended: set[tuple[int, int]] = set()  # (SSRC, timestamp) of each event
        self._transport: asyncio.DatagramTransport | None = None
        self.packets = 0  # PCMU packets received

    @property
    def port(self) -> int:
        assert self._transport is not None, "RtpSink is not started"
        return int(self._transport.get_extra_info("sockname")[1])

    async def __aenter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind((LOOPBACK, 0))
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(lambda: self, sock=sock)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._transport is not None:
            self._transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        packet = parse_rtp(data)
        if packet is None:
            return
        payload_type, ssrc, timestamp, payload = packet
        if payload_type == PCMU and payload:
            self._chunks.append(ulaw_decode(payload))
            self._samples = None
            self.packets += 1
        # RFC 4733, 2.3: an event is sent again and again; its key counts at the first packet
        # with the end bit (the end packet itself is sent three times).
        elif (
            payload_type == TELEPHONE_EVENT
            and len(payload) >= 4
            and payload[1] & 0x80
            and payload[0] < len(_KEYS)
            and (ssrc, timestamp) not in self._events_ended
        ):
            self._events_ended.add((ssrc, timestamp))
            self._keys.append(_KEYS[payload[0]])

    def samples(self) -> Audio:
        """All the audio received so far, linear at 8 kHz."""
        if self._samples is None:
            self._samples = (
                np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.float32)
            )
        return self._samples

    def dtmf(self) -> str:
        """The keys received so far, in order."""
        return "".join(self._keys)


def load_prompt(path: str | os.PathLike[str]) -> Audio:
    """An 8 kHz mono 16-bit PCM WAV file, linear in [-1, 1)."""
    with wave.open(os.fspath(path), "rb") as wav:
        shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        if shape != (1, 2, SAMPLE_RATE):
            raise ValueError(f"{path}: need 8 kHz mono 16-bit PCM, got {shape}")
        frames = wav.readframes(wav.getnframes())
    return (np.frombuffer(frames, dtype="<i2") / 32768.0).astype(np.float32)


def _excerpt(prompt: Audio) -> npt.NDArray[np.float64]:
    """What is looked for: the prompt's first 1.5 s of sound (leading silence skipped)."""
    values = prompt.astype(np.float64)
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    start = int(np.argmax(np.abs(values) >= 0.02 * peak)) if peak > 0 else 0
    return values[start : start + int(MATCH_WINDOW_SECONDS * SAMPLE_RATE)]


def correlations(
    signal: npt.NDArray[np.float64], template: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Pearson correlation of ``template`` with the window of ``signal`` at each offset (by
    FFT): loudness does not matter, and windows of (near) silence get 0."""
    n = template.size
    if n < 2 or signal.size < n:
        return np.zeros(0)
    count = signal.size - n + 1
    size = 1 << (signal.size + n).bit_length()
    # sum(signal[k + j] * template[j]) for every offset k.
    products = np.fft.irfft(np.fft.rfft(signal, size) * np.conj(np.fft.rfft(template, size)), size)
    cumsum = np.concatenate(([0.0], np.cumsum(signal)))
    cumsum_sq = np.concatenate(([0.0], np.cumsum(signal * signal)))
    x_sum = cumsum[n:] - cumsum[:count]
    x_var = np.maximum(cumsum_sq[n:] - cumsum_sq[:count] - x_sum * x_sum / n, 0.0)
    t_var = float(np.dot(template, template) - template.sum() ** 2 / n)
    covariance = products[:count] - x_sum * template.sum() / n
    valid = x_var > 1e-9 * n
    out = np.zeros(count)
    if t_var > 1e-9 * n:
        out[valid] = covariance[valid] / np.sqrt(x_var[valid] * t_var)
    return out


def _score(signal: npt.NDArray[np.float64], template: npt.NDArray[np.float64]) -> float:
    """Best correlation (0..1) of ``template`` with any window of ``signal``."""
    found = correlations(signal, template)
    return float(np.clip(np.max(found), 0.0, 1.0)) if found.size else 0.0


def match_score(heard: Audio, prompt: Audio) -> float:
    """How well (0..1) the prompt's first 1.5 s of sound is found anywhere in ``heard``."""
    return _score(heard.astype(np.float64), _excerpt(prompt))


async def wait_heard(
    sink: RtpSink, prompt_path: str | os.PathLike[str], *, timeout: float, threshold: float = 0.8
) -> float:
    """Wait until the peer has heard the prompt; return its match score."""
    template = _excerpt(load_prompt(prompt_path))
    overlap = template.size  # the new audio is scanned with the excerpt's length before it
    best, scanned = 0.0, 0

    def score() -> float:
        nonlocal best, scanned
        heard = sink.samples()
        if heard.size > scanned:
            start = max(0, scanned - overlap)
            best = max(best, _score(heard[start:].astype(np.float64), template))
            scanned = heard.size
        return best

    return await eventually_local(
        score, lambda s: s >= threshold, within=timeout, interval=0.1,
        what=f"prompt {os.fspath(prompt_path)!r} heard (score >= {threshold})",
    )  # fmt: skip


async def wait_dtmf(sink: RtpSink, digits: str, *, timeout: float) -> None:
    """Wait until ``digits`` appear, in a row, in the keys the sink received."""
    await eventually_local(
        sink.dtmf, lambda keys: digits in keys, within=timeout, what=f"DTMF {digits!r} received"
    )
