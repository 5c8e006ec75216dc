"""Playback, frame-exact: footage recorded by the engine from the real RTSP counter camera,
whose pictures carry their frame number, read back through ``nvr.storage.playback``."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import apsw
import av
import cv2
import numpy as np
import pytest

from nvr.errors import NvrError
from nvr.protocol.client import EngineClient
from nvr.storage import streamed_clip
from nvr.storage.catalog import Catalog, Gap, Recording
from nvr.storage.export import NothingRecordedError, export_clip
from nvr.storage.playback import Frame, Hole, PlaybackReader
from nvr.storage.streamed_clip import SplitClipError
from tests.conftest import Engine, requires_rtsp, wait_for
from tests.support.api import TOKENS
from tests.support.cameras import RtspCamera
from tests.support.counter import read_counter
from tests.support.media import ffprobe_duration

pytestmark = [requires_rtsp, pytest.mark.slow]

CAMERA = "door"


@dataclass
class Recorded:
    """An engine's storage after a recording session with a gap and a resolution change."""

    storage: Path
    rows: list[Recording]
    gaps: list[Gap]
    numbers: dict[int, list[int]]  # recording id -> counter of each frame, decoded in order

    @property
    def root(self) -> Path:
        return self.storage / "recordings"

    def reader(self, storage: Path | None = None) -> PlaybackReader:
        storage = storage or self.storage
        return PlaybackReader(
            Catalog(storage / "catalog.db", readonly=True), storage / "recordings"
        )


def number(frame: Frame) -> int | None:
    return read_counter(frame.image.to_ndarray(format="gray"))


