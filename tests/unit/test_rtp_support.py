"""Tests of tests/support/rtp.py: what a sink receives, and which prompt it heard."""

import asyncio
import socket
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.support.poll import eventually_local
from tests.support.rtp import (
    RtpSink,
    load_prompt,
    match_score,
    parse_rtp,
    ulaw_decode,
    wait_dtmf,
    wait_heard,
)

SOUNDS = Path(__file__).resolve().parents[2] / "sounds" / "callback"
FRAME = 160  # 20 ms at 8 kHz


def ulaw_encode(samples: npt.NDArray[np.float32]) -> bytes:
    """G.711 u-law encoder (the inverse of the decoder under test)."""
    values = np.clip(np.round(samples.astype(np.float64) * 32768.0), -32768, 32767).astype(int)
    sign = np.where(values < 0, 0x80, 0x00)
    magnitude = np.minimum(np.abs(values), 32635) + 0x84
    exponent = np.clip(np.frexp(magnitude.astype(np.float64))[1] - 8, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return bytes((~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes())


def rtp(payload: bytes, *, seq: int, pt: int = 0, ts: int = 0, ssrc: int = 0x1234) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts, ssrc) + payload


def audio_packets(samples: npt.NDArray[np.float32], *, ssrc: int = 0x1234) -> list[bytes]:
    encoded = ulaw_encode(samples)
    return [
        rtp(encoded[i : i + FRAME], seq=n, ts=i, ssrc=ssrc)
        for n, i in enumerate(range(0, len(encoded), FRAME))
    ]


def key_packets(keys: str, *, ts: int, ssrc: int = 0xD7F) -> list[bytes]:
    """Each key as Asterisk sends it: updates with a growing duration, then the end packet
    three times; one RTP timestamp per event."""
    out: list[bytes] = []
    for n, key in enumerate(keys):
        steps = [(d, False) for d in range(1, 5)] + [(5, True)] * 3
        for duration, end in steps:
            event = struct.pack("!BBH", "0123456789*#ABCD".index(key), end << 7 | 10, duration)
            out.append(rtp(event, seq=len(out), pt=101, ts=ts + n * 8 * FRAME, ssrc=ssrc))
    return out


def send(port: int, packets: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for packet in packets:
            sock.sendto(packet, ("127.0.0.1", port))


def test_ulaw_decode_known_codes() -> None:
    assert ulaw_decode(bytes([0xFF, 0x7F, 0x00, 0x80])).tolist() == pytest.approx(
        [0.0, 0.0, -32124 / 32768, 32124 / 32768]
    )


def test_parse_rtp_skips_csrcs_extension_and_padding() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 2, 0x80 | 8, 7, 1600, 0xABCD)
    packet = header + b"\0" * 8 + struct.pack("!HH", 0xBEDE, 1) + b"xxxx" + b"abc" + b"\0\0\3"
    assert parse_rtp(packet) == (8, 0xABCD, 1600, b"abc")
    assert parse_rtp(b"\x80\x00") is None  # too short
    assert parse_rtp(b"\x40" + bytes(15)) is None  # not version 2


async def test_sink_keeps_audio_in_order_and_each_key_once() -> None:
    tone = (0.5 * np.sin(np.arange(3 * FRAME) / 5.0)).astype(np.float32)
    # Audio of two streams (Asterisk changes the SSRC when the source changes), keys between:
    # the same key twice in a row is two events (two timestamps), so two keys.
    packets = [
        *audio_packets(tone[: 2 * FRAME]),
        *key_packets("1*55#AD", ts=8000),
        b"garbage",
        *audio_packets(tone[2 * FRAME :], ssrc=0x5678),
    ]
    async with RtpSink() as sink:
        send(sink.port, packets)
        await eventually_local(lambda: sink.packets, lambda n: n == 3, within=5, what="audio")
        await wait_dtmf(sink, "1*55#AD", timeout=5)
        assert sink.dtmf() == "1*55#AD"
        assert np.allclose(sink.samples(), ulaw_decode(ulaw_encode(tone)))


# Every language's prompts (sounds/callback/, sounds/<language>/callback/): the tests tell
# the Spanish prompt from the English one too.
PROMPTS = sorted(
    [*SOUNDS.glob("*.wav"), *SOUNDS.parent.glob("*/callback/*.wav")],
)
PROMPTS = [p for p in PROMPTS if p.parent.parent.name != "placeholder"]


@pytest.mark.parametrize(
    "prompt", PROMPTS, ids=lambda p: str(p.relative_to(SOUNDS.parent)).removesuffix(".wav")
)
def test_each_prompt_is_told_apart_from_the_others(prompt: Path) -> None:
    played = load_prompt(prompt)
    noise = np.random.default_rng(1).normal(0, 0.01, 4000).astype(np.float32)
    # As heard: after other audio, quieter, through u-law.
    heard = ulaw_decode(ulaw_encode(np.concatenate([noise, 0.3 * played, noise])))
    assert match_score(heard, played) >= 0.9
    for other in PROMPTS:
        if other != prompt:
            assert match_score(heard, load_prompt(other)) < 0.5, other


def test_match_score_is_the_best_pearson_correlation() -> None:
    rng = np.random.default_rng(7)
    template = (rng.uniform(0.2, 1.0, 400) * rng.choice([-1.0, 1.0], 400)).astype(np.float32)
    heard = (0.3 * rng.standard_normal(3000)).astype(np.float32)
    heard[777:1177] += 0.5 * template
    x, t = heard.astype(np.float64), template.astype(np.float64)
    brute = max(float(np.corrcoef(x[k : k + t.size], t)[0, 1]) for k in range(x.size - t.size + 1))
    assert match_score(heard, template) == pytest.approx(brute, abs=1e-9)
    assert match_score(np.zeros(3000, dtype=np.float32), template) == 0.0  # silence


async def test_wait_heard_while_audio_streams() -> None:
    played, other = SOUNDS / "welcome.wav", SOUNDS / "error-in-request.wav"
    packets = audio_packets(load_prompt(played))

    async def stream(port: int) -> None:
        for start in range(0, len(packets), 10):  # 200 ms of audio every 10 ms
            send(port, packets[start : start + 10])
            await asyncio.sleep(0.01)

    async with RtpSink() as sink:
        sender = asyncio.create_task(stream(sink.port))
        try:
            assert await wait_heard(sink, played, timeout=15) >= 0.8
        finally:
            await sender
        with pytest.raises(AssertionError, match=r"error-in-request\.wav.* not within"):
            await wait_heard(sink, other, timeout=0.3)


async def test_wait_dtmf_fails_with_the_keys_received() -> None:
    async with RtpSink() as sink:
        send(sink.port, key_packets("43", ts=0))
        await wait_dtmf(sink, "43", timeout=5)
        with pytest.raises(AssertionError, match=r"'9' received: not within .*'43'"):
            await wait_dtmf(sink, "9", timeout=0.2)
