"""Tests of tests/support/rtp.py: RTP reception, u-law decoding, matching."""

from __future__ import annotations

import asyncio
import shutil
import socket
import struct
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.support.rtp import (
    RtpSink,
    load_prompt,
    match_score,
    parse_rtp,
    ulaw_decode,
    wait_dtmf,
    wait_heard,
)

FRAME = 160  # 20 ms at 8 kHz
SILENCE = 0xFF  # u-law code of 0

PROMPT_TEXTS = {
    "played": "Please enter the number we should call you back on.",
    "after": "Thank you. Your callback request was successful. Goodbye.",
    "other": "Sorry, we could not reach you. Please try again later.",
}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def ulaw_encode(samples: npt.NDArray[np.float32]) -> bytes:
    """G.711 u-law encoder (the inverse of the decoder under test)."""
    pcm = np.clip(np.round(samples.astype(np.float64) * 32768.0), -32768, 32767)
    values = pcm.astype(np.int32)
    sign = np.where(values < 0, 0x80, 0x00)
    magnitude = np.minimum(np.abs(values), 32635) + 0x84
    _, exp2 = np.frexp(magnitude.astype(np.float64))  # magnitude < 2**exp2
    exponent = np.clip(exp2.astype(np.int32) - 8, 0, 7)
    mantissa = np.bitwise_and(np.right_shift(magnitude, exponent + 3), 0x0F)
    code = np.bitwise_or(sign, np.bitwise_or(np.left_shift(exponent, 4), mantissa))
    return bytes(np.bitwise_and(np.invert(code), 0xFF).astype(np.uint8).tobytes())


