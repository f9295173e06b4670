"""Tests of tests/support/rtp_pcap.py (RTP streams as pcaps for SIPp's play_pcap_audio) and
tests/support/speech.py (what the speaking customer phones say): the files read back."""

import socket
import struct
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from tests.support import speech
from tests.support.rtp import PCMU, SAMPLE_RATE, TELEPHONE_EVENT, parse_rtp, ulaw_decode
from tests.support.rtp_pcap import FRAME_BYTES, ULAW_SILENCE, RtpStream, read_pcap, write_pcap
from tests.support.uas import Behaviour, Phone


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of the test's own: the audio and pcaps are made here."""
    directory = tmp_path / "speech-cache"
    monkeypatch.setenv(speech.CACHE_ENV, str(directory))
    return directory


def frames(path: Path) -> list[tuple[float, bytes]]:
    """(capture time in s, UDP payload) of each record, read as SIPp's prepare_pcap.c does:
    a little-endian pcap 2.4 of Ethernet frames, each whole, IPv4, UDP, the UDP length."""
    data = path.read_bytes()
    magic, major, minor, _, _, _, link = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, link) == (0xA1B2C3D4, 2, 4, 1)
    out, offset = [], 24
    while offset < len(data):
        seconds, micros, captured, length = struct.unpack_from("<IIII", data, offset)
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        assert captured == length == len(frame)
        assert frame[12:14] == b"\x08\x00"  # IPv4
        ip = frame[14:]
        assert ip[0] >> 4 == 4 and ip[9] == socket.IPPROTO_UDP
        udp = ip[(ip[0] & 0x0F) * 4 :]
        (udp_length,) = struct.unpack_from("!H", udp, 4)
        assert udp_length == len(udp)
        out.append((seconds + micros / 1e6, udp[8:]))
    return out


def test_a_stream_of_audio_and_a_key_reads_back_packet_by_packet(tmp_path: Path) -> None:
    ramp = bytes(range(256)) * 3  # 768 samples: 4 whole packets and 128 samples
    stream = RtpStream(ssrc=0x01020304, first_sequence=65534, first_timestamp=0xFFFFFF00)
    stream.audio(ramp)
    stream.key("1", tone_ms=60)
    stream.silence(40)
    path = tmp_path / "stream.pcap"
    write_pcap(path, stream.packets)

    records = frames(path)
    assert len(records) == 5 + 3 + 3 + 2  # audio, the key (3 + 3 end packets), silence
    times = [round(t * 1000) for t, _ in records]
    assert times == list(range(0, 13 * 20, 20))  # one packet every 20 ms
    parsed = [parse_rtp(rtp) for _, rtp in records]
    assert all(p is not None for p in parsed)
    types = [p[0] for p in parsed if p]
    assert types == [PCMU] * 5 + [TELEPHONE_EVENT] * 6 + [PCMU] * 2
    assert {p[1] for p in parsed if p} == {0x01020304}
    sequences = [struct.unpack_from("!H", rtp, 2)[0] for _, rtp in records]
    assert sequences == [(65534 + n) & 0xFFFF for n in range(13)]  # wrapping around
    timestamps = [p[2] for p in parsed if p]
    audio_ts = [(0xFFFFFF00 + 160 * n) & 0xFFFFFFFF for n in range(5)]
    key_ts = [(0xFFFFFF00 + 160 * 5) & 0xFFFFFFFF] * 6  # an event keeps its start's timestamp
    after_ts = [(0xFFFFFF00 + 160 * n) & 0xFFFFFFFF for n in (11, 12)]
    assert timestamps == audio_ts + key_ts + after_ts
    markers = [bool(rtp[1] & 0x80) for _, rtp in records]
    assert markers == [True] + [False] * 4 + [True] + [False] * 5 + [True, False]

    payloads = [p[3] for p in parsed if p]
    assert b"".join(payloads[:5]) == ramp + bytes([ULAW_SILENCE]) * (5 * FRAME_BYTES - len(ramp))
    events = [struct.unpack("!BBH", payload) for payload in payloads[5:11]]
    assert events == [(1, 10, 160), (1, 10, 320), (1, 10, 480)] + [(1, 0x80 | 10, 480)] * 3
    assert payloads[11:] == [bytes([ULAW_SILENCE]) * FRAME_BYTES] * 2

    back = read_pcap(path)
    assert back == stream.packets


