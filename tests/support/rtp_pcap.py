"""RTP streams written as pcap files for SIPp's ``play_pcap_audio`` (and read back).

SIPp (prepare_pcap.c) takes a classic pcap of Ethernet (link type 1) frames holding IPv4/UDP
packets, each captured whole (captured length = length); it keeps only the UDP payload and
sends it from the phone's media port to the RTP address of the peer's SDP, spacing the
packets as their capture times are spaced. Addresses and ports in the file do not matter
(all the packets here have the same, so none is shifted): only the RTP inside, which SIPp
sends as it is, sequence numbers, timestamps and SSRC included.

An :class:`RtpStream` is one RTP source (one SSRC) built in time order: G.711 u-law audio in
20 ms frames (payload type 0) and RFC 4733 key presses (payload type 101, as the scenarios'
SDP says), one continuous numbering, so that Asterisk takes every packet; :func:`write_pcap`
writes it, :func:`read_pcap` reads such a file back.

The standard library only.
"""

import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from tests.support.rtp import PCMU, TELEPHONE_EVENT
from tests.support.testbed import LOOPBACK

FRAME_MS: Final = 20
SAMPLES_PER_MS: Final = 8  # 8 kHz
FRAME_BYTES: Final = FRAME_MS * SAMPLES_PER_MS  # one u-law byte per sample
ULAW_SILENCE: Final = 0xFF  # u-law code of a zero sample
EVENTS: Final = {key: code for code, key in enumerate("0123456789*#ABCD")}  # RFC 4733 codes
EVENT_VOLUME: Final = 10  # -10 dBm0, as SIPp's own DTMF pcaps and tests/support/dtmf.py
END_PACKETS: Final = 3  # an event's last packet is sent three times (RFC 4733, 2.5.1.4)

_PCAP_HEADER: Final = struct.Struct("<IHHiIII")  # magic, version 2.4, zone, sigfigs, snaplen, link
_RECORD_HEADER: Final = struct.Struct("<IIII")  # seconds, microseconds, captured, length
_MAGIC: Final = 0xA1B2C3D4
_LINK_ETHERNET: Final = 1
_SNAPLEN: Final = 65535
_ETHERNET: Final = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"  # IPv4
_PORT: Final = 6000  # the file's UDP ports; SIPp replaces them


@dataclass(frozen=True)
class RtpPacket:
    """One RTP packet (RFC 3550, 5.1: version 2, no padding, extension or CSRC) and when it
    is sent, in milliseconds from the start of the stream."""

    at_ms: int
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        second = (0x80 if self.marker else 0) | self.payload_type
        header = struct.pack(
            "!BBHII", 0x80, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc
        )
        return header + self.payload

    @classmethod
    def parse(cls, at_ms: int, data: bytes) -> "RtpPacket":
        if len(data) < 12 or data[0] != 0x80:
            raise ValueError(f"not a plain RTP version 2 packet: {data[:12].hex()}")
        _, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data)
        return cls(at_ms, second & 0x7F, sequence, timestamp, ssrc, data[12:], bool(second & 0x80))


