"""Streamed clips on real fragmented MP4 written as the recorder writes it (with B-frames, so
decode and presentation order differ): the clip laid out over the segments plays from the frame
shown at its start to the last one before its end, holds the picture over a gap, reads the same
by any byte ranges, and refuses a change of picture size."""

from __future__ import annotations

import dataclasses
import io
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from nvr.storage.export import NothingRecordedError
from nvr.storage.streamed_clip import SplitClipError, StreamedClip, plan
from tests.test_fmp4 import FPS, write_segment
from tests.test_web_hls import START_NS, recording

SECONDS = 6
BFRAMES = {"bf": "2"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 6 s segments 10 s apart (a 4 s gap), a third at another picture size, and a fourth
    at the same size with other codec parameters (a camera set to another profile)."""
    folder = tmp_path_factory.mktemp("streamed")
    write_segment(folder / "a.mp4", SECONDS, options=BFRAMES)
    write_segment(folder / "b.mp4", SECONDS, options=BFRAMES)
    write_segment(folder / "c.mp4", SECONDS, size=(640, 360), options=BFRAMES)
    write_segment(folder / "d.mp4", SECONDS, options={"profile": "baseline"})
    return folder


def rows(root: Path) -> list:
    a = recording(root / "a.mp4", 1, START_NS, SECONDS)
    b = recording(root / "b.mp4", 2, START_NS + 10 * 10**9, SECONDS)
    return [b, a]  # in any order


def shown(clip: StreamedClip) -> list[int]:
    """The frame number (mod 64) of each picture a player shows (``write_segment`` paints
    frame i with grey level 4i mod 256)."""
    data = b"".join(clip.read(0, clip.size))
    assert len(data) == clip.size
    with av.open(io.BytesIO(data), format="mp4") as container:
        grey = [float(f.to_ndarray(format="gray").mean()) for f in container.decode(video=0)]
    return [round(g / 4) % 64 for g in grey]


def numbers(start: int, stop: int) -> list[int]:
    return [i % 64 for i in range(start, stop)]


def at(seconds: float) -> int:
    return START_NS + round(seconds * 1e9)


def test_the_clip_starts_at_the_frame_shown_at_its_start_and_holds_over_the_gap(root, tmp_path):
    clip = plan(rows(root), root, "door", at(1.5), at(13.2))
    first = int(1.5 * FPS)  # frame 22, shown at 1.4667 s, is on screen at 1.5 s
    after_gap = int(3.2 * FPS)  # b's frames before 13.2 s (b starts at 10 s)
    assert shown(clip) == numbers(first, SECONDS * FPS) + numbers(0, after_gap)
    assert clip.frames == SECONDS * FPS - first + after_gap
    assert clip.start_ns == START_NS + first * 10**9 // FPS
    assert clip.end_ns == at(13.2)
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"".join(clip.read(0, clip.size)))
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", out],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert float(probe.stdout) == pytest.approx(13.2 - first / FPS, abs=1 / FPS)  # the gap kept


def test_a_clip_within_one_gop_and_to_the_last_frame(root):
    assert shown(plan(rows(root), root, "door", at(2.1), at(2.5))) == [31, 32, 33, 34, 35, 36, 37]
    whole = plan(rows(root), root, "door", START_NS, at(30))
    assert shown(whole) == numbers(0, SECONDS * FPS) * 2
    assert whole.end_ns == START_NS + 16 * 10**9


def test_any_byte_ranges_read_the_same_bytes(root):
    clip = plan(rows(root), root, "door", at(0.7), at(12))
    whole = b"".join(clip.read(0, clip.size))
    rng = np.random.default_rng(5)
    for start, length in [(0, 1), (clip.starts[1] - 3, 10), (clip.size - 1, 1)] + [
        (int(rng.integers(0, clip.size - 1)), int(rng.integers(1, 300_000))) for _ in range(20)
    ]:
        end = min(clip.size, start + length)
        assert b"".join(clip.read(start, end)) == whole[start:end]
    assert plan(rows(root), root, "door", at(0.7), at(12)).etag == clip.etag  # same bytes
    assert plan(rows(root), root, "door", at(0.8), at(12)).etag != clip.etag


def test_a_change_of_picture_size_and_an_empty_range_are_refused(root):
    c = recording(root / "c.mp4", 3, START_NS + 20 * 10**9, SECONDS)
    with pytest.raises(SplitClipError, match="h264 320x180 to h264 640x360 at .*clip job"):
        plan([*rows(root), c], root, "door", at(5), at(22))
    assert shown(plan([c], root, "door", at(20), at(21))) == numbers(0, FPS)
    with pytest.raises(NothingRecordedError, match="nothing playable of camera 'door'"):
        plan(rows(root), root, "door", at(6.5), at(9.5))  # inside the gap
    missing = dataclasses.replace(rows(root)[1], file_path="gone.mp4")
    only_b = plan([missing, rows(root)[0]], root, "door", START_NS, at(11))
    assert shown(only_b) == numbers(0, FPS)  # a missing file is a gap, as in the export


def test_other_codec_parameters_of_the_same_size_play_on(root):
    d = recording(root / "d.mp4", 4, START_NS + 16 * 10**9, SECONDS)
    clip = plan([*rows(root), d], root, "door", at(15), at(17))
    head = next(clip.read(0, clip.starts[1]))
    assert head.count(b"avcC") == 2  # a sample description each
    assert shown(clip) == numbers(75, 90) + numbers(0, 15)
