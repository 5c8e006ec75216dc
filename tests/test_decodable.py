"""Judging whether a stream's video decodes: real H.264 (Annex B as RTSP delivers it, and
length-prefixed as MP4 holds it) against random payload."""

from __future__ import annotations

import io
import os
import random

import av
import pytest

from nvr.worker.decodable import (
    MIN_PACKETS,
    WINDOW_S,
    DecodeCheck,
    decode,
    impossible_nal_header,
)
from tests.test_recorder import FPS, annex_b_clip


@pytest.fixture(scope="module")
def annex_b() -> list[av.Packet]:
    """6 s of 320x180 H.264 packets in Annex B form, parameter sets in-band."""
    raw = annex_b_clip("h264", (320, 180), 6 * FPS)
    with av.open(io.BytesIO(raw), format="h264") as container:
        return [av.Packet(bytes(p)) for p in container.demux(video=0) if p.size]


def judge(packets: list[av.Packet], keyframes: list[bool]) -> tuple[DecodeCheck, list]:
    """Feed packets at 15 per second of (simulated) time; the check and each judgement."""
    ctx = av.CodecContext.create("h264", "r")
    check = DecodeCheck("cam/main")
    verdicts = []
    for i, (packet, key) in enumerate(zip(packets, keyframes, strict=True)):
        _, error = decode(ctx, packet)
        verdicts.append(check.add(key, error, i / FPS))
    return check, verdicts


def garbage(count: int, seed: int = 7) -> list[av.Packet]:
    """Random payload behind start codes, as a depacketizer hands it on."""
    rng = random.Random(seed)
    return [
        av.Packet(b"\x00\x00\x00\x01" + rng.randbytes(rng.randint(200, 3000))) for _ in range(count)
    ]


def test_a_real_stream_decodes_once_a_window_from_its_first_keyframe_has_passed(annex_b):
    keys = [i % 15 == 0 for i in range(len(annex_b))]
    check, verdicts = judge(annex_b, keys)
    judged_at = verdicts.index(True)
    assert None not in verdicts[judged_at:] and False not in verdicts
    assert judged_at == round(WINDOW_S * FPS) and judged_at >= MIN_PACKETS
    assert not any(impossible_nal_header(bytes(p)) for p in annex_b)
    assert check.failing() == 0 and not check.judging


def test_random_payload_does_not_decode_and_says_why():
    packets = garbage(90)
    check, verdicts = judge(packets, [i % 3 == 0 for i in range(90)])
    assert verdicts[-1] is False and True not in verdicts
    assert check.failing() > 0.8
    assert "cam/main: the video does not decode" in check.reason()
    assert "really a camera" in check.reason()
    assert check.judging  # decoding goes on, to see it recover


def test_packets_before_the_first_keyframe_are_not_held_against_a_stream(annex_b):
    """A stream joined mid-GOP: the P frames before its first keyframe cannot decode."""
    tail = annex_b[5:]  # starts 5 frames into the first GOP
    keys = [(i + 5) % 15 == 0 for i in range(len(tail))]
    _, verdicts = judge(tail, keys)
    assert verdicts[-1] is True and False not in verdicts


def test_a_stream_that_turns_to_garbage_and_back_is_judged_each_time(annex_b):
    keys = [i % 15 == 0 for i in range(len(annex_b))]
    ctx = av.CodecContext.create("h264", "r")
    check = DecodeCheck("cam/main")
    t = 0.0

    def feed(packets, keyframes) -> bool | None:
        nonlocal t
        for packet, key in zip(packets, keyframes, strict=True):
            _, error = decode(ctx, packet)
            check.add(key, error, t)
            t += 1 / FPS
        return check.decodes

    assert feed(annex_b, keys) is True
    check.restart()  # a doubt: the stream broke
    assert feed(garbage(60), [True] * 60) is False
    assert feed(annex_b, keys) is True


def test_length_prefixed_packets_are_never_taken_for_malformed_units(tmp_path):
    """MP4 packets start with 4-byte NAL lengths: a length of 256-511 bytes reads 00 00 01 xx,
    which is no start code. Only Annex B streams are scanned for impossible NAL headers."""
    path = tmp_path / "clip.mp4"
    raw = annex_b_clip("h264", (320, 180), 2 * FPS)
    with av.open(io.BytesIO(raw), format="h264") as src, av.open(str(path), "w") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(video=0):
            if packet.size:
                packet.stream = stream
                out.mux(packet)
    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        assert (ctx.extradata or b"")[:1] == b"\x01"  # avcC: length-prefixed
        fake = av.Packet(b"\x00\x00\x01\xff" + os.urandom(0x1FF))  # a 511-byte unit
        assert impossible_nal_header(bytes(fake))
        _, error = decode(ctx, fake)
        assert error is None or "impossible header" not in error


def test_random_nal_headers_are_mostly_impossible_and_real_ones_never_are():
    rng = random.Random(3)
    headers = [bytes([rng.randrange(256), rng.randrange(256)]) for _ in range(4000)]
    for codec in ("h264", "hevc"):
        real = annex_b_clip(codec, (320, 180), 30)
        caught = sum(impossible_nal_header(b"\x00\x00\x01" + h + b"xx", codec) for h in headers)
        assert caught / len(headers) > 0.65, (codec, caught)
        units = real.split(b"\x00\x00\x01")[1:]
        assert units and not any(impossible_nal_header(b"\x00\x00\x01" + u, codec) for u in units)