def rtp_packet(
    payload: bytes,
    *,
    seq: int,
    ts: int,
    ssrc: int = 0x1234ABCD,
    pt: int = 0,
    marker: bool = False,
    csrcs: Sequence[int] = (),
    extension: tuple[int, bytes] | None = None,
    padding: int = 0,
) -> bytes:
    first = 0x80 | len(csrcs)
    if extension is not None:
        first |= 0x10
    if padding:
        first |= 0x20
    header = struct.pack(
        "!BBHII",
        first,
        (0x80 if marker else 0) | pt,
        seq & 0xFFFF,
        ts & 0xFFFFFFFF,
        ssrc,
    )
    header += b"".join(struct.pack("!I", c) for c in csrcs)
    if extension is not None:
        profile, data = extension
        assert len(data) % 4 == 0
        header += struct.pack("!HH", profile, len(data) // 4) + data
    pad = b"\x00" * (padding - 1) + bytes([padding]) if padding else b""
    return header + payload + pad


def frames(encoded: bytes) -> list[bytes]:
    """Split u-law bytes into 20 ms payloads (last one padded with silence)."""
    out = [encoded[i : i + FRAME] for i in range(0, len(encoded), FRAME)]
    if out and len(out[-1]) < FRAME:
        out[-1] += bytes([SILENCE]) * (FRAME - len(out[-1]))
    return out


async def send_all(port: int, packets: Sequence[bytes], burst: int = 10) -> None:
    """Send datagrams to the sink, yielding to the event loop between bursts."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i, packet in enumerate(packets):
            sock.sendto(packet, ("127.0.0.1", port))
            if i % burst == burst - 1:
                await asyncio.sleep(0)
    await asyncio.sleep(0)


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def make_wav(text: str, path: Path) -> Path:
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(path)],
        check=True,
    )
    return path


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng and sox are needed to generate test prompts")
    directory = tmp_path_factory.mktemp("prompts")
    return {name: make_wav(text, directory / f"{name}.wav") for name, text in PROMPT_TEXTS.items()}


def call_packets(
    prompts: dict[str, Path], *, first_seq: int = 65000, ssrc: int = 0xCAFE
) -> Iterator[bytes]:
    """1 s of silence with DTMF events in it, then 'played', then 'after'."""
    seq, ts = first_seq, 123456
    silence = [bytes([SILENCE]) * FRAME] * 50
    audio = [
        *silence,
        *frames(ulaw_encode(load_prompt(prompts["played"]))),
        *frames(ulaw_encode(load_prompt(prompts["after"]))),
    ]
    for index, payload in enumerate(audio):
        if index in (10, 11, 12):
            # An RFC 4733 event (digit 1, volume 10, duration) takes no audio
            # seq number here; a real sender interleaves them like this.
            event = struct.pack("!BBH", 1, 10, 160 * (index - 9))
            yield rtp_packet(event, seq=seq, ts=ts, ssrc=ssrc, pt=101)
        yield rtp_packet(payload, seq=seq, ts=ts, ssrc=ssrc, marker=index == 0)
        seq += 1
        ts += FRAME


# --------------------------------------------------------------------------
# u-law
# --------------------------------------------------------------------------


def test_ulaw_decode_known_codes() -> None:
    decoded = ulaw_decode(bytes([0xFF, 0x7F, 0x00, 0x80, 0xF0, 0x70]))
    assert decoded.dtype == np.float32
    expected = np.array([0, 0, -32124, 32124, 120, -120], dtype=np.float64) / 32768
    np.testing.assert_allclose(decoded, expected, rtol=0, atol=1e-9)


def test_ulaw_roundtrip() -> None:
    codes = bytes(range(256))
    assert ulaw_encode(ulaw_decode(codes)) in (codes, codes.replace(b"\x7f", b"\xff"))
    ramp = np.linspace(-1.0, 1.0, 20001, dtype=np.float32)
    error = np.abs(ulaw_decode(ulaw_encode(ramp)) - np.clip(ramp, -0.98, 0.98))
    # u-law quantization error stays below half a step (<= 3.2 % of |x|).
    assert float(np.max(error - 0.033 * np.abs(ramp))) < 2e-4


# --------------------------------------------------------------------------
# RTP header parsing
# --------------------------------------------------------------------------


def test_parse_rtp_with_csrcs_extension_and_padding() -> None:
    payload = bytes(range(40))
    data = rtp_packet(
        payload,
        seq=4321,
        ts=0xDEADBEEF,
        ssrc=0x01020304,
        marker=True,
        csrcs=(0xAAAA0001, 0xAAAA0002),
        extension=(0xBEDE, b"\x10\x01\x00\x00\x22\x02\x03\x00"),
        padding=3,
    )
    packet = parse_rtp(data)
    assert packet.version == 2
    assert packet.marker
    assert packet.payload_type == 0
    assert packet.sequence == 4321
    assert packet.timestamp == 0xDEADBEEF
    assert packet.ssrc == 0x01020304
    assert packet.csrcs == (0xAAAA0001, 0xAAAA0002)
    assert packet.extension_profile == 0xBEDE
    assert packet.extension_data == b"\x10\x01\x00\x00\x22\x02\x03\x00"
    assert packet.padding
    assert packet.payload == payload


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x00\x00",  # shorter than the fixed header
        b"\x40" + bytes(11) + b"\xff" * 10,  # version 1
        b"\x82" + bytes(11) + b"\x00\x00\x00\x01",  # CSRC count 2, one present
        b"\x90" + bytes(11) + b"\xbe\xde\x00\x02\x00\x00\x00\x00",  # short ext
        b"\xa0" + bytes(11) + b"\xff\xff\x09",  # padding longer than payload
    ],
)
def test_parse_rtp_rejects_malformed(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_rtp(data)


# --------------------------------------------------------------------------
# the sink
# --------------------------------------------------------------------------


async def test_sink_decodes_header_variants_and_ignores_events() -> None:
    payload = bytes(range(0, 256, 2)) + bytes(32)
    async with RtpSink() as sink:
        assert sink.port > 0
        await send_all(
            sink.port,
            [
                rtp_packet(b"\x01\x0a\x00\xa0", seq=1, ts=0, pt=101),
                rtp_packet(b"\x01\x8a\x01\x40", seq=2, ts=0, pt=101, marker=True),
                rtp_packet(bytes(FRAME), seq=3, ts=0, pt=13),  # comfort noise
                b"garbage",
                rtp_packet(
                    payload,
                    seq=4,
                    ts=160,
                    csrcs=(7,),
                    extension=(0x1000, b"\x00\x00\x00\x01"),
                    padding=4,
                ),
            ],
        )
        await until(lambda: sink.packet_count + sink.ignored_count == 5)
        assert sink.packet_count == 1
        assert sink.ignored_count == 4
        np.testing.assert_array_equal(sink.samples(), ulaw_decode(payload))


async def test_sink_ignores_only_events() -> None:
    async with RtpSink() as sink:
        events = [
            rtp_packet(struct.pack("!BBH", 5, 10, 160 * i), seq=i, ts=0, pt=101) for i in range(20)
        ]
        await send_all(sink.port, events)
        await until(lambda: sink.ignored_count == 20)
        assert sink.packet_count == 0
        assert sink.samples().size == 0


async def test_sink_orders_by_sequence_across_wrap_and_ssrc_change() -> None:
    def payload(n: int) -> bytes:
        return bytes([n]) * FRAME

    first = [rtp_packet(payload(i), seq=65530 + i, ts=i * FRAME) for i in range(12)]
    second = [rtp_packet(payload(100 + i), seq=7 + i, ts=i * FRAME, ssrc=0x5151) for i in range(5)]
    # Reordered (across the wrap), a duplicate, and a straggler of the first
    # SSRC arriving after the second one started.
    arrival = [
        first[0], first[2], first[1], first[3], first[7], first[5], first[6],
        first[4], first[4], first[8], first[10], first[9],
        second[0], second[1], first[11], second[3], second[2], second[4],
    ]  # fmt: skip
    async with RtpSink() as sink:
        await send_all(sink.port, arrival)
        await until(lambda: sink.packet_count + sink.ignored_count == len(arrival))
        assert sink.packet_count == 17
        assert sink.ignored_count == 1
        assert sink.ssrcs == [0x1234ABCD, 0x5151]
        expected = np.concatenate(
            [ulaw_decode(payload(i)) for i in range(12)]
            + [ulaw_decode(payload(100 + i)) for i in range(5)]
        )
        np.testing.assert_array_equal(sink.samples(), expected)

        sink.clear()
        assert sink.samples().size == 0
        # A lost packet becomes 20 ms of silence, keeping later audio aligned.
        await send_all(
            sink.port,
            [
                rtp_packet(payload(1), seq=500, ts=0, ssrc=9),
                rtp_packet(payload(3), seq=502, ts=320, ssrc=9),
            ],
        )
        await until(lambda: sink.packet_count == 2)
        np.testing.assert_array_equal(
            sink.samples(),
            np.concatenate([ulaw_decode(payload(1)), np.zeros(FRAME), ulaw_decode(payload(3))]),
        )


async def test_sink_fixed_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    async with RtpSink(port) as sink:
        assert sink.port == port


# --------------------------------------------------------------------------
# matching what was heard
# --------------------------------------------------------------------------


async def test_heard_prompt_matches_and_other_does_not(
    prompts: dict[str, Path],
) -> None:
    packets = list(call_packets(prompts))
    async with RtpSink() as sink:
        await send_all(sink.port, packets)
        await until(lambda: sink.packet_count + sink.ignored_count == len(packets))
        assert sink.ignored_count == 3
        heard = sink.samples()

    played = match_score(heard, load_prompt(prompts["played"]))
    after = match_score(heard, load_prompt(prompts["after"]))
    other = match_score(heard, load_prompt(prompts["other"]))
    print(f"scores: played={played:.4f} after={after:.4f} other={other:.4f}")
    assert played >= 0.9
    assert after >= 0.9
    assert other < 0.5

    # Loudness does not matter; too little audio scores 0.
    quiet = match_score(heard * np.float32(0.05), load_prompt(prompts["played"]))
    assert quiet == pytest.approx(played, abs=1e-3)
    assert match_score(heard[:4000], load_prompt(prompts["played"])) == 0.0
    assert match_score(np.zeros(80000, np.float32), load_prompt(prompts["other"])) == 0


async def test_wait_heard_while_audio_streams(prompts: dict[str, Path]) -> None:
    packets = list(call_packets(prompts, first_seq=100))

    async def stream(port: int) -> None:
        # Five times real time: 20 packets every 80 ms.
        for start in range(0, len(packets), 20):
            await send_all(port, packets[start : start + 20], burst=20)
            await asyncio.sleep(0.08)

    async with RtpSink() as sink:
        sender = asyncio.create_task(stream(sink.port))
        try:
            score = await wait_heard(sink, prompts["played"], timeout=15)
            assert score >= 0.8
            assert not sender.done()  # matched before the 'after' prompt ended
            score = await wait_heard(sink, prompts["after"], timeout=15)
            assert score >= 0.8
        finally:
            await sender
        with pytest.raises(AssertionError, match=r"best score 0\.[0-4]"):
            await wait_heard(sink, prompts["other"], timeout=0.3)


def brute_force_score(heard: npt.NDArray[np.float32], template: npt.NDArray[np.float32]) -> float:
    """Pearson correlation at every full offset and every clipped start."""
    window = template.size

    def pearson(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
        a, b = a - a.mean(), b - b.mean()
        return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))

    x, t = heard.astype(np.float64), template.astype(np.float64)
    full = [pearson(x[k : k + window], t) for k in range(x.size - window + 1)]
    clipped = [pearson(x[: window - d], t[d:]) for d in range(1, window // 2 + 1)]
    return max(0.0, *full, *clipped)


@pytest.mark.parametrize("offset", [-150, 0, 777])
def test_match_score_equals_brute_force(offset: int) -> None:
    rng = np.random.default_rng(abs(offset))
    # No sample of the template is quiet, so none of it is trimmed as silence.
    template = (rng.uniform(0.2, 1.0, 400) * rng.choice([-1.0, 1.0], 400)).astype(np.float32)
    heard = (0.3 * rng.standard_normal(3000)).astype(np.float32)
    if offset < 0:  # the heard audio starts 150 samples into the template
        heard[: 400 + offset] += 0.5 * template[-offset:]
    else:
        heard[offset : offset + 400] += 0.5 * template
    score = match_score(heard, template)
    assert score == pytest.approx(brute_force_score(heard, template), abs=1e-9)
    assert score > 0.7


def test_match_tolerates_a_clipped_start(prompts: dict[str, Path]) -> None:
    played = load_prompt(prompts["played"])
    heard = ulaw_decode(ulaw_encode(played))
    onset = int(np.argmax(np.abs(played) >= 0.02 * np.max(np.abs(played))))
    # The stream's first 300 ms of sound were lost: still recognised.
    assert match_score(heard[onset + 2400 :], played) >= 0.9
    assert match_score(heard[onset + 2400 :], load_prompt(prompts["other"])) < 0.5


# --------------------------------------------------------------------------
# DTMF (RFC 4733 telephone events)
# --------------------------------------------------------------------------


def key_packets(
    keys: str, *, seq: int = 40000, ts: int = 8000, ssrc: int = 0xD7F, pt: int = 101
) -> list[bytes]:
    """Each key as a sender such as Asterisk sends it: a first packet with the marker bit,
    updates with a growing duration, then the end packet three times; one RTP timestamp per
    event."""
    codes = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "D": 15}
    out = []
    for key in keys:
        steps = [(n, False) for n in range(1, 5)] + [(5, True)] * 3
        for index, (n, end) in enumerate(steps):
            event = struct.pack("!BBH", codes[key], (0x80 if end else 0) | 10, n * FRAME)
            out.append(rtp_packet(event, seq=seq, ts=ts, ssrc=ssrc, pt=pt, marker=index == 0))
            seq += 1
        ts += 8 * FRAME
    return out


async def test_sink_records_each_key_once() -> None:
    audio = [rtp_packet(bytes([SILENCE]) * FRAME, seq=i, ts=i * FRAME) for i in range(3)]
    # The same key twice in a row is two events (two timestamps), so two keys.
    packets = [*audio, *key_packets("1*55#AD")]
    async with RtpSink() as sink:
        await send_all(sink.port, packets)
        await until(lambda: sink.packet_count + sink.ignored_count == len(packets))
        assert sink.dtmf() == "1*55#AD"
        assert sink.packet_count == 3  # the events are not audio
        assert sink.samples().size == 3 * FRAME


async def test_sink_dtmf_end_packets_only_reordered_and_other_ssrc() -> None:
    first = key_packets("7", ts=100)
    # Only end packets (the start was lost), the first end packet overtaken by a repeat,
    # and a second stream with its own SSRC reusing the same timestamp.
    packets = [first[5], first[4], first[6], *key_packets("8", ts=100, ssrc=0xBEEF)]
    async with RtpSink() as sink:
        await send_all(sink.port, packets)
        await until(lambda: sink.ignored_count == len(packets))
        assert sink.dtmf() == "78"
        sink.clear()
        assert sink.dtmf() == ""
        # A late repeat of an end packet already recorded does not record the key again.
        await send_all(sink.port, [first[6], *key_packets("9", ts=900)])
        await until(lambda: sink.ignored_count == 8)
        assert sink.dtmf() == "9"


async def test_sink_dtmf_payload_type_is_configurable() -> None:
    packets = key_packets("12", pt=96) + key_packets("34", ts=80000, pt=101)
    async with RtpSink(dtmf_payload_type=96) as sink:
        await send_all(sink.port, packets)
        await until(lambda: sink.ignored_count == len(packets))
        assert sink.dtmf() == "12"


async def test_wait_dtmf_while_keys_stream() -> None:
    packets = key_packets("0", ts=0) + key_packets("4321#", ts=16000)

    async def stream(port: int) -> None:
        for packet in packets:
            await send_all(port, [packet])
            await asyncio.sleep(0.005)

    async with RtpSink() as sink:
        sender = asyncio.create_task(stream(sink.port))
        try:
            await wait_dtmf(sink, "4321#", timeout=5)
        finally:
            await sender
        assert sink.dtmf() == "04321#"
        await wait_dtmf(sink, "21", timeout=0)
        with pytest.raises(AssertionError, match=r"'9' not received .* got '04321#'"):
            await wait_dtmf(sink, "9", timeout=0.2)
