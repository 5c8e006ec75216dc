"""The recorder on real H.264 packets: rotation at keyframes, pre-roll, discontinuities,
codec parameters that change mid-stream."""

from __future__ import annotations

import io
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nvr.protocol.worker import SegmentClosed, SegmentOpened, WriteFailed
from nvr.worker.params import START_CODE, ParamWatch, annex_b, parameter_sets
from nvr.worker.recorder import WRITE_RETRY_S, GopBuffer, Recorder
from nvr.worker.source import Discontinuity, TimedPacket, track_params
from tests.support.clock import ManualClock

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
            TimedPacket(packet, packet.pts, packet.dts, wall, packet.is_keyframe, packet.size)
        )
    return container, stream, packets


def run(
    tmp_path: Path,
    clip: Path,
    reasons_at,
    segment_s: float = 2.0,
    pre_roll_s: float = 2.0,
    discontinuity_at: int | None = None,
    lie=None,
) -> tuple[list[SegmentClosed], list[TimedPacket]]:
    """Record the clip; ``lie(packets)`` may first rewrite its packets as a camera would."""
    reports: list[SegmentOpened | SegmentClosed] = []
    container, stream, packets = timed_packets(clip)
    packets = lie(packets) if lie else packets
    recorder = Recorder("cam", tmp_path, pre_roll_s, segment_s, reports.append)
    recorder.set_input(stream)
    for i, tp in enumerate(packets):
        if i == discontinuity_at:
            tp = replace(tp, discontinuity=Discontinuity("timestamps jumped", tp.wall_ns))
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
    assert {s.video_codec for s in closed} == {"h264"}  # the format, never the encoder's name
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


