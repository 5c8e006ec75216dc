"""The live muxer's fMP4 (``web/fmp4.py``), byte level: real H.264 made with PyAV's libx264, in
Annex B form (as RTSP delivers it) and length-prefixed (as MP4 files hold it), muxed into an
init segment and one fragment per frame, must decode whole with FFmpeg and ffprobe."""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from web import fmp4

FRAMES = 45


def encoded(length_prefixed: bool) -> tuple[bytes, list[tuple[bytes, bool]]]:
    """Extradata and packets of 45 frames of 320x240 H.264 (a GOP of 15)."""
    out = io.BytesIO()
    container = av.open(out, "w", format="mp4" if length_prefixed else "h264")
    stream = container.add_stream("libx264", rate=15)
    stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
    stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "15"}
    packets: list[tuple[bytes, bool]] = []
    for i in range(FRAMES):
        picture = np.full((240, 320, 3), (i * 5) % 256, np.uint8)
        picture[:, : 10 + i] = 255
        for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
            packets.append((bytes(packet), packet.is_keyframe))
            container.mux(packet)
    for packet in stream.encode():
        packets.append((bytes(packet), packet.is_keyframe))
        container.mux(packet)
    extradata = stream.codec_context.extradata or b""
    container.close()
    if not length_prefixed:
        return extradata, packets
    # An MP4 file's packets and avcC, as the demux of a file camera gives them.
    with av.open(io.BytesIO(out.getvalue()), "r") as mp4:
        video = mp4.streams.video[0]
        demuxed = [(bytes(p), p.is_keyframe) for p in mp4.demux(video) if p.size]
        return video.codec_context.extradata or b"", demuxed


@pytest.mark.parametrize("length_prefixed", [False, True], ids=["annex-b", "length-prefixed"])
def test_init_and_fragments_decode_whole(tmp_path: Path, length_prefixed: bool):
    extradata, packets = encoded(length_prefixed)
    if length_prefixed:
        assert fmp4.is_length_prefixed(extradata)
        config = extradata
    else:
        sps, pps = fmp4.parameter_sets(extradata + packets[0][0])
        config = fmp4.avcc(sps, pps)
    codecs = fmp4.codecs_string(config)
    assert codecs.startswith("avc1.") and len(codecs) == 11
    data = fmp4.init_segment(320, 240, config)
    for n, (packet, key) in enumerate(packets, 1):
        sample = fmp4.sample(packet, length_prefixed)
        data += fmp4.fragment(n, (n - 1) * 6000, 6000, 0, key, sample)
    path = tmp_path / "live.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == FRAMES
    assert [f.pts for f in frames] == [i * 6000 for i in range(FRAMES)]
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert probe.stdout.strip() == f"h264,320,240,{FRAMES}" and not probe.stderr


def test_a_fragment_points_at_its_sample():
    body = b"\x00\x00\x00\x05\x65abcd"
    frag = fmp4.fragment(7, 123_456_789_000, 3000, 1500, True, body)
    moof_size = struct.unpack(">I", frag[:4])[0]
    assert frag[4:8] == b"moof" and frag[moof_size + 4 : moof_size + 8] == b"mdat"
    trun = frag.index(b"trun")
    count, offset, duration, size, flags, cto = struct.unpack(">IiIIIi", frag[trun + 8 : trun + 32])
    assert (count, duration, size, flags, cto) == (1, 3000, len(body), 0x02000000, 1500)
    assert frag[offset:] == body  # the data offset is from the start of the moof
    tfdt = frag.index(b"tfdt")
    assert struct.unpack(">Q", frag[tfdt + 8 : tfdt + 16])[0] == 123_456_789_000
    assert struct.unpack(">I", frag[frag.index(b"mfhd") + 8 :][:4])[0] == 7


def test_annex_b_units_are_split_and_parameter_sets_left_to_the_init():
    stream = b"\x00\x00\x00\x01\x09\xf0" + b"\x00\x00\x01\x67SPS\x00" + b"\x00\x00\x00\x01\x68PP"
    stream += b"\x00\x00\x01\x65IDR\x00\x00"
    assert list(fmp4.nal_units(stream)) == [b"\x09\xf0", b"\x67SPS", b"\x68PP", b"\x65IDR"]
    assert fmp4.parameter_sets(stream) == ([b"\x67SPS"], [b"\x68PP"])
    assert fmp4.sample(stream, False) == b"\x00\x00\x00\x04\x65IDR"
    with pytest.raises(fmp4.Unplayable, match="no SPS"):
        fmp4.avcc([], [b"\x68PP"])


def test_the_codecs_string_names_profile_and_level():
    config = fmp4.avcc([b"\x67\x64\x00\x1f" + b"rest"], [b"\x68\xee"])
    assert fmp4.codecs_string(config) == "avc1.64001F"
    assert config[:6] == b"\x01\x64\x00\x1f\xff\xe1"
