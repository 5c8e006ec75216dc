"""The fake RTSP camera (tests/support/rtsp_camera.py) behaves like the camera tests assume."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import pairwise

import av
import numpy as np
import pytest

from tests.support.cameras import RtspCamera, gst_rtsp_available

pytestmark = pytest.mark.skipif(
    not gst_rtsp_available(),
    reason="/usr/bin/python3 lacks gi + GstRtspServer/x264enc (python3-gi, gstreamer1.0-rtsp)",
)

FPS = 15
GOP = 15


@pytest.fixture(scope="module")
def camera() -> Iterator[RtspCamera]:
    with RtspCamera(fps=FPS, gop=GOP) as cam:
        yield cam


def _open(url: str) -> av.container.InputContainer:
    return av.open(url, options={"rtsp_transport": "tcp"}, timeout=(10.0, 5.0))


def _frames(url: str, count: int) -> list[tuple[float, np.ndarray]]:
    """Decode ``count`` frames: (presentation time in seconds, luma plane)."""
    out: list[tuple[float, np.ndarray]] = []
    with _open(url) as container:
        for frame in container.decode(container.streams.video[0]):
            if frame.time is None:
                continue
            out.append((frame.time, frame.to_ndarray(format="gray")))
            if len(out) == count:
                return out
    raise AssertionError(f"{url} ended after {len(out)} frames")


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two luma planes."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.mark.parametrize(("stream", "size"), [("main", (1920, 1080)), ("sub", (640, 360))])
def test_stream_format_rate_and_gop(camera: RtspCamera, stream: str, size: tuple[int, int]) -> None:
    with _open(camera.url(f"moving/{stream}")) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert (video.codec_context.width, video.codec_context.height) == size
        keyframes: list[int] = []
        pts: list[int] = []
        for packet in container.demux(video):
            if packet.pts is None:
                continue
            if packet.is_keyframe:
                keyframes.append(len(pts))
            pts.append(packet.pts)
            if len(pts) == 3 * GOP + 1:
                break
    assert len(pts) == 3 * GOP + 1, "stream ended early"
    assert video.time_base is not None
    fps = (len(pts) - 1) / float((pts[-1] - pts[0]) * video.time_base)
    assert fps == pytest.approx(FPS, rel=0.05)
    assert len(keyframes) >= 3
    assert max(np.diff(keyframes)) <= GOP


def test_moving_changes_and_still_does_not(camera: RtspCamera) -> None:
    moving = _frames(camera.url("moving/sub"), 3 * FPS)
    still = _frames(camera.url("still/sub"), 3 * FPS)
    assert moving[-1][0] - moving[0][0] >= 2.5

    moving_diffs = [_mad(moving[i][1], moving[i + FPS][1]) for i in range(0, 2 * FPS, 5)]
    assert min(moving_diffs) > 2.0, moving_diffs
    still_diffs = [_mad(a[1], b[1]) for a, b in pairwise(still)]
    assert max(still_diffs) < 0.5, still_diffs
    assert _mad(still[0][1], still[-1][1]) < 0.5
    assert still[0][1].std() > 20, "the still picture should not be uniform"


def _seconds_until_silent(packets: Iterator[av.Packet], limit_s: float) -> float:
    """Keep reading until the demuxer raises or ends; how long that took."""
    start = time.monotonic()
    try:
        while time.monotonic() - start < limit_s:
            next(packets)
    except (av.error.FFmpegError, StopIteration):
        return time.monotonic() - start
    raise AssertionError(f"packets kept coming for {limit_s} s")


def test_pause_silences_and_resume_recovers(camera: RtspCamera) -> None:
    with _open(camera.url("moving/sub")) as container:
        packets = container.demux(container.streams.video[0])
        for _ in range(FPS):
            next(packets)
        camera.pause()
        try:
            silent_after = _seconds_until_silent(packets, limit_s=20)
        finally:
            camera.resume()
    # FFmpeg's RTSP demuxer gives up after about twice PyAV's read timeout (5 s here).
    assert silent_after < 12
    assert len(_frames(camera.url("moving/sub"), FPS)) == FPS


def test_restart_same_port(camera: RtspCamera) -> None:
    port = camera.port
    camera.restart()
    assert camera.port == port
    assert len(_frames(camera.url("still/sub"), 5)) == 5