@dataclass
class RtpStream:
    """One RTP source built in time order: each call appends what is sent next."""

    ssrc: int = 0x5EEC4001
    first_sequence: int = 4000
    first_timestamp: int = 160_000
    packets: list[RtpPacket] = field(default_factory=list)
    _elapsed_ms: int = 0  # the time (and media clock) of the next packet
    _talking: bool = False  # the last packet was audio (no marker on the next one)

    @property
    def duration_ms(self) -> int:
        """How long the stream lasts so far: the time of the next packet."""
        return self._elapsed_ms

    def _add(self, payload_type: int, timestamp: int, payload: bytes, marker: bool) -> None:
        sequence = (self.first_sequence + len(self.packets)) & 0xFFFF
        self.packets.append(
            RtpPacket(
                self._elapsed_ms, payload_type, sequence, timestamp, self.ssrc, payload, marker
            )
        )

    def _timestamp(self) -> int:
        return (self.first_timestamp + self._elapsed_ms * SAMPLES_PER_MS) & 0xFFFFFFFF

    def audio(self, ulaw: bytes) -> None:
        """G.711 u-law samples (8 kHz), in 20 ms packets; the last one is filled up with
        silence. The first packet after a key press, or of the stream, has the marker bit
        (the start of a talkspurt)."""
        for start in range(0, len(ulaw), FRAME_BYTES):
            frame = ulaw[start : start + FRAME_BYTES]
            frame += bytes([ULAW_SILENCE]) * (FRAME_BYTES - len(frame))
            self._add(PCMU, self._timestamp(), frame, marker=not self._talking)
            self._talking = True
            self._elapsed_ms += FRAME_MS

    def silence(self, ms: int) -> None:
        """Audio packets of silence (a phone keeps sending while nobody speaks), rounded up
        to whole 20 ms packets."""
        self.audio(bytes([ULAW_SILENCE]) * (ms * SAMPLES_PER_MS))

    def key(self, key: str, tone_ms: int = 100) -> None:
        """One key press as RFC 4733 events in place of the audio: a packet every 20 ms for
        ``tone_ms``, all with the timestamp of the key's start and a growing duration, the
        first with the marker bit; then the end packet three times. Every packet has a
        sequence number of its own, as tests/support/dtmf.py's keys, which Asterisk takes."""
        event = EVENTS[key.upper()]
        start = self._timestamp()
        tone_packets = max(1, -(-tone_ms // FRAME_MS))
        for n in range(1, tone_packets + END_PACKETS + 1):
            end = n > tone_packets
            duration = min(n, tone_packets) * FRAME_BYTES
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | EVENT_VOLUME, duration)
            self._add(TELEPHONE_EVENT, start, payload, marker=n == 1)
            self._elapsed_ms += FRAME_MS
        self._talking = False


def _frame(rtp: bytes) -> bytes:
    """Ethernet + IPv4 + UDP around an RTP packet (checksums 0: SIPp computes the UDP one)."""
    udp = struct.pack("!HHHH", _PORT, _PORT, 8 + len(rtp), 0) + rtp
    address = socket.inet_aton(LOOPBACK)
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, socket.IPPROTO_UDP, 0,
        address, address,
    )  # fmt: skip
    return _ETHERNET + ip + udp


def write_pcap(path: Path, packets: list[RtpPacket]) -> None:
    """Write the packets as a pcap that SIPp's play_pcap_audio plays, each at its time."""
    records = [_PCAP_HEADER.pack(_MAGIC, 2, 4, 0, 0, _SNAPLEN, _LINK_ETHERNET)]
    for packet in packets:
        frame = _frame(packet.to_bytes())
        seconds, ms = divmod(packet.at_ms, 1000)
        records.append(_RECORD_HEADER.pack(seconds, ms * 1000, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(records))


def read_pcap(path: Path) -> list[RtpPacket]:
    """The RTP packets of a pcap as SIPp reads it (Ethernet, IPv4, UDP; whole captures), with
    their times in milliseconds from the first packet."""
    data = path.read_bytes()
    magic, major, minor, _, _, _, link = _PCAP_HEADER.unpack_from(data)
    if (magic, major, minor, link) != (_MAGIC, 2, 4, _LINK_ETHERNET):
        raise ValueError(f"{path}: not a little-endian pcap 2.4 of Ethernet frames")
    packets: list[RtpPacket] = []
    offset = _PCAP_HEADER.size
    first_us: int | None = None
    while offset < len(data):
        seconds, micros, captured, length = _RECORD_HEADER.unpack_from(data, offset)
        offset += _RECORD_HEADER.size
        frame = data[offset : offset + captured]
        offset += captured
        if captured != length or len(frame) != captured:
            raise ValueError(f"{path}: truncated packet {len(packets)}")
        if frame[12:14] != b"\x08\x00" or frame[14] >> 4 != 4 or frame[23] != socket.IPPROTO_UDP:
            raise ValueError(f"{path}: packet {len(packets)} is not IPv4/UDP over Ethernet")
        ip_start, ip_header = 14, (frame[14] & 0x0F) * 4
        (ip_length,) = struct.unpack_from("!H", frame, ip_start + 2)
        udp_start = ip_start + ip_header
        (udp_length,) = struct.unpack_from("!H", frame, udp_start + 4)
        if ip_start + ip_length != len(frame) or udp_start + udp_length != len(frame):
            raise ValueError(f"{path}: packet {len(packets)}: lengths do not add up")
        at_us = seconds * 1_000_000 + micros
        first_us = at_us if first_us is None else first_us
        packets.append(RtpPacket.parse((at_us - first_us) // 1000, frame[udp_start + 8 :]))
    return packets
