"""RFC 4733 key presses as pcap files for SIPp's play_pcap_audio.

The pcaps shipped with SIPp each restart the same RTP sequence numbers, so Asterisk drops
a key whose numbers run backwards from the previous one. Here every group of keys of one
call continues the sequence numbers and timestamps of the group before it.
"""

import struct
from pathlib import Path

PAYLOAD_TYPE = 101
_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
_PACKET_MS = 20
_TONE_PACKETS = 5  # 100 ms of tone
_END_PACKETS = 3  # the end packet is sent three times, as RFC 4733 advises
_GAP_MS = 100  # silence between keys
_SSRC = 0x0CA11BAC


def _udp_frame(payload: bytes) -> bytes:
    # Ethernet + IPv4 + UDP around the RTP packet; SIPp sends only the UDP payload, from
    # its own media socket to the address in Asterisk's SDP.
    udp = struct.pack("!HHHH", 6000, 6000, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
        bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]),
    )  # fmt: skip
    return b"\x00" * 12 + b"\x08\x00" + ip + udp


def write_dtmf_pcap(path: Path, keys: str, group: int) -> None:
    """Write ``keys`` as one pcap; ``group`` (0, 1, ...) keeps numbering rising per call."""
    seq = 1000 + group * 2000
    ts = 8000 * 60 * group  # a minute of timestamps per group: always increasing
    clock_ms = 0
    records = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for key in keys:
        event = _EVENTS[key]
        packets = [(n, False) for n in range(1, _TONE_PACKETS + 1)]
        packets += [(_TONE_PACKETS, True)] * _END_PACKETS
        for index, (n, end) in enumerate(packets):
            marker = 0x80 if index == 0 else 0
            duration = n * 8 * _PACKET_MS
            rtp = struct.pack("!BBHII", 0x80, marker | PAYLOAD_TYPE, seq & 0xFFFF, ts, _SSRC)
            rtp += struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
            frame = _udp_frame(rtp)
            sec, ms = divmod(clock_ms, 1000)
            records.append(struct.pack("<IIII", sec, ms * 1000, len(frame), len(frame)) + frame)
            seq += 1
            clock_ms += _PACKET_MS
        clock_ms += _GAP_MS
        ts += 8 * (_PACKET_MS * len(packets) + _GAP_MS)
    path.write_bytes(b"".join(records))