def _decoded_numbers(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [read_counter(f.to_ndarray(format="gray")) for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[Recorded]:
    """Continuous 5 s segments; the camera freezes for 6 s (a gap), then changes resolution."""
    base = tmp_path_factory.mktemp("playback")
    storage = base / "storage"
    with RtspCamera(main_size=(1280, 720)) as camera:
        config = base / "nvr.yaml"
        config.write_text(
            f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras:\n"
            f"  - id: {CAMERA}\n    main: {camera.url('counter/main')}\n"
            f"    sub: {camera.url('counter/sub')}\n    timeout_s: 2\n"
            "    record:\n      mode: continuous\n      segment_s: 5\n"
        )
        engine = Engine(config, storage)
        engine.start()
        try:
            wait_for(lambda: _segments(storage) >= 2, 40, what="two segments")
            camera.pause()
            time.sleep(6)
            camera.resume()
            wait_for(lambda: _segments(storage) >= 4, 40, what="recording after the freeze")
            camera.set_size("counter/main", (960, 540))
            wait_for(lambda: _sizes(storage) >= 2, 40, what="a segment at the new size")
            time.sleep(3)
        finally:
            engine.stop()
    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        rows = catalog.recordings(CAMERA)
        gaps = catalog.gaps(CAMERA)
    numbers = {r.id: _decoded_numbers(storage / "recordings" / r.file_path) for r in rows}
    yield Recorded(storage, rows, gaps, numbers)


def _segments(storage: Path) -> int:
    if not (storage / "catalog.db").exists():
        return 0
    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        return len(catalog.recordings(CAMERA))


def _sizes(storage: Path) -> int:
    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        return len({r.width for r in catalog.recordings(CAMERA)})


def test_the_session_has_what_the_tests_need(recorded):
    assert len(recorded.rows) >= 5
    assert {r.width for r in recorded.rows} == {1280, 960}
    holes = [b.start_ns - a.end_ns for a, b in pairwise(recorded.rows)]
    assert max(holes) > 3e9, holes  # the freeze
    for rec in recorded.rows:  # every picture carries its number, one more than the last
        got = recorded.numbers[rec.id]
        assert None not in got and got == list(range(got[0], got[0] + len(got))), rec.file_path


def test_frame_at_is_the_last_frame_at_or_before_the_instant(recorded):
    rng = random.Random(7)
    with recorded.reader() as reader:
        for rec in recorded.rows:
            numbers = recorded.numbers[rec.id]
            instants = [
                rec.start_ns,
                rec.end_ns - 1,
                *(rng.randrange(rec.start_ns, rec.end_ns) for _ in range(12)),
            ]
            for at in instants:
                frame = reader.frame_at(CAMERA, at)
                assert frame is not None, (rec.file_path, at - rec.start_ns)
                assert frame.time_ns <= at < frame.end_ns
                assert frame.recording_id == rec.id
                assert number(frame) == numbers[frame.index], (rec.file_path, frame.index)
            first = reader.frame_at(CAMERA, rec.start_ns)
            last = reader.frame_at(CAMERA, rec.end_ns - 1)
            assert (first.index, number(first)) == (0, numbers[0])
            assert (last.index, number(last)) == (len(numbers) - 1, numbers[-1])


def test_frame_times_follow_media_time(recorded):
    """Frame k of a segment is shown from start + k frame durations, scaled onto the row's
    wall span: 15 fps gives steps of about 66.7 ms."""
    with recorded.reader() as reader:
        rec = recorded.rows[0]
        frames = [reader.frame_at(CAMERA, rec.start_ns)]
        for _ in range(20):
            frames.append(reader.next_frame(frames[-1]))
        steps = [b.time_ns - a.time_ns for a, b in pairwise(frames)]
        assert all(40e6 < s < 100e6 for s in steps), steps
        assert all(a.end_ns == b.time_ns for a, b in pairwise(frames))


def test_nothing_outside_the_recordings(recorded):
    rows = recorded.rows
    freeze = max(pairwise(rows), key=lambda p: p[1].start_ns - p[0].end_ns)
    with recorded.reader() as reader:
        assert reader.frame_at(CAMERA, rows[0].start_ns - 1) is None
        assert reader.frame_at(CAMERA, rows[-1].end_ns) is None
        assert reader.frame_at(CAMERA, (freeze[0].end_ns + freeze[1].start_ns) // 2) is None
        assert reader.frame_at("nobody", rows[0].start_ns) is None


def test_plays_forward_across_segments_the_gap_and_the_size_change(recorded):
    rows = recorded.rows
    with recorded.reader() as reader:
        played = list(reader.frames(CAMERA, rows[0].start_ns))
    holes = [p for p in played if isinstance(p, Hole)]
    frames = [p for p in played if isinstance(p, Frame)]
    assert holes[-1].end_ns is None  # the recordings end
    inner = holes[:-1]
    assert len(inner) >= 1, [(h.start_ns, h.end_ns, h.why) for h in holes]
    assert any("stream" in h.why or "camera" in h.why for h in inner), [h.why for h in inner]
    expected = [n for rec in rows for n in recorded.numbers[rec.id]]
    assert [number(f) for f in frames] == expected  # every frame, once, in order
    assert {(f.image.width, f.image.height) for f in frames} == {(1280, 720), (960, 540)}
    times = [f.time_ns for f in frames]
    assert times == sorted(times)
    for hole in inner:  # a hole sits between the frames before and after it
        i = played.index(hole)
        assert played[i - 1].end_ns <= hole.start_ns < hole.end_ns <= played[i + 1].time_ns


def test_steps_back_across_a_segment_boundary(recorded):
    a, b = recorded.rows[0], recorded.rows[1]
    with recorded.reader() as reader:
        first_of_b = reader.frame_at(CAMERA, b.start_ns)
        back = reader.previous_frame(first_of_b)
        assert back.recording_id == a.id and number(back) == recorded.numbers[a.id][-1]
        assert number(reader.next_frame(back)) == recorded.numbers[b.id][0]
        frame = reader.frame_at(CAMERA, (a.start_ns + a.end_ns) // 2)
        for _ in range(20):  # backwards through a GOP boundary, one frame at a time
            before = reader.previous_frame(frame)
            assert number(before) == number(frame) - 1
            frame = before
        assert reader.previous_frame(reader.frame_at(CAMERA, a.start_ns)) is None


def test_keyframes_only(recorded):
    rec = recorded.rows[1]
    with recorded.reader() as reader:
        frames = []
        for item in reader.frames(CAMERA, rec.start_ns, keyframes_only=True):
            if isinstance(item, Hole) or item.recording_id != rec.id:
                break
            frames.append(item)
    assert len(frames) >= 3 and all(f.keyframe for f in frames)
    numbers = recorded.numbers[rec.id]
    assert [number(f) for f in frames] == [numbers[f.index] for f in frames]


def test_missing_and_truncated_files_play_as_holes(recorded, tmp_path):
    copy = tmp_path / "storage"
    shutil.copytree(recorded.storage, copy)
    rows = next(  # three tiled segments, the last two long enough to cut
        recorded.rows[i : i + 3]
        for i in range(len(recorded.rows) - 2)
        if all(a.end_ns == b.start_ns for a, b in pairwise(recorded.rows[i : i + 3]))
        and all(r.duration_90k > 3 * 90000 for r in recorded.rows[i + 1 : i + 3])
    )
    (copy / "recordings" / rows[1].file_path).unlink()
    cut = copy / "recordings" / rows[2].file_path
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size * 2 // 3])
    with recorded.reader(copy) as reader:
        assert reader.frame_at(CAMERA, (rows[1].start_ns + rows[1].end_ns) // 2) is None
        assert reader.frame_at(CAMERA, rows[2].end_ns - 1) is None
        played = []
        for item in reader.frames(CAMERA, rows[0].start_ns):
            played.append(item)
            if item.end_ns is None or item.end_ns >= rows[2].end_ns:
                break
    holes = [p for p in played if isinstance(p, Hole)]
    assert "file missing" in holes[0].why and holes[0].start_ns == rows[0].end_ns
    assert holes[0].end_ns == rows[2].start_ns
    assert "cut short" in holes[1].why and holes[1].start_ns < rows[2].end_ns
    numbers = [number(p) for p in played if isinstance(p, Frame)]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


# -- clip export ---------------------------------------------------------------------------


def test_export_starts_at_the_exact_frame(recorded, tmp_path):
    rec = max(recorded.rows, key=lambda r: r.duration_90k)
    numbers = recorded.numbers[rec.id]
    with recorded.reader() as reader:
        # A start between keyframes: the clip must not show the frames before it.
        start = reader.frame_at(CAMERA, rec.start_ns + (rec.end_ns - rec.start_ns) * 3 // 10)
        while start.keyframe:
            start = reader.next_frame(start)
        end_frame = reader.frame_at(CAMERA, rec.start_ns + (rec.end_ns - rec.start_ns) * 8 // 10)
        first, last = number(start), number(end_frame)
        clip = export_clip(
            reader.catalog,
            recorded.root,
            CAMERA,
            start.time_ns,
            end_frame.time_ns,
            tmp_path / "a.mp4",
        )
    assert [f.path.name for f in clip.files] == ["a.mp4"] and not clip.holes
    shown = _decoded_numbers(tmp_path / "a.mp4")
    assert shown == list(range(first, last)), (shown[:3], first, last)  # [start, end)
    assert numbers.index(first) > 0  # not a segment's first frame either
    span = (end_frame.time_ns - start.time_ns) / 1e9
    assert abs(ffprobe_duration(tmp_path / "a.mp4") - span) <= 1 / 15 + 1e-3
    report = clip.report.read_text()
    assert f"camera: {CAMERA}" in report and "gaps: none" in report


def test_a_clip_shows_exactly_the_frames_of_its_range_at_wall_time(recorded, tmp_path):
    """Across segments and the freeze: from the frame shown at the start to the last one before
    the end, every recorded frame once, the freeze held; the export writes the very bytes the
    web streams."""
    rows = [r for r in recorded.rows if r.width == recorded.rows[0].width]
    assert len(rows) >= 3
    with recorded.reader() as reader:
        start = reader.frame_at(
            CAMERA, rows[0].start_ns + (rows[0].end_ns - rows[0].start_ns) * 4 // 10
        )
        while start.keyframe:
            start = reader.next_frame(start)
        end_ns = rows[-1].start_ns + (rows[-1].end_ns - rows[-1].start_ns) // 2
        last = reader.frame_at(CAMERA, end_ns - 1)
        exported = export_clip(
            reader.catalog, recorded.root, CAMERA, start.time_ns, end_ns, tmp_path / "e.mp4"
        ).files[0]
        found = reader.catalog.recordings(CAMERA, start.time_ns, end_ns)
        streamed = streamed_clip.plan(found, recorded.root, CAMERA, start.time_ns, end_ns)
        with pytest.raises(SplitClipError, match="1280x720 to h264 960x540"):
            streamed_clip.plan(
                reader.catalog.recordings(CAMERA), recorded.root, CAMERA,
                rows[0].start_ns, recorded.rows[-1].end_ns,
            )  # fmt: skip
    (tmp_path / "s.mp4").write_bytes(b"".join(streamed.read(0, streamed.size)))
    assert (tmp_path / "s.mp4").read_bytes() == exported.path.read_bytes()
    recorded_numbers = [n for rec in rows for n in recorded.numbers[rec.id]]
    first, final = recorded_numbers.index(number(start)), recorded_numbers.index(number(last))
    shown = _decoded_numbers(tmp_path / "s.mp4")
    assert shown == recorded_numbers[first : final + 1]
    assert streamed.frames == exported.frames == len(shown)
    assert streamed.start_ns == exported.start_ns == start.time_ns
    assert streamed.end_ns == exported.end_ns == end_ns
    span = (streamed.end_ns - streamed.start_ns) / 1e9  # the freeze is held, not cut
    assert abs(ffprobe_duration(tmp_path / "s.mp4") - span) <= 1 / 15 + 1e-3


def test_export_across_segments_the_gap_and_the_size_change(recorded, tmp_path):
    rows = recorded.rows
    clip_path = tmp_path / "all.mp4"
    seen: list[float] = []
    with recorded.reader() as reader:
        clip = export_clip(
            reader.catalog,
            recorded.root,
            CAMERA,
            rows[0].start_ns,
            rows[-1].end_ns,
            clip_path,
            seen.append,
        )
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert [f.path.name for f in clip.files] == ["all.mp4", "all-2.mp4"]
    assert [(f.width, f.height) for f in clip.files] == [(1280, 720), (960, 540)]
    shown = [n for f in clip.files for n in _decoded_numbers(f.path)]
    assert shown == [n for rec in rows for n in recorded.numbers[rec.id]]  # every frame, once
    assert sum(f.frames for f in clip.files) == len(shown)
    assert len(clip.holes) >= 1 and max(e - s for s, e, _ in clip.holes) > 3e9
    report = clip.report.read_text()
    assert "all-2.mp4" in report and "gaps:\n" in report and "camera" in report
    # The clip keeps wall time: the freeze is a jump in timestamps, not a cut.
    span = (clip.files[0].end_ns - clip.files[0].start_ns) / 1e9
    assert abs(ffprobe_duration(clip.files[0].path) - span) <= 1 / 15 + 1e-3


def test_export_of_nothing_says_so(recorded, tmp_path):
    rows = recorded.rows
    with recorded.reader() as reader:
        with pytest.raises(NothingRecordedError, match="nothing playable of camera 'door'"):
            export_clip(
                reader.catalog,
                recorded.root,
                CAMERA,
                rows[-1].end_ns + 10**9,
                rows[-1].end_ns + 5 * 10**9,
                tmp_path / "x.mp4",
            )
        with pytest.raises(NothingRecordedError):
            export_clip(
                reader.catalog,
                recorded.root,
                "nobody",
                rows[0].start_ns,
                rows[-1].end_ns,
                tmp_path / "y.mp4",
            )
    assert not list(tmp_path.iterdir())


def test_export_command(recorded, tmp_path):
    rows = recorded.rows
    config = tmp_path / "nvr.yaml"
    config.write_text(
        f"storage:\n  path: {recorded.storage}\n  min_free_bytes: 100MB\n"
        f"cameras:\n  - id: {CAMERA}\n"
        "    main: rtsp://127.0.0.1:1/x\n"
    )
    out = tmp_path / "door.mp4"

    def export(camera: str, start: int | str, end: int | str, *more: str):
        """``nvr export`` for a range given in ns or as ISO 8601 text."""
        start, end = (_iso(t) if isinstance(t, int) else t for t in (start, end))
        return subprocess.run(
            [sys.executable, "-m", "nvr", "export", "-c", str(config), "--camera", camera]
            + ["--start", start, "--end", end, "-o", str(out), *more],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    done = export(CAMERA, rows[0].start_ns, rows[1].end_ns)
    assert done.returncode == 0, done.stderr
    assert "door: 100%" in done.stderr and "report:" in done.stdout
    assert out.exists() and out.with_suffix(".txt").exists()
    assert _decoded_numbers(out)[0] == recorded.numbers[rows[0].id][0]
    unknown = export("nobody", rows[0].start_ns, rows[1].end_ns)
    assert unknown.returncode == 2 and "unknown camera 'nobody'" in unknown.stderr
    empty = export(CAMERA, "2001-01-01T00:00:00Z", "2001-01-01T00:10:00Z")
    assert empty.returncode == 1 and "nothing playable" in empty.stderr
    bad = export(CAMERA, "yesterday", "2001-01-01T00:10:00Z")
    assert bad.returncode == 2 and "not an ISO 8601 time" in bad.stderr


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat()


# -- thumbnails and the API ----------------------------------------------------------------


def test_the_worker_writes_a_thumbnail_when_a_segment_opens(recorded):
    """Taken from the sub stream's newest picture: it shows (within a second) the segment's
    first frame number."""
    with_thumbnail = [r for r in recorded.rows if r.thumbnail_path]
    previous_end = {b.id: a.end_ns for a, b in pairwise(recorded.rows)}
    assert len(with_thumbnail) >= len(recorded.rows) - 1  # the very first may precede the sub
    for rec in with_thumbnail:
        assert rec.thumbnail_path == rec.file_path.removesuffix(".mp4") + ".jpg"
        picture = cv2.imdecode(
            np.frombuffer((recorded.root / rec.thumbnail_path).read_bytes(), np.uint8),
            cv2.IMREAD_GRAYSCALE,
        )
        assert picture.shape[1] == 320
        numbers = recorded.numbers[rec.id]  # a picture of this segment's time (the first one
        # opens after its pre-roll and the check of the video; a rotated one, at its start);
        # the two streams' numbers agree within a second or so
        assert numbers[0] - 20 <= read_counter(picture) <= numbers[-1], rec.file_path
        if rec.start_ns == previous_end.get(rec.id):
            assert abs(read_counter(picture) - numbers[0]) <= 25, rec.file_path


@pytest.fixture(scope="module")
def served(recorded, tmp_path_factory):
    """An engine over a copy of the recorded storage (the camera disabled), whose backfill has
    two thumbnails to make again."""
    base = tmp_path_factory.mktemp("served")
    storage = base / "storage"
    shutil.copytree(recorded.storage, storage)
    redo = [r for r in recorded.rows if r.thumbnail_path][:2]
    conn = apsw.Connection(str(storage / "catalog.db"))
    for rec in redo:
        conn.execute("UPDATE recordings SET thumbnail_path = NULL WHERE id = ?", (rec.id,))
        (storage / "recordings" / rec.thumbnail_path).unlink()
    conn.close()
    config = base / "nvr.yaml"
    config.write_text(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras:\n"
        f"  - id: {CAMERA}\n    main: rtsp://127.0.0.1:9/none\n    enabled: false\n"
    )
    engine = Engine(config, storage)
    engine.start()
    try:
        yield SimpleNamespace(
            engine=engine,
            storage=storage,
            redo=redo,
            client=EngineClient(engine.api, token=TOKENS[engine.api]),
        )
    finally:
        engine.stop()


def test_backfill_makes_the_missing_thumbnails(served):
    def named():
        with Catalog(served.storage / "catalog.db", readonly=True) as catalog:
            return all(catalog.recording(r.id).thumbnail_path for r in served.redo)

    wait_for(named, 30, what="thumbnails made again")
    for rec in served.redo:
        assert (served.storage / "recordings" / rec.thumbnail_path).read_bytes()[:2] == b"\xff\xd8"


def test_api_frame_is_the_reader_frame(recorded, served):
    rng = random.Random(11)
    with recorded.reader() as reader:
        for rec in rng.sample(recorded.rows, 3):
            at = rng.randrange(rec.start_ns, rec.end_ns)
            expected = reader.frame_at(CAMERA, at)
            got = served.client.frame(CAMERA, at)
            assert (got.time_ns, got.end_ns, got.recording_id) == (
                expected.time_ns,
                expected.end_ns,
                rec.id,
            )
            picture = cv2.imdecode(np.frombuffer(got.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
            assert picture.shape == (rec.height, rec.width)
            assert read_counter(picture) == number(expected)
    assert served.client.frame(CAMERA, recorded.rows[-1].end_ns + 10**9) is None
    with pytest.raises(NvrError, match="unknown camera 'nobody'"):
        served.client.frame("nobody", recorded.rows[0].start_ns)


def test_api_timeline(recorded, served):
    rows = recorded.rows
    start, end = rows[0].start_ns - 10**9, rows[-1].end_ns + 10**9
    got = served.client.timeline([CAMERA], start, end, buckets=50)
    assert got["detail"] == "rows" and got["bucket_ns"] * 50 >= end - start
    cam = got["cameras"][CAMERA]
    covered = sum(e - s for s, e, _ in cam["spans"])
    assert abs(covered - sum(r.end_ns - r.start_ns for r in rows)) < 10**6 * len(rows)
    assert all(kind == "continuous" for *_, kind in cam["spans"])
    assert len(cam["spans"]) >= 2  # the freeze splits them
    assert any(g[2] == "stream_lost" for g in cam["gaps"]), cam["gaps"]
    assert len(cam["density"]["recorded"]) == 50 and max(cam["density"]["recorded"]) == 1.0
    assert cam["density"]["recorded"][0] < 1.0  # the range starts before the first recording
    month = served.client.timeline([CAMERA], end - 30 * 86_400 * 10**9, end, buckets=720)
    assert month["detail"] == "hours" and month["bucket_ns"] % (3600 * 10**9) == 0
    assert len(month["cameras"][CAMERA]["density"]["recorded"]) <= 720
    assert sum(month["cameras"][CAMERA]["density"]["recorded"]) > 0
    for bad in (
        "camera_id=door&start_ns=5&end_ns=4",
        "camera_id=&start_ns=1&end_ns=4",
        f"camera_id=door&start_ns=1&end_ns={40 * 86400 * 10**9}",
        "camera_id=door&start_ns=1&end_ns=9&buckets=0",
    ):
        status, reply = served.client.request("GET", f"/api/timeline?{bad}")
        assert status == 400 and reply["code"] == "bad_request", (bad, reply)


def test_api_thumbnails(recorded, served):
    rec = [r for r in recorded.rows if r.thumbnail_path][-1]  # the worker's (not backfilled)
    stored = (served.storage / "recordings" / rec.thumbnail_path).read_bytes()
    assert served.client.thumbnail(recording_id=rec.id) == stored
    with pytest.raises(NvrError, match="no recording 999999"):
        served.client.thumbnail(recording_id=999999)
    status, reply = served.client.request("GET", "/api/thumbnail?recording_id=1&event_id=1")
    assert status == 400


def test_api_export_job(recorded, served):
    rows = recorded.rows
    job = served.client.export([CAMERA], rows[0].start_ns, rows[1].end_ns)
    assert job["state"] in ("queued", "running", "done")
    done = wait_for(
        lambda: (j := served.client.export_status(job["id"]))["state"] in ("done", "failed") and j,
        60,
        what="export",
    )
    assert done["state"] == "done" and done["progress"] == 1.0, done
    clip = next(Path(f["path"]) for f in done["files"] if f.get("frames"))
    assert clip.parent == served.storage / "exports" / job["id"]
    assert _decoded_numbers(clip)[0] == recorded.numbers[rows[0].id][0]
    status, reply = served.client.request(
        "POST", "/api/export", {"camera_ids": [CAMERA], "start_ns": 1, "end_ns": 10**9}
    )
    assert status == 404 and "nothing of door was recorded" in reply["error"]
    status, reply = served.client.request(
        "POST", "/api/export", {"camera_ids": "door", "start_ns": 1, "end_ns": 2}
    )
    assert status == 400
    with pytest.raises(NvrError, match="HTTP 404"):
        served.client.export_status("nope")


def test_the_segment_being_written_plays_up_to_its_last_fragment(recorded, tmp_path):
    """A segment without a row yet (the engine is writing it) is the camera's newest file: it
    plays from its header's tag up to its last complete fragment, and on from the segment
    before it."""
    copy = tmp_path / "storage"
    shutil.copytree(recorded.storage, copy)
    last, before = recorded.rows[-1], recorded.rows[-2]
    conn = apsw.Connection(str(copy / "catalog.db"))
    conn.execute("DELETE FROM recordings WHERE id = ?", (last.id,))
    conn.close()
    path = copy / "recordings" / last.file_path
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 3 // 4])  # still being written
    numbers = recorded.numbers[last.id]
    with recorded.reader(copy) as reader:
        middle = reader.frame_at(CAMERA, (last.start_ns + last.end_ns) // 2)
        assert middle is not None and middle.recording_id < 0
        assert number(middle) == numbers[middle.index]
        assert reader.frame_at(CAMERA, last.end_ns - 1) is None  # past its last fragment
        first = reader.frame_at(CAMERA, last.start_ns)
        assert number(reader.previous_frame(first)) == recorded.numbers[before.id][-1]
        played = []
        frame = reader.frame_at(CAMERA, before.end_ns - 1)
        while isinstance(frame, Frame):
            played.append(number(frame))
            frame = reader.next_frame(frame)
        assert frame.end_ns is None  # the recording ends there, for now
    assert played[0] == recorded.numbers[before.id][-1]
    assert played[1:] == numbers[: len(played) - 1]  # on into the growing file, every frame
    assert len(played) > len(numbers) // 2


def test_api_refuses_hostile_footage_requests_clearly(served):
    client = served.client
    for path in (
        f"/api/frame?camera_id={CAMERA}&at_ns={2**63 - 1}",  # the catalog holds at_ns + 1
        "/api/frame?at_ns=5",
        f"/api/frame?camera_id={CAMERA}&at_ns=5&at_ns=6",
        "/api/thumbnail?recording_id=-1",
    ):
        status, reply = client.request("GET", path)
        assert (status, reply["ok"]) == (400, False), (path, reply)
    status, reply = client.request("GET", "/api/export/..%2F..%2Fetc")
    assert status == 404
    for body in ("[" * 30_000, '{"camera_ids": ["door"], "start_ns": 1, "start_ns": 2}'):
        request = urllib.request.Request(
            client.api + "/api/export", data=body.encode(), method="POST", headers=client._headers
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 400
        assert b"bad export request" in refused.value.read()
    logs = [p for p in (served.storage / "logs").glob("*") if p.is_file()]
    assert not any("Traceback" in p.read_text(errors="replace") for p in logs)
