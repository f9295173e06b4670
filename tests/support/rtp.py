"""Receive a SIP caller's RTP and decide which prompt the caller heard.

The acceptance tests make the SIPp caller advertise, in its SDP, the port of
an :class:`RtpSink`.  Asterisk then sends its RTP (G.711 u-law, payload type
0, 8 kHz, normally 20 ms per packet) to that sink.  The tests decode that
audio and compare it with the prompt WAV files (8 kHz mono 16-bit PCM) by
normalized cross-correlation, see :func:`match_score` and :func:`wait_heard`.
The RFC 4733 key presses in the same stream are recorded too, see
:meth:`RtpSink.dtmf` and :func:`wait_dtmf`.

Only numpy and the standard library are used; the deprecated ``audioop``
module is deliberately avoided (tests run with warnings as errors).
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import wave
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Self

import numpy as np
import numpy.typing as npt

__all__ = [
    "DTMF_PAYLOAD_TYPE",
    "PCMU_PAYLOAD_TYPE",
    "SAMPLE_RATE",
    "RtpPacket",
    "RtpSink",
    "load_prompt",
    "match_score",
    "parse_rtp",
    "ulaw_decode",
    "wait_dtmf",
    "wait_heard",
]

SAMPLE_RATE: Final = 8000
PCMU_PAYLOAD_TYPE: Final = 0
#: The telephone-event payload type of the test bed's SDP (``a=rtpmap:101``).
DTMF_PAYLOAD_TYPE: Final = 101
#: RFC 4733 event codes of the DTMF keys.
_DTMF_EVENTS: Final = "0123456789*#ABCD"

#: Longest prompt excerpt (in seconds) correlated against the heard audio.
MATCH_WINDOW_SECONDS: Final = 1.5

#: A sequence number this far behind the newest one of the same SSRC is not a
#: late packet but a restart of the stream (RFC 3550, appendix A.1 spirit).
_MAX_MISORDER: Final = 100
#: Gaps of up to this many missing packets (1 s at 20 ms) are filled with
#: silence so that the audio after a loss stays aligned in time.
_MAX_FILLED_GAP: Final = 50

_RTP_HEADER = struct.Struct("!BBHII")


# --------------------------------------------------------------------------
# G.711 u-law
# --------------------------------------------------------------------------


def _build_ulaw_table() -> npt.NDArray[np.float32]:
    """Decode every u-law byte with the G.711 formula, scaled to [-1, 1)."""
    codes = np.arange(256, dtype=np.int32)
    u = np.bitwise_and(np.invert(codes), 0xFF)
    negative = np.bitwise_and(u, 0x80) != 0
    exponent = np.bitwise_and(np.right_shift(u, 4), 0x07)
    mantissa = np.bitwise_and(u, 0x0F)
    magnitude = np.left_shift(np.left_shift(mantissa, 3) + 0x84, exponent) - 0x84
    linear = np.where(negative, -magnitude, magnitude).astype(np.float32)
    table: npt.NDArray[np.float32] = linear / np.float32(32768.0)
    return table


_ULAW_TABLE: Final = _build_ulaw_table()


def ulaw_decode(data: bytes) -> npt.NDArray[np.float32]:
    """Decode G.711 u-law bytes to float32 linear PCM in [-1, 1)."""
    codes = np.frombuffer(data, dtype=np.uint8)
    decoded: npt.NDArray[np.float32] = _ULAW_TABLE[codes]
    return decoded


# --------------------------------------------------------------------------
# RTP parsing
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One parsed RTP packet (RFC 3550, section 5.1)."""

    version: int
    padding: bool
    extension: bool
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    csrcs: tuple[int, ...]
    extension_profile: int | None
    extension_data: bytes
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse an RTP packet; raise :class:`ValueError` if it is malformed.

    Handles the CSRC list, the header extension and padding.
    """
    if len(data) < _RTP_HEADER.size:
        raise ValueError(f"RTP packet too short: {len(data)} bytes")
    first, second, sequence, timestamp, ssrc = _RTP_HEADER.unpack_from(data)
    version = first >> 6
    if version != 2:
        raise ValueError(f"unsupported RTP version {version}")
    padding = bool(first & 0x20)
    extension = bool(first & 0x10)
    csrc_count = first & 0x0F
    offset = _RTP_HEADER.size
    end = len(data)

    if end < offset + 4 * csrc_count:
        raise ValueError("RTP packet truncated in its CSRC list")
    csrcs = struct.unpack_from(f"!{csrc_count}I", data, offset)
    offset += 4 * csrc_count

    extension_profile: int | None = None
    extension_data = b""
    if extension:
        if end < offset + 4:
            raise ValueError("RTP packet truncated in its extension header")
        extension_profile, words = struct.unpack_from("!HH", data, offset)
        offset += 4
        if end < offset + 4 * words:
            raise ValueError("RTP packet truncated in its extension data")
        extension_data = bytes(data[offset : offset + 4 * words])
        offset += 4 * words

    if padding:
        if end <= offset:
            raise ValueError("RTP padding flag set but no padding present")
        pad = data[-1]
        if pad == 0 or offset + pad > end:
            raise ValueError(f"invalid RTP padding length {pad}")
        end -= pad

    return RtpPacket(
        version=version,
        padding=padding,
        extension=extension,
        marker=bool(second & 0x80),
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        csrcs=tuple(csrcs),
        extension_profile=extension_profile,
        extension_data=extension_data,
        payload=bytes(data[offset:end]),
    )


# --------------------------------------------------------------------------
# The sink
# --------------------------------------------------------------------------


class _Segment:
    """Packets of one SSRC run, keyed by extended sequence number."""

    __slots__ = ("highest", "payloads", "ssrc")

    def __init__(self, ssrc: int, sequence: int) -> None:
        self.ssrc = ssrc
        self.highest = sequence
        self.payloads: dict[int, bytes] = {}

    def extend(self, sequence: int) -> int:
        """The extended sequence number of ``sequence`` in this segment."""
        delta = (sequence - self.highest) & 0xFFFF
        if delta >= 0x8000:
            delta -= 0x10000
        return self.highest + delta

    def audio(self) -> list[npt.NDArray[np.float32]]:
        chunks: list[npt.NDArray[np.float32]] = []
        previous: int | None = None
        previous_len = 0
        for seq in sorted(self.payloads):
            payload = self.payloads[seq]
            if previous is not None:
                missing = seq - previous - 1
                if 0 < missing <= _MAX_FILLED_GAP and previous_len:
                    chunks.append(np.zeros(missing * previous_len, dtype=np.float32))
            chunks.append(ulaw_decode(payload))
            previous, previous_len = seq, len(payload)
        return chunks


class _SinkProtocol(asyncio.DatagramProtocol):
    def __init__(self, sink: RtpSink) -> None:
        self._sink = sink

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._sink._receive(data)


class RtpSink:
    """Collect the PCMU audio that arrives as RTP on a loopback UDP port.

    ``async with RtpSink() as sink:`` binds 127.0.0.1 on an ephemeral port
    (``sink.port``); pass ``port=`` to bind a fixed one.  Packets are parsed
    (CSRC list, header extension and padding honoured); only payload type 0
    (PCMU) is kept as audio, everything else (RFC 4733 events, comfort noise,
    malformed packets) is counted in :attr:`ignored_count`.

    Packets of ``dtmf_payload_type`` are also read as RFC 4733 telephone
    events: each key is recorded once, when the first packet of its event
    with the end bit arrives (an event is identified by SSRC and RTP
    timestamp, so the repeated end packets do not count again); see
    :meth:`dtmf`.

    Within one SSRC the packets are ordered by (wrap-around aware) sequence
    number, duplicates are dropped and gaps of up to 50 packets are filled
    with silence; a new SSRC starts a new segment that is appended after the
    previous ones, in arrival order.
    """

    def __init__(
        self, port: int = 0, host: str = "127.0.0.1", *, dtmf_payload_type: int = DTMF_PAYLOAD_TYPE
    ) -> None:
        self._requested_port = port
        self.host = host
        self.dtmf_payload_type = dtmf_payload_type
        self._digits: list[str] = []
        self._events_ended: set[tuple[int, int]] = set()  # (SSRC, timestamp)
        self._transport: asyncio.DatagramTransport | None = None
        self._segments: list[_Segment] = []
        self._cache: npt.NDArray[np.float32] | None = None
        self.packet_count = 0
        """PCMU packets kept (duplicates not counted)."""
        self.ignored_count = 0
        """Datagrams dropped: malformed, not PCMU, or duplicates."""

    @property
    def port(self) -> int:
        if self._transport is None:
            raise RuntimeError("RtpSink is not started")
        sockname = self._transport.get_extra_info("sockname")
        return int(sockname[1])

    async def start(self) -> Self:
        if self._transport is not None:
            raise RuntimeError("RtpSink already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            # Roomy buffer: tests may blast packets faster than real time.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            sock.bind((self.host, self._requested_port))
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _SinkProtocol(self), sock=sock
            )
        except BaseException:
            sock.close()
            raise
        self._transport = transport
        return self

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def clear(self) -> None:
        """Forget all audio and keys received so far (e.g. between test phases).

        A late end packet of a key recorded before does not record it again.
        """
        self._segments.clear()
        self._digits.clear()
        self._cache = None
        self.packet_count = 0
        self.ignored_count = 0

    @property
    def ssrcs(self) -> list[int]:
        """SSRC of each segment, in order (a repeated SSRC may reappear)."""
        return [segment.ssrc for segment in self._segments]

    def samples(self) -> npt.NDArray[np.float32]:
        """All PCMU audio received so far as float32 linear PCM at 8 kHz."""
        if self._cache is None:
            chunks: list[npt.NDArray[np.float32]] = []
            for segment in self._segments:
                chunks.extend(segment.audio())
            self._cache = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return self._cache

    def duration(self) -> float:
        """Seconds of audio in :meth:`samples`."""
        return len(self.samples()) / SAMPLE_RATE

    def dtmf(self) -> str:
        """The keys received as RFC 4733 events so far, in order ("0"-"9", "*", "#", "A"-"D")."""
        return "".join(self._digits)

    def _receive(self, data: bytes) -> None:
        try:
            packet = parse_rtp(data)
        except ValueError:
            self.ignored_count += 1
            return
        if packet.payload_type == self.dtmf_payload_type:
            self._event(packet)
        if packet.payload_type != PCMU_PAYLOAD_TYPE or not packet.payload:
            self.ignored_count += 1
            return
        segment, seq = self._place(packet)
        if seq in segment.payloads:
            self.ignored_count += 1
            return
        segment.payloads[seq] = packet.payload
        segment.highest = max(segment.highest, seq)
        self.packet_count += 1
        self._cache = None

    def _event(self, packet: RtpPacket) -> None:
        """Record the key of an RFC 4733 event (section 2.3) at its first end packet."""
        if len(packet.payload) < 4 or not packet.payload[1] & 0x80:
            return
        event = (packet.ssrc, packet.timestamp)
        if event in self._events_ended:
            return
        self._events_ended.add(event)
        code = packet.payload[0]
        if code < len(_DTMF_EVENTS):
            self._digits.append(_DTMF_EVENTS[code])

    def _place(self, packet: RtpPacket) -> tuple[_Segment, int]:
        """Find the segment a packet belongs to and its extended sequence."""
        if self._segments:
            current = self._segments[-1]
            if current.ssrc == packet.ssrc:
                seq = current.extend(packet.sequence)
                if seq > current.highest - _MAX_MISORDER:
                    return current, seq
            elif len(self._segments) > 1:
                # A straggler of the previous SSRC, overtaken by packets of the
                # current one: it cannot be newer than the previous SSRC's
                # highest sequence plus the packets that overtook it.
                previous = self._segments[-2]
                if previous.ssrc == packet.ssrc:
                    seq = previous.extend(packet.sequence)
                    newest = previous.highest + len(current.payloads)
                    if previous.highest - _MAX_MISORDER < seq <= newest:
                        return previous, seq
        segment = _Segment(packet.ssrc, packet.sequence)
        self._segments.append(segment)
        return segment, packet.sequence


# --------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------


def load_prompt(path: str | os.PathLike[str]) -> npt.NDArray[np.float32]:
    """Read an 8 kHz mono 16-bit PCM WAV file as float32 in [-1, 1)."""
    with wave.open(os.fspath(path), "rb") as wav:
        channels = wav.getnchannels()
        width = wav.getsampwidth()
        rate = wav.getframerate()
        if (channels, width, rate) != (1, 2, SAMPLE_RATE):
            raise ValueError(
                f"{path}: need 8000 Hz mono 16-bit PCM, got {rate} Hz, "
                f"{channels} channel(s), {8 * width}-bit"
            )
        frames = wav.readframes(wav.getnframes())
    pcm = np.frombuffer(frames, dtype="<i2")
    return (pcm.astype(np.float32) / np.float32(32768.0)).astype(np.float32)


def _template(prompt: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """The prompt excerpt to look for: leading silence skipped, <= 1.5 s."""
    values = np.asarray(prompt, dtype=np.float64).ravel()
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    start = int(np.argmax(np.abs(values) >= 0.02 * peak)) if peak > 0.0 else 0
    return values[start : start + int(MATCH_WINDOW_SECONDS * SAMPLE_RATE)]


def _correlate(
    signal: npt.NDArray[np.float64], template: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``sum(signal[k + j] * template[j])`` for every full-overlap offset k.

    FFT overlap-save in blocks, so the cost grows linearly with the signal.
    """
    window = template.size
    count = signal.size - window + 1
    size = 1 << max(16, (4 * window).bit_length())
    size = min(size, 1 << (signal.size + window - 1).bit_length())
    step = size - window + 1
    kernel = np.conj(np.fft.rfft(template, size))
    out = np.empty(count, dtype=np.float64)
    for start in range(0, count, step):
        block = signal[start : start + size]
        valid = min(step, count - start)
        product = np.fft.irfft(np.fft.rfft(block, size) * kernel, size)
        out[start : start + valid] = product[:valid]
    return out