def sound_span(samples: bytes) -> tuple[float, float]:
    """(start, end) in seconds of what is louder than 1% of the peak."""
    linear = np.abs(ulaw_decode(samples))
    loud = np.nonzero(linear >= 0.01 * float(linear.max()))[0]
    return loud[0] / SAMPLE_RATE, (loud[-1] + 1) / SAMPLE_RATE


def test_a_person_says_a_short_hello_then_nothing() -> None:
    hello = speech.spoken(speech.HELLO)
    assert 0.5 <= len(hello) / SAMPLE_RATE <= 0.8
    start, end = sound_span(speech.audio(speech.Answer.PERSON))
    assert 0.25 <= start <= 0.35 and end - start <= 0.8
    assert len(speech.audio(speech.Answer.PERSON)) / SAMPLE_RATE - end >= 5  # silence after


def test_a_machine_greets_at_length_then_beeps() -> None:
    greeting = speech.spoken(speech.GREETING)
    assert 4.0 <= len(greeting) / SAMPLE_RATE <= 5.0
    tone = ulaw_decode(speech.beep()).astype(np.float64)
    assert len(tone) == SAMPLE_RATE  # 1 s
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.argmax(spectrum) * SAMPLE_RATE / len(tone) == pytest.approx(1000, abs=2)
    answer = speech.audio(speech.Answer.MACHINE)
    beep_at = answer.index(speech.beep())
    assert beep_at / SAMPLE_RATE == pytest.approx(0.3 + len(greeting) / SAMPLE_RATE + 0.4)
    assert len(answer) - beep_at - SAMPLE_RATE >= 5 * SAMPLE_RATE  # silence after the beep


@pytest.mark.parametrize("answer", list(speech.Answer))
def test_the_answer_pcap_carries_the_audio_every_20_ms(answer: speech.Answer) -> None:
    packets = read_pcap(speech.answer_pcap(answer))
    samples = speech.audio(answer)
    assert len(packets) == -(-len(samples) // FRAME_BYTES)
    assert [p.at_ms for p in packets] == [20 * n for n in range(len(packets))]
    assert {p.payload_type for p in packets} == {PCMU}
    assert b"".join(p.payload for p in packets)[: len(samples)] == samples
    first = packets[0].sequence
    assert [p.sequence for p in packets] == [(first + n) & 0xFFFF for n in range(len(packets))]


def test_the_person_presses_1_when_told() -> None:
    packets = read_pcap(speech.answer_pcap(speech.Answer.PERSON, key_after_s=4.5))
    events = [p for p in packets if p.payload_type == TELEPHONE_EVENT]
    assert [p.at_ms for p in events] == [4500 + 20 * n for n in range(8)]
    assert {p.payload[0] for p in events} == {1}  # the key 1
    assert [bool(p.payload[1] & 0x80) for p in events] == [False] * 5 + [True] * 3
    assert len({p.timestamp for p in events}) == 1
    sequences = [p.sequence for p in packets]
    assert sequences == [(sequences[0] + n) & 0xFFFF for n in range(len(packets))]
    assert packets[-1].at_ms - events[-1].at_ms >= 2000  # audio goes on after the key
    # Made once: the same file again.
    again = speech.answer_pcap(speech.Answer.PERSON, key_after_s=4.5)
    assert read_pcap(again) == packets


def test_the_speaking_phones_play_their_pcap_after_the_ack(tmp_path: Path) -> None:
    for behaviour in (Behaviour.PERSON, Behaviour.PERSON_PRESSES_1, Behaviour.MACHINE):
        phone = Phone(5090, tmp_path, behaviour, rtp_port=40000, key_after_s=3.5)
        root = ElementTree.fromstring(phone.scenario().encode("iso-8859-1"))
        steps = [(e.tag, e.get("request") or "") for e in root]
        plays = [e.get("play_pcap_audio") for e in root.iter("exec")]
        assert plays == [str(phone.speech_pcap())]
        assert Path(str(plays[0])).is_file()
        assert steps.index(("nop", "")) > steps.index(("recv", "ACK"))
        assert steps[-2:] == [("recv", "BYE"), ("send", "")]
        keys = [p for p in read_pcap(phone.speech_pcap()) if p.payload_type == TELEPHONE_EVENT]
        assert [p.at_ms for p in keys[:1]] == ([3500] if behaviour.value.endswith("1") else [])
