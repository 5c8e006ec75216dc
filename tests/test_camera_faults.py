"""Camera faults inflicted through the real RTSP camera: a resolution switch, timestamps that
jump or go back, a clock running fast or slow, random payload. Recording continues where there
is video to record, and each break is a gap row with its cause."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import av
import pytest

from nvr.frames.ring import FrameRing
from nvr.storage.catalog import Catalog, Gap, Recording
from tests.conftest import requires_rtsp, wait_for
from tests.support.cameras import RtspCamera
from tests.test_engine import (
    camera_yaml,
    check_playable,
    config_yaml,
    decoded_frames,
    live,
    recordings,
)
from tests.test_faults import uncovered_s

pytestmark = [requires_rtsp, pytest.mark.slow]

MAIN_BEFORE, MAIN_AFTER = (1280, 720), (640, 360)
SUB_BEFORE, SUB_AFTER = (320, 180), (480, 270)  # a larger sub frame: the ring is replaced


@pytest.fixture
def camera():
    with RtspCamera(main_size=MAIN_BEFORE, sub_size=SUB_BEFORE) as cam:
        yield cam


def catalog_rows(storage: Path) -> tuple[list[Recording], list[Gap]]:
    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        assert catalog.integrity_check() == ["ok"]
        return catalog.recordings("cam"), catalog.gaps("cam")


def frame_sizes(path: Path) -> set[tuple[int, int]]:
    """Decode every frame of a segment; the sizes seen (raises on a broken file)."""
    with av.open(str(path)) as container:
        return {(f.width, f.height) for f in container.decode(video=0)}


def stream_size(engine, stream: str) -> tuple[int, int]:
    info = engine.health()["cameras"]["cam"][stream]
    return info["width"], info["height"]


def live_engine(engine_factory, camera: RtspCamera, storage: Path, segment_s: int = 60):
    """The engine recording the still scene of ``camera`` continuously, once it is live."""
    engine = engine_factory(
        config_yaml(storage, camera_yaml("cam", camera, "still", segment_s=segment_s))
    )
    engine.start()
    wait_for(live(engine, "cam"), 30, what="camera live")
    return engine


def test_resolution_switch_mid_session_starts_a_segment_at_the_new_size(
    camera, engine_factory, tmp_path
):
    storage = tmp_path / "storage"
    engine = live_engine(engine_factory, camera, storage)
    assert stream_size(engine, "main") == MAIN_BEFORE
    time.sleep(3)
    switched_ns = time.time_ns()
    camera.set_size("still/main", MAIN_AFTER)
    camera.set_size("still/sub", SUB_AFTER)
    wait_for(
        lambda: (
            stream_size(engine, "main") == MAIN_AFTER and stream_size(engine, "sub") == SUB_AFTER
        ),
        15,
        what="the new size reported in /health",
    )
    ring = FrameRing.attach(engine.health()["cameras"]["cam"]["ring"])
    try:
        frame = wait_for(
            lambda: (f := ring.latest()) is not None and f.width == SUB_AFTER[0] and f,
            10,
            what="sub frames at the new size in the ring",
        )
        assert (frame.width, frame.height) == SUB_AFTER
    finally:
        ring.close()
    time.sleep(3)
    assert engine.health()["cameras"]["cam"]["restarts"] == 0
    assert engine.stop() == 0

    rows, gaps = catalog_rows(storage)
    assert [(r.width, r.height) for r in rows] == [MAIN_BEFORE, MAIN_AFTER], rows
    before, after = rows
    assert abs(after.start_ns - before.end_ns) < 0.2e9, "the switch lost time"
    assert before.end_ns > switched_ns - 1e9 and after.end_ns > after.start_ns + 2e9
    for row in rows:  # each file decodes fully at its own size, and its header says so
        path = storage / "recordings" / row.file_path
        assert frame_sizes(path) == {(row.width, row.height)}, row.file_path
        with av.open(str(path)) as container:
            ctx = container.streams.video[0].codec_context
            assert (ctx.width, ctx.height) == (row.width, row.height)
    check_playable(storage, rows)
    assert [g.cause for g in gaps] == ["stream parameters changed: h264 1280x720 -> h264 640x360"]
    gap = gaps[0]
    assert gap.end_ns is not None and gap.end_ns - gap.start_ns < 0.2e9
    assert abs(gap.start_ns - after.start_ns) < 0.2e9


def test_timestamps_that_jump_or_go_back_are_survived_and_cataloged(
    camera, engine_factory, tmp_path
):
    storage = tmp_path / "storage"
    engine = live_engine(engine_factory, camera, storage)
    for seconds in (25, -60):  # the camera's clock jumps forward, then resets
        time.sleep(3)
        camera.shift_timestamps("still/main", seconds)
    time.sleep(3)
    health = engine.health()["cameras"]["cam"]
    assert health["state"] == "live" and health["restarts"] == 0
    assert engine.stop() == 0

    rows, gaps = catalog_rows(storage)
    assert len(rows) == 3, rows  # one segment per media clock
    assert [g.cause for g in gaps] == [
        "timestamps jumped 25.1 s forward",
        "timestamps went back 59.9 s (clock reset)",
    ]
    # Each gap runs from the last frame before the break to the keyframe the next segment
    # starts with (at most a GOP: no packet before it can start a segment).
    for gap, (a, b) in zip(gaps, zip(rows, rows[1:], strict=False), strict=True):
        assert gap.end_ns is not None and gap.end_ns - gap.start_ns < 1.2e9
        assert abs(gap.start_ns - a.end_ns) < 0.2e9 and abs(gap.end_ns - b.start_ns) < 0.2e9
    durations_s = [r.duration_90k / 90000 for r in rows]
    assert max(durations_s) < 20 and 1.5 < durations_s[1] < 4, durations_s  # none spans a jump
    check_playable(storage, rows)


@pytest.mark.parametrize("rate", [2.0, 0.5])
def test_a_camera_clock_running_fast_or_slow_is_drift_not_overlap_or_stalls(
    camera, engine_factory, tmp_path, rate
):
    """The camera's clock runs at ``rate`` x real time from its first packet. Rows are dated in
    wall time: none before the engine started, none overlapping, together no longer than the
    wall time; ``duration_90k`` keeps the media time the file holds. The drift is cataloged
    once, with its rate, and shown in /health; a slow clock is never taken for stalls."""
    camera.set_clock_rate("still/main", rate)
    storage = tmp_path / "storage"
    started_ns = time.time_ns()
    engine = live_engine(engine_factory, camera, storage, segment_s=5)
    wait_for(
        lambda: engine.health()["cameras"]["cam"]["main"]["clock_rate"] is not None,
        30,
        what="the clock drift in /health",
    )
    health = engine.health()
    assert abs(health["cameras"]["cam"]["main"]["clock_rate"] - rate) < 0.1 * rate
    assert any("clock runs" in p for p in health["problems"]), health["problems"]
    time.sleep(12)
    assert engine.stop() == 0
    stopped_ns = time.time_ns()

    rows, gaps = catalog_rows(storage)
    assert len(rows) >= 3, rows
    assert rows[0].start_ns >= started_ns
    assert rows[-1].end_ns <= stopped_ns
    for a, b in zip(rows, rows[1:], strict=False):
        assert a.end_ns <= b.start_ns, (a, b)
    for row in rows[1:]:  # the first one holds the start-up's settling
        wall_s = (row.end_ns - row.start_ns) / 1e9
        assert abs(row.duration_90k / 90000 - wall_s * rate) < 0.5 + 0.1 * wall_s, row
    assert [g.kind for g in gaps] == ["discontinuity"], gaps
    assert f"{rate:.2f}x real time" in gaps[0].cause and gaps[0].end_ns == gaps[0].start_ns
    for row in rows:
        assert decoded_frames(storage / "recordings" / row.file_path) > 0


def test_a_fake_camera_sending_random_payload_is_an_error_and_records_nothing(
    engine_factory, tmp_path
):
    """Random RTP payload behind a valid SDP: the camera is in error with the reason, not live;
    nothing is cataloged as a recording, the time is a gap; once real video flows, it is live
    and records."""
    storage = tmp_path / "storage"
    with RtspCamera(main_size=(640, 360), sub_size=(320, 180)) as camera:
        engine = engine_factory(
            config_yaml(storage, camera_yaml("cam", camera, "noise", segment_s=5))
        )
        engine.start()
        cam = wait_for(
            lambda: (
                (c := engine.health()["cameras"]["cam"])["state"] == "error"
                and c["sub"]["error"]
                and c
            ),
            40,
            what="the camera in error, its sub stream too",
        )
        assert "the video does not decode" in cam["error"], cam
        assert "does not decode" in (cam["sub"]["error"] or ""), cam["sub"]
        assert not cam["recording"]["active"]
        health = engine.health()
        assert health["status"] == "degraded"
        time.sleep(4)
        assert recordings(storage) == []
        # Packets still come in; no picture reaches the ring, and the figures say so.
        cam = engine.health()["cameras"]["cam"]
        assert cam["sub"]["fps"] > 0 and cam["fps_out"] == 0 == cam["sub"]["decoded_fps"], cam
        camera.set_noise("noise/main", False)
        camera.set_noise("noise/sub", False)
        wait_for(
            lambda: (
                live(engine, "cam")() and engine.health()["cameras"]["cam"]["sub"]["error"] is None
            ),
            30,
            what="the camera live, its sub stream too, once their video decodes",
        )
        assert engine.health()["cameras"]["cam"]["error"] is None
        time.sleep(6)
        cam = engine.health()["cameras"]["cam"]
        assert cam["fps_out"] == cam["sub"]["decoded_fps"] > 0.8 * cam["sub"]["fps"], cam
        assert engine.stop() == 0
    rows, gaps = catalog_rows(storage)
    assert rows, "nothing recorded once the video decoded"
    check_playable(storage, rows)
    assert [g.kind for g in gaps] == ["stream_lost"], gaps
    assert "does not decode" in gaps[0].cause
    assert gaps[0].end_ns is not None and abs(gaps[0].end_ns - rows[0].start_ns) < 0.5e9


def ffmpeg_errors(path: Path) -> str:
    """What ``ffmpeg -v error`` says decoding a file (empty: it decodes cleanly)."""
    run = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return run.stderr.strip()


def test_a_main_stream_that_turns_to_garbage_mid_session_is_not_recorded(
    camera, engine_factory, tmp_path
):
    """Random payload on the main stream mid-session, its timestamps intact: recording stops at
    the first packet found malformed (a NAL header no encoder writes: random data shows one in
    about two packets of three, so the few before it may be in the segment it ends, no more
    than a second's worth), the camera is in error with the reason, every other cataloged segment
    decodes cleanly, and the time is a gap; once the video is back, so is the recording."""
    storage = tmp_path / "storage"
    engine = live_engine(engine_factory, camera, storage, segment_s=5)
    time.sleep(4)
    noise_ns = time.time_ns()
    camera.set_noise("still/main", True)
    cam = wait_for(
        lambda: (c := engine.health()["cameras"]["cam"])["state"] == "error" and c,
        20,
        what="the camera in error",
    )
    assert "the video does not decode" in cam["error"] and not cam["recording"]["active"]
    time.sleep(3)
    camera.set_noise("still/main", False)
    wait_for(live(engine, "cam"), 30, what="the camera live again")
    time.sleep(6)
    assert engine.stop() == 0

    rows, gaps = catalog_rows(storage)
    assert len(rows) >= 2, rows
    noisy = [r for r in rows if r.start_ns < noise_ns < r.end_ns + 1_000_000_000]
    for row in noisy:  # the segment the noise began in: cut where it was seen
        assert row.end_ns - noise_ns < 1_500_000_000, row
        assert (storage / "recordings" / row.file_path).stat().st_size == row.size_bytes
    clean = [r for r in rows if r not in noisy]
    for row in clean:
        assert ffmpeg_errors(storage / "recordings" / row.file_path) == "", row.file_path
    check_playable(storage, clean)
    assert [g.kind for g in gaps] == ["stream_lost"], gaps
    assert "does not decode" in gaps[0].cause
    spans = [(r.start_ns, r.end_ns) for r in rows] + [(g.start_ns, g.end_ns) for g in gaps]
    assert uncovered_s(spans, rows[0].start_ns, rows[-1].end_ns) < 1.5