def _pearson(
    products: npt.NDArray[np.float64],
    length: npt.NDArray[np.float64] | int,
    x_sum: npt.NDArray[np.float64],
    x_sq: npt.NDArray[np.float64],
    t_sum: npt.NDArray[np.float64] | float,
    t_sq: npt.NDArray[np.float64] | float,
) -> float:
    """Best Pearson correlation from the windows' sums (0 if all silent)."""
    x_var = np.maximum(x_sq - x_sum * x_sum / length, 0.0)
    t_var = np.maximum(t_sq - t_sum * t_sum / length, 0.0)
    covariance = products - x_sum * t_sum / length
    # Windows of (near) digital silence carry no information: score them 0.
    valid = (x_var > 1e-9 * length) & (t_var > 1e-9 * length)
    if not np.any(valid):
        return 0.0
    scores = covariance[valid] / np.sqrt((x_var * t_var)[valid])
    return float(np.clip(np.max(scores), 0.0, 1.0))


def match_score(heard: npt.NDArray[np.float32], prompt: npt.NDArray[np.float32]) -> float:
    """Best normalized cross-correlation (0..1) of the prompt in ``heard``.

    The prompt's first 1.5 s of sound (leading silence skipped; the whole
    prompt if shorter) is slid over every offset of ``heard``; each offset
    is scored with the Pearson correlation of the two windows, so loudness
    does not matter.  As the first packets of a stream are the ones most
    likely to be missing, the excerpt may also hang off the start of
    ``heard`` by up to half its length.  Returns 0.0 when ``heard`` is
    shorter than the excerpt or either is silent.
    """
    signal = np.asarray(heard, dtype=np.float64).ravel()
    return _score(signal, _template(prompt), clipped_start=True)