def samples(path: Path) -> list[tuple[Fraction, Fraction]]:
    """(dts, duration) of every sample of a segment, in seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        return [(p.dts * tb, p.duration * tb) for p in container.demux(stream) if p.size]


def test_sample_durations_follow_the_dts_across_fragments_and_segments(tmp_path, clip):
    """A camera whose frames come at uneven steps and whose packet durations lie (3 frames
    each): every sample lasts until the next one's dts, in each fragment and at its end, and a
    segment lasts its cataloged duration, so played in sequence the dts only ever increase."""

    def jitter(packets: list[TimedPacket]) -> list[TimedPacket]:
        step = packets[1].dts - packets[0].dts
        for i, tp in enumerate(packets):
            if not tp.keyframe:
                tp.dts = tp.pts = tp.dts + (step // 3 if i % 2 else -step // 3)
                tp.packet.dts = tp.packet.pts = tp.dts
            tp.packet.duration = 3 * step
        return packets

    closed, _ = run(tmp_path, clip, lambda _t: ["continuous"], segment_s=2, lie=jitter)
    assert len(closed) == 4
    for seg in closed:
        found = samples(tmp_path / seg.file_path)
        for (dts, duration), (next_dts, _) in zip(found, found[1:], strict=False):
            assert dts + duration == next_dts, seg.file_path
        last_dts, last_duration = found[-1]
        end_s = last_dts + last_duration - found[0][0]
        assert abs(end_s - Fraction(seg.duration_90k, 90000)) < Fraction(1, 90000)


@pytest.mark.parametrize("rate", [2.0, 0.5])
def test_rows_of_a_camera_clock_running_fast_or_slow_tile_wall_time(tmp_path, clip, rate):
    """Media time running at ``rate`` x real time (the capture clock re-anchoring each second):
    rows are dated in wall time and tile it from the first packet on, never overlapping, while
    ``duration_90k`` keeps the media time the file holds."""

    def clock(packets: list[TimedPacket]) -> list[TimedPacket]:
        for i, tp in enumerate(packets):
            tp.wall_ns = BASE_NS + int((tp.wall_ns - BASE_NS) / rate)
            tp.era = 1 + i // FPS
        return packets

    closed, packets = run(tmp_path, clip, lambda _t: ["continuous"], segment_s=2, lie=clock)
    assert len(closed) >= 2
    assert closed[0].start_ns == packets[0].wall_ns
    for a, b in zip(closed, closed[1:], strict=False):
        assert a.end_ns == b.start_ns
    for seg in closed:
        wall_s = (seg.end_ns - seg.start_ns) / 1e9
        assert abs(seg.duration_90k / 90000 - wall_s * rate) < 0.2, (seg, rate)


def test_gop_buffer_keeps_just_enough_whole_gops():
    buffer = GopBuffer(pre_roll_s=2.0)
    for i in range(100):
        buffer.add(TimedPacket(None, i, i, int(i * 1e9 / FPS), i % GOP == 0, 1))
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


# -- codec parameters changing mid-stream (Annex B, as RTSP delivers it) ---------------------


def annex_b_clip(codec: str, size: tuple[int, int], frames: int) -> bytes:
    """Raw H.264/H.265 (Annex B, as a camera sends it) starting with its parameter sets."""
    out = io.BytesIO()
    with av.open(out, "w", format=codec) as container:
        stream = container.add_stream(ENCODERS[codec], rate=FPS)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(GOP), "keyint_min": str(GOP), "bf": "0"}
        if codec == "hevc":
            stream.options |= {"x265-params": "log-level=error:repeat-headers=1"}
        for i in range(frames):
            img = np.full((size[1], size[0], 3), (i * 7) % 250, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


ENCODERS = {"h264": "libx264", "hevc": "libx265"}


@pytest.fixture(scope="module", params=["h264", "hevc"])
def switching_clip(request, tmp_path_factory) -> tuple[str, Path]:
    """3 s at 640x360, then 3 s at 320x180 from the next IDR on (a resolution switch)."""
    codec = request.param
    path = tmp_path_factory.mktemp("annexb") / f"switch.{codec}"
    path.write_bytes(
        annex_b_clip(codec, (640, 360), 3 * FPS) + annex_b_clip(codec, (320, 180), 3 * FPS)
    )
    return codec, path


def test_parameter_sets_are_read_up_to_the_first_slice():
    sps, pps, sei, idr = b"\x67\x42\x00\x1f", b"\x68\xce\x3c\x80", b"\x06\x05\x01", b"\x65\x88"
    late_sps = b"\x67\xff"  # after the slice: picture data, never read
    data = b"".join(START_CODE + u for u in (b"\x09\x10", sps, pps, sps, sei, idr, late_sps))
    assert parameter_sets("h264", data) == {7: (sps,), 8: (pps,)}  # duplicates once
    assert annex_b(parameter_sets("h264", data)) == START_CODE + sps + START_CODE + pps
    assert parameter_sets("h264", START_CODE + b"\x41\x9a") == {}  # a P frame


def test_param_watch_reports_only_real_changes(switching_clip):
    codec, path = switching_clip
    with av.open(str(path), format=codec) as container:
        stream = container.streams.video[0]
        watch = ParamWatch.for_stream(stream)
        assert watch is not None and watch.current.describe() == f"{codec} 640x360"
        keyframes = [bytes(p) for p in container.demux(stream) if p.size and p.is_keyframe]
    assert len(keyframes) == 6
    changes = [watch.check(k) for k in keyframes]
    assert [c.describe() if c else None for c in changes] == [None] * 3 + [f"{codec} 320x180"] + [
        None
    ] * 2


def test_sets_that_do_not_decode_are_not_taken(switching_clip):
    """A keyframe whose new SPS is damaged: the current parameters stay, no segment break."""
    codec, path = switching_clip
    with av.open(str(path), format=codec) as container:
        stream = container.streams.video[0]
        watch = ParamWatch.for_stream(stream)
        assert watch is not None
        keyframes = [bytes(p) for p in container.demux(stream) if p.size and p.is_keyframe]
    switch = keyframes[3]
    sps_type = 33 if codec == "hevc" else 7
    sps = parameter_sets(codec, switch)[sps_type][0]
    damaged = switch.replace(sps, sps[:3])  # cut short: no picture size in it
    assert watch.check(damaged) is None and watch.current.describe() == f"{codec} 640x360"
    assert watch.check(switch) is not None  # the intact switch is still taken


def test_mp4_input_is_not_watched(clip):
    with av.open(str(clip)) as container:  # avcC extradata: sets out of band, cannot change
        assert ParamWatch.for_stream(container.streams.video[0]) is None


def test_resolution_switch_starts_a_segment_written_with_the_new_parameters(
    tmp_path, switching_clip
):
    codec, path = switching_clip
    reports: list[object] = []
    with av.open(str(path), format=codec) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        step = int(1 / (FPS * stream.time_base))  # the raw demuxer stamps nothing: we do
        timed = []
        for i, packet in enumerate(p for p in container.demux(stream) if p.size):
            wall = BASE_NS + i * 1_000_000_000 // FPS
            timed.append(TimedPacket(packet, i * step, i * step, wall, packet.is_keyframe, 1))
        watch = ParamWatch.for_stream(stream)
        assert watch is not None
        recorder = Recorder("cam", tmp_path, 2.0, 60.0, reports.append)
        recorder.set_input(stream)
        marked = list(track_params(timed, watch, "cam/main"))
        for tp in marked:
            recorder.on_packet(tp, ["continuous"], False, 0)
        recorder.close("end of test")
    breaks = [(i, tp.discontinuity) for i, tp in enumerate(marked) if tp.discontinuity]
    assert len(breaks) == 1 and breaks[0][0] == 3 * FPS
    broke = breaks[0][1]
    assert broke.cause == f"stream parameters changed: {codec} 640x360 -> {codec} 320x180"
    assert broke.same_clock and broke.since_ns == marked[3 * FPS].wall_ns
    closed = [r for r in reports if isinstance(r, SegmentClosed)]
    assert [(c.width, c.height) for c in closed] == [(640, 360), (320, 180)]
    assert closed[0].end_ns == closed[1].start_ns, "a parameter change loses no time"
    assert [c.duration_90k for c in closed] == [3 * 90000, 3 * 90000]
    for seg in closed:
        with av.open(str(tmp_path / seg.file_path)) as container:
            ctx = container.streams.video[0].codec_context
            assert (ctx.width, ctx.height) == (seg.width, seg.height)  # the init matches
            sizes = [(f.width, f.height) for f in container.decode(video=0)]
        assert sizes == [(seg.width, seg.height)] * (3 * FPS)


def test_after_a_failed_write_the_next_segment_waits_for_the_retry_delay(tmp_path, clip):
    """On the recorder's clock, not the wall's: no new segment before ``WRITE_RETRY_S``."""
    clock = ManualClock()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the recordings folder should be")
    reports: list = []
    container, stream, packets = timed_packets(clip)
    recorder = Recorder("cam", blocked, 2.0, 2.0, reports.append, clock=clock)
    recorder.set_input(stream)
    keyframes = [tp for tp in packets if tp.keyframe]
    recorder.on_packet(keyframes[0], ["continuous"], False, 0)
    (failed,) = reports
    assert isinstance(failed, WriteFailed) and failed.file_path is None
    recorder.root = tmp_path / "recordings"  # the disk is writable again
    clock.advance(WRITE_RETRY_S - 0.1)
    recorder.on_packet(keyframes[1], ["continuous"], False, 0)
    assert not recorder.recording and len(reports) == 1
    clock.advance(0.2)
    recorder.on_packet(keyframes[2], ["continuous"], False, 0)
    assert recorder.recording and isinstance(reports[-1], SegmentOpened)
    recorder.close("end of test")
    container.close()


def test_the_recordings_running_time_spans_its_segments_and_restarts_with_it(tmp_path, clip):
    container, stream, packets = timed_packets(clip)
    recorder = Recorder("cam", tmp_path, 2.0, 2.0, lambda _report: None)
    recorder.set_input(stream)
    seen = []
    for tp in packets:
        t_s = (tp.wall_ns - BASE_NS) / 1e9
        recorder.on_packet(tp, ["manual"] if t_s < 5 or t_s >= 6 else [], False, 0)
        seen.append((t_s, recorder.since_ns))
    recorder.close("end of test")
    container.close()
    first_run = {since for t_s, since in seen if 0.5 < t_s < 5 and since is not None}
    assert len(first_run) == 1  # three segments, one recording: one start
    assert all(since is None for t_s, since in seen if 5.2 < t_s < 5.9)
    second_run = {since for t_s, since in seen if t_s > 6.5 and since is not None}
    assert len(second_run) == 1 and second_run != first_run  # a new recording, a new start
