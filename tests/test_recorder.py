"""The recorder on real H.264 packets: rotation at keyframes, pre-roll, discontinuities."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nvr.messages import SegmentClosed, SegmentOpened
from nvr.worker.recorder import GopBuffer, Recorder
from nvr.worker.source import TimedPacket

FPS, GOP, SECONDS = 15, 15, 8
BASE_NS = 1_790_000_000_000_000_000


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(GOP), "keyint_min": str(GOP), "bf": "0"}
        for i in range(FPS * SECONDS):
            img = np.full((180, 320, 3), 60, np.uint8)
            img[60:120, (i * 4) % 280 : (i * 4) % 280 + 40] = 250
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def timed_packets(path: Path):
    """The clip's packets stamped as if captured live from BASE_NS on; keeps the input open."""
    container = av.open(str(path))
    stream = container.streams.video[0]
    tb = stream.time_base or Fraction(1, 90000)
    packets = []
    for packet in container.demux(stream):
        if packet.dts is None:
            continue
        wall = BASE_NS + int(packet.pts * tb * 1_000_000_000)
        packets.append(
            TimedPacket(
                packet, packet.pts, packet.dts, wall, packet.is_keyframe, packet.size, False
            )
        )
    return container, stream, packets


def run(
    tmp_path: Path,
    clip: Path,
    reasons_at,
    segment_s: float = 2.0,
    pre_roll_s: float = 2.0,
    discontinuity_at: int | None = None,
) -> tuple[list[SegmentClosed], list[TimedPacket]]:
    reports: list[SegmentOpened | SegmentClosed] = []
    container, stream, packets = timed_packets(clip)
    recorder = Recorder("cam", tmp_path, pre_roll_s, segment_s, reports.append)
    recorder.set_input(stream)
    for i, tp in enumerate(packets):
        if i == discontinuity_at:
            tp = replace(tp, discontinuity=True)
        recorder.on_packet(tp, reasons_at(tp.wall_ns - BASE_NS), False, 0)
    recorder.close("end of test")
    container.close()
    opened = [r.file_path for r in reports if isinstance(r, SegmentOpened)]
    closed = [r for r in reports if isinstance(r, SegmentClosed)]
    assert opened == [c.file_path for c in closed]  # every file announced before it is written
    return closed, packets


def frames_in(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_continuous_rotates_at_keyframes_and_tiles_time(tmp_path, clip):
    closed, packets = run(tmp_path, clip, lambda _t: ["continuous"])
    assert [round(s.duration_90k / 90000, 2) for s in closed] == [2.0, 2.0, 2.0, 2.0]
    for a, b in zip(closed, closed[1:], strict=False):
        assert abs(a.end_ns - b.start_ns) < 1_000_000
    assert sum(frames_in(tmp_path / s.file_path) for s in closed) == len(packets)
    assert all(s.recording_type == "continuous" and s.width == 320 for s in closed)
    assert all((tmp_path / s.file_path).stat().st_size == s.size_bytes for s in closed)


def test_trigger_includes_pre_roll_of_whole_gops(tmp_path, clip):
    trigger_ns = int(4.5e9)
    closed, _ = run(
        tmp_path,
        clip,
        lambda t: ["manual"] if trigger_ns <= t < int(6.2e9) else [],
        segment_s=60,
        pre_roll_s=2,
    )
    assert len(closed) == 1
    seg = closed[0]
    lead_s = (BASE_NS + trigger_ns - seg.start_ns) / 1e9
    assert 2.0 <= lead_s < 3.0, lead_s  # whole GOPs covering at least the 2 s pre-roll
    assert seg.recording_type == "manual"
    assert frames_in(tmp_path / seg.file_path) == round(seg.duration_90k / 90000 * FPS)


def test_strongest_reason_names_the_segment(tmp_path, clip):
    closed, _ = run(
        tmp_path,
        clip,
        lambda t: ["panic", "continuous"] if t > 1e9 else ["continuous"],
        segment_s=60,
    )
    assert [s.recording_type for s in closed] == ["panic"]


def test_discontinuity_starts_a_new_segment_at_the_next_keyframe(tmp_path, clip):
    closed, _ = run(tmp_path, clip, lambda _t: ["continuous"], segment_s=60, discontinuity_at=40)
    assert len(closed) == 2
    assert closed[0].duration_90k == 40 * 90000 // FPS
    next_keyframe_ns = BASE_NS + 45 * 1_000_000_000 // FPS  # 3 s
    assert abs(closed[1].start_ns - next_keyframe_ns) < 1_000_000


def test_gop_buffer_keeps_just_enough_whole_gops():
    buffer = GopBuffer(pre_roll_s=2.0)
    for i in range(100):
        buffer.add(TimedPacket(None, i, i, int(i * 1e9 / FPS), i % GOP == 0, 1, False))
    kept = buffer.packets_after(None)
    assert kept[0].keyframe
    newest = kept[-1].wall_ns
    assert 2e9 <= newest - kept[0].wall_ns < 3e9


def test_quick_retrigger_never_rewrites_or_overwrites_footage(tmp_path, clip):
    """Start/stop/start within one GOP: the second segment starts after the first one."""
    on = [(1.0e9, 2.2e9), (2.4e9, 4.0e9), (4.1e9, 5.0e9)]
    closed, _ = run(
        tmp_path,
        clip,
        lambda t: ["manual"] if any(a <= t < b for a, b in on) else [],
        segment_s=60,
        pre_roll_s=3,
    )
    assert len(closed) == 3 and len({c.file_path for c in closed}) == 3
    for a, b in zip(closed, closed[1:], strict=False):
        assert b.start_ns >= a.end_ns - 1_000_000, "segments overlap: footage written twice"
    for seg in closed:
        assert frames_in(tmp_path / seg.file_path) == round(seg.duration_90k / 90000 * FPS)


def test_durations_use_the_input_time_base(tmp_path):
    """A 1/1000 input (Matroska) muxed into MP4: durations stay in real seconds."""
    source = tmp_path / "clip.mkv"
    with av.open(str(source), "w", format="matroska") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(GOP), "bf": "0"}
        for i in range(FPS * 6):
            img = np.full((96, 160, 3), i % 250, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    closed, _ = run(tmp_path / "out", source, lambda _t: ["continuous"], segment_s=2)
    total_s = sum(c.duration_90k for c in closed) / 90000
    assert abs(total_s - 6.0) < 0.1, [c.duration_90k / 90000 for c in closed]