def _score(
    signal: npt.NDArray[np.float64],
    template: npt.NDArray[np.float64],
    *,
    clipped_start: bool,
) -> float:
    window = template.size
    if window < 2 or signal.size < window:
        return 0.0

    # Full overlaps: template against signal[k : k + window] for every k.
    count = signal.size - window + 1
    cumsum = np.concatenate(([0.0], np.cumsum(signal)))
    cumsum_sq = np.concatenate(([0.0], np.cumsum(signal * signal)))
    full = _pearson(
        _correlate(signal, template),
        window,
        cumsum[window:] - cumsum[:count],
        cumsum_sq[window:] - cumsum_sq[:count],
        float(template.sum()),
        float(np.dot(template, template)),
    )

    if not clipped_start:
        return full
    # Clipped start: template[d:] against signal[: window - d], 0 < d <= window/2.
    clip = np.arange(1, window // 2 + 1)
    length = window - clip
    size = 1 << (2 * window).bit_length()
    head = signal[:window]
    products = np.fft.irfft(np.fft.rfft(template, size) * np.conj(np.fft.rfft(head, size)), size)[
        clip
    ]
    t_tail = np.cumsum(template[::-1])[::-1]
    t_tail_sq = np.cumsum((template * template)[::-1])[::-1]
    clipped = _pearson(
        products,
        length.astype(np.float64),
        cumsum[length],
        cumsum_sq[length],
        t_tail[clip],
        t_tail_sq[clip],
    )
    return max(full, clipped)


async def wait_heard(
    sink: RtpSink,
    prompt_path: str | os.PathLike[str],
    *,
    timeout: float,
    threshold: float = 0.8,
    poll_interval: float = 0.1,
) -> float:
    """Wait until the caller has heard the prompt; return its match score.

    Polls the sink every ``poll_interval`` seconds.  Raises
    :class:`AssertionError` with the best score seen if the score has not
    reached ``threshold`` within ``timeout`` seconds.
    """
    template = _template(load_prompt(prompt_path))
    # Re-scan only the new audio, with a margin for late (reordered) packets.
    overlap = template.size + SAMPLE_RATE
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    best = 0.0
    scanned = 0
    while True:
        heard = sink.samples()
        if len(heard) < scanned:  # the sink was cleared meanwhile
            scanned = 0
        if len(heard) > scanned:
            start = max(0, scanned - overlap)
            signal = np.asarray(heard[start:], dtype=np.float64)
            best = max(best, _score(signal, template, clipped_start=start == 0))
            scanned = len(heard)
        if best >= threshold:
            return best
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(
                f"prompt {os.fspath(prompt_path)!r} not heard within {timeout} s: "
                f"best score {best:.3f} < {threshold} "
                f"({sink.packet_count} PCMU packets, "
                f"{len(heard) / SAMPLE_RATE:.2f} s of audio received)"
            )
        await asyncio.sleep(min(poll_interval, remaining))


async def wait_dtmf(
    sink: RtpSink,
    digits: str,
    *,
    timeout: float,
    poll_interval: float = 0.05,
) -> None:
    """Wait until ``digits`` appear, in a row, in the keys the sink received.

    Raises :class:`AssertionError` with the keys received if they have not
    within ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while digits not in sink.dtmf():
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(
                f"DTMF {digits!r} not received within {timeout} s: got {sink.dtmf()!r}"
            )
        await asyncio.sleep(min(poll_interval, remaining))
