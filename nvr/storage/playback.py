"""Playback: the recorded frame shown at any wall-clock instant, and the frames after it.

A segment's row is dated in wall time (``start_ns``, ``end_ns``) and measured in media time
(``duration_90k``, what its file holds). A wall instant maps linearly onto media time, so a
camera whose clock ran fast or slow still plays its whole segment across its wall span. Frame
times come from the segment's sample table (``fmp4.samples``: no demuxing), so "the last frame
whose time is at or before t" is found without decoding; only that frame is then decoded, from
the keyframe before it (or onward from the frame decoded last, when it lies in the same GOP).

Holes play as holes: ``next_frame`` returns a ``Hole`` where the next recording starts later
than the current one ends (with the stream gaps that explain it), a file that is missing or
unreadable is a hole with a note, and a file cut short by a crash plays up to its last complete
fragment. Segments of different sizes or codecs play in sequence: each has its own decoder.

The segment being written (no catalog row until it closes) plays too, up to its last complete
fragment: the newest file of the camera that the catalog does not know is read as a growing
segment, dated by the tag in its header and measured by its fragments (``growing``).

A ``PlaybackReader`` belongs to one thread (like the ``Catalog`` it reads).
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av

from nvr.storage.catalog import Catalog, Recording
from nvr.storage.fmp4 import Sample, playable_length, samples, segment_info
from nvr.storage.recovery import parse_tag

log = logging.getLogger(__name__)

CACHE_SEGMENTS = 8  # open containers kept per reader (4 cameras in sync, plus one each side)
HOLE_MIN_NS = 250_000_000  # a shorter step between two recordings plays through
GROWING_CHECK_S = 0.5  # how often the segment being written is looked at again


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded recorded frame and when it is shown: ``[time_ns, end_ns)``, wall clock."""

    camera_id: str
    recording_id: int
    index: int  # of the sample in its segment, in presentation order
    time_ns: int
    end_ns: int
    keyframe: bool
    image: av.VideoFrame


@dataclass(frozen=True, slots=True)
class Hole:
    """Nothing recorded for ``[start_ns, end_ns)`` (``end_ns`` None: nothing after it yet)."""

    camera_id: str
    start_ns: int
    end_ns: int | None
    why: str


def explain(
    catalog: Catalog, camera_id: str, start_ns: int, end_ns: int | None, notes: list[str]
) -> str:
    """Why nothing of ``camera_id`` plays in ``[start_ns, end_ns)``, in words: the stream gaps
    there (and ``notes`` on unplayable files), else where it lies against the recordings."""
    upto = end_ns if end_ns is not None else start_ns + 1
    causes = [g.cause for g in catalog.gaps(camera_id, start_ns, upto, limit=8)]
    if causes or notes:
        return "; ".join(dict.fromkeys([*causes, *notes]))
    if start_ns > time.time_ns():
        return "that time has not come yet"
    if not catalog.recordings(camera_id, None, start_ns + 1, limit=1, descending=True):
        return "before this camera's first recording"
    if not catalog.recordings(camera_id, upto, None, limit=1):
        return "after this camera's last recording"
    return "the camera was not recording (no motion, outside its schedule, or recording off)"


class SegmentTimes:
    """A segment's samples in presentation order, each with its wall-clock time (no decoding).

    Raises ``OSError`` (``FileNotFoundError`` when missing) or ``ValueError`` for a file that
    cannot be played."""

    def __init__(self, rec: Recording, root: Path) -> None:
        self.rec = rec
        self.path = root / rec.file_path
        length, _ = playable_length(self.path)
        info, table = samples(self.path, length)
        if not table:
            raise ValueError("no complete fragment")
        self.cut_short = length < self.path.stat().st_size
        self.timescale = info.timescale
        self.codec, self.width, self.height = info.codec, info.width, info.height
        self.description = info.description  # the codec's parameters (``stsd`` payload)
        self.samples: list[Sample] = sorted(table, key=lambda s: s.pts)  # presentation order
        self.origin = self.samples[0].pts
        self.times_ns = [self.wall_ns(s.pts) for s in self.samples]
        last = self.samples[-1]
        self.end_ns = min(rec.end_ns, self.wall_ns(last.pts + last.duration))

    def wall_ns(self, pts: int) -> int:
        """The wall time of media time ``pts`` (file units), scaled onto the row's wall span."""
        rec = self.rec
        media_90k = (pts - self.origin) * 90000 // self.timescale
        return rec.start_ns + media_90k * (rec.end_ns - rec.start_ns) // max(1, rec.duration_90k)

    def index_at(self, at_ns: int) -> int | None:
        """The sample shown at ``at_ns``: the last one whose time is at or before it."""
        if not self.rec.start_ns <= at_ns < self.end_ns:
            return None
        return bisect.bisect_right(self.times_ns, at_ns) - 1 if at_ns >= self.times_ns[0] else 0

    def keyframe_before(self, index: int) -> int:
        while index > 0 and not self.samples[index].keyframe:
            index -= 1
        return index


class SegmentFile(SegmentTimes):
    """One segment opened for playback: its sample times, and a decoder."""

    def __init__(self, rec: Recording, root: Path) -> None:
        super().__init__(rec, root)
        self.container = av.open(str(self.path), timeout=10)
        try:
            self.stream = self.container.streams.video[0]
            self.stream.thread_type = "AUTO"
            # PyAV's pts may be shifted from the file's (an edit list): align on the first
            # packet.
            first = next(self.container.demux(self.stream))
        except BaseException:
            self.container.close()
            raise
        self.shift = (first.pts if first.pts is not None else self.origin) - self.origin
        self._decoded: Iterator[av.VideoFrame] | None = None  # after a seek, in order
        self._last_index = -1  # sample index of the frame decoded last
        self.keyframes_only = False

    def frame_end_ns(self, index: int) -> int:
        return self.times_ns[index + 1] if index + 1 < len(self.times_ns) else self.end_ns

    def decode(self, index: int, keyframes_only: bool = False) -> av.VideoFrame | None:
        """The picture of sample ``index`` (of the keyframe at or before it when
        ``keyframes_only``); None if the file cannot give it."""
        if keyframes_only:
            index = self.keyframe_before(index)
        if keyframes_only != self.keyframes_only:
            self.keyframes_only = keyframes_only
            self.stream.codec_context.skip_frame = "NONKEY" if keyframes_only else "DEFAULT"
            self._decoded = None
        want = self.samples[index].pts + self.shift
        if (
            self._decoded is None
            or not self._last_index < index
            or self._keyframe_between(self._last_index, index)
        ):
            key = self.samples[self.keyframe_before(index)].pts + self.shift
            self.container.seek(key, stream=self.stream, backward=True, any_frame=False)
            self._decoded = self.container.decode(self.stream)
            self._last_index = -1
        try:
            for frame in self._decoded:
                if frame.pts is None:
                    continue
                if frame.pts >= want:
                    self._last_index = index
                    return frame
        except av.error.FFmpegError as err:  # a damaged fragment: the frames after it are lost
            log.warning("%s: cannot decode %s: %s", self.rec.camera_id, self.rec.file_path, err)
        self._decoded = None
        return None

    def _keyframe_between(self, after: int, upto: int) -> bool:
        """Whether a keyframe lies in (after + 1, upto]: seeking there skips frames that
        decoding on would go through (the very next frame is always cheaper to decode on)."""
        return any(s.keyframe for s in self.samples[after + 2 : upto + 1])

    def close(self) -> None:
        with contextlib.suppress(av.error.FFmpegError, OSError):
            self.container.close()


class PlaybackReader:
    """Finds and decodes recorded frames of any camera; holds a few open segments."""

    def __init__(self, catalog: Catalog, recordings_root: Path) -> None:
        self.catalog = catalog
        self.root = recordings_root
        self._open: OrderedDict[int, SegmentFile] = OrderedDict()
        self._broken: dict[int, str] = {}  # recording id -> why it cannot be played
        self._growing: dict[str, tuple[float, Recording | None]] = {}  # camera -> (checked, row)

    def frame_at(self, camera_id: str, at_ns: int, keyframes_only: bool = False) -> Frame | None:
        """The frame shown at ``at_ns`` (the last one whose time is at or before it), None
        where nothing playable was recorded."""
        rows = self.catalog.recordings(camera_id, at_ns, at_ns + 1, limit=1, descending=True)
        if not rows:
            growing = self.growing(camera_id, at_ns)
            if growing is None:
                return None
            rows = [growing]
        seg = self._segment(rows[0])
        index = seg.index_at(at_ns) if seg is not None else None
        if seg is None or index is None:
            return None
        return self._frame(seg, index, keyframes_only)

    def next_frame(self, frame: Frame, keyframes_only: bool = False) -> Frame | Hole:
        """The frame after ``frame`` (the next keyframe when ``keyframes_only``), in its
        segment or the next one; a ``Hole`` where the recording stops for a while."""
        seg = self._segment_of(frame)
        if seg is None and frame.recording_id < 0:  # the segment being written: what follows
            after = self.frame_at(frame.camera_id, frame.end_ns, keyframes_only)
            if after is not None and after.time_ns > frame.time_ns:
                return after
            return self._after(frame.camera_id, frame.end_ns)
        if seg is not None:
            step = range(frame.index + 1, len(seg.samples))
            for index in step:
                if not keyframes_only or seg.samples[index].keyframe:
                    found = self._frame(seg, index, keyframes_only)
                    if found is not None:
                        return found
                    break  # the rest of the file does not decode
        if seg is None:
            return self._after(frame.camera_id, frame.end_ns, [f"{frame.recording_id}: gone"])
        cut = [f"{seg.rec.file_path}: cut short by a crash"] if seg.cut_short else []
        return self._after(frame.camera_id, seg.end_ns, cut)

    def previous_frame(self, frame: Frame) -> Frame | None:
        """The frame before ``frame``, across a segment boundary or a hole; None at the start."""
        seg = self._segment_of(frame)
        if seg is None and frame.recording_id < 0:  # the segment being written, grown since
            earlier = self.frame_at(frame.camera_id, frame.time_ns - 1)
            if earlier is not None:
                return earlier
        if seg is not None and frame.index > 0:
            return self._frame(seg, frame.index - 1)
        start = seg.rec.start_ns if seg is not None else frame.time_ns
        for rec in self.catalog.recordings(frame.camera_id, None, start, limit=4, descending=True):
            before = self._segment(rec)
            if before is not None and rec.id != frame.recording_id:
                return self._frame(before, len(before.samples) - 1)
        return None

    def frames(
        self, camera_id: str, from_ns: int, keyframes_only: bool = False
    ) -> Iterator[Frame | Hole]:
        """Frames from the one shown at ``from_ns`` on (a hole first if nothing is), across
        segments and holes, until the camera's recordings end (a last ``Hole``)."""
        current: Frame | Hole | None = self.frame_at(camera_id, from_ns, keyframes_only)
        if current is None:
            current = self._after(camera_id, from_ns)
        while True:
            yield current
            if isinstance(current, Hole):
                if current.end_ns is None:
                    return
                found = self.frame_at(camera_id, current.end_ns, keyframes_only)
                current = found if found is not None else self._after(camera_id, current.end_ns)
            else:
                current = self.next_frame(current, keyframes_only)

    def growing(self, camera_id: str, at_ns: int) -> Recording | None:
        """The segment being written for ``camera_id``, as a row (negative id, status
        ``recording``) spanning its complete fragments, if it ends after ``at_ns``'s last
        cataloged recording: the camera's newest file that the catalog does not know."""
        now = time.monotonic()
        cached = self._growing.get(camera_id)
        if cached is not None and now - cached[0] < GROWING_CHECK_S:
            return cached[1]
        rec = self._find_growing(camera_id)
        self._growing[camera_id] = (now, rec)
        return rec

    def _find_growing(self, camera_id: str) -> Recording | None:
        days = sorted((self.root / camera_id).glob("*-*-*"))[-2:]  # today's and yesterday's
        files = sorted((f for d in days for f in d.glob("*.mp4")), key=lambda f: f.name)
        if not files or self.catalog.recording_by_path(files[-1].relative_to(self.root).as_posix()):
            return None
        path = files[-1]
        try:
            length, _ = playable_length(path)
            info = segment_info(path, length)
        except (OSError, ValueError):
            return None
        tag = parse_tag(info.comment)
        start = tag.get("start_ns", "")
        if not start.isdigit() or info.fragments == 0:
            return None
        start_ns, media_90k = int(start), info.duration_90k
        return Recording(
            id=-(path.stat().st_ino * 10_000 + info.fragments % 10_000),  # new with each fragment
            camera_id=camera_id,
            start_ns=start_ns,
            end_ns=start_ns + media_90k * 1_000_000_000 // 90000,
            duration_90k=media_90k,
            file_path=path.relative_to(self.root).as_posix(),
            motion_events=0,
            size_bytes=length,
            thumbnail_path=None,
            recording_type=tag.get("type", "continuous"),
            video_codec=info.codec,
            width=info.width,
            height=info.height,
            status="recording",
            protected=False,
            created_ns=start_ns,
        )

    def recording_after(self, camera_id: str, at_ns: int) -> Recording | None:
        """The first recording that ends after ``at_ns``."""
        rows = self.catalog.recordings(camera_id, at_ns, None, limit=1)
        return rows[0] if rows else None

    def close(self) -> None:
        for seg in self._open.values():
            seg.close()
        self._open.clear()

    def __enter__(self) -> PlaybackReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _after(self, camera_id: str, at_ns: int, notes: list[str] | None = None) -> Frame | Hole:
        """What plays from ``at_ns``, where the recording before it ended: the next recording's
        first frame, or a hole up to it (or for ever, when there is none); ``notes`` say why
        the recording before ended early."""
        skipped: list[str] = list(notes or [])
        for rec in self.catalog.recordings(camera_id, at_ns, None, limit=64):
            seg = self._segment(rec)
            if seg is None:
                skipped.append(f"{rec.file_path}: {self._broken[rec.id]}")
                continue
            begin = max(at_ns, rec.start_ns)
            index = seg.index_at(begin)
            if index is None:
                continue
            if begin - at_ns < HOLE_MIN_NS and not skipped:
                frame = self._frame(seg, index)
                if frame is not None:
                    return frame
                continue
            return Hole(camera_id, at_ns, begin, self._why(camera_id, at_ns, begin, skipped))
        growing = self.growing(camera_id, at_ns)
        if growing is not None and growing.end_ns > at_ns:
            begin = max(at_ns, growing.start_ns)
            seg = self._segment(growing)
            index = seg.index_at(begin) if seg is not None else None
            if seg is not None and index is not None:
                if begin - at_ns < HOLE_MIN_NS and not skipped:
                    frame = self._frame(seg, index)
                    if frame is not None:
                        return frame
                else:
                    why = self._why(camera_id, at_ns, begin, skipped)
                    return Hole(camera_id, at_ns, begin, why)
        return Hole(camera_id, at_ns, None, "; ".join(skipped) or "no recording after this")

    def _why(self, camera_id: str, start_ns: int, end_ns: int, skipped: list[str]) -> str:
        return explain(self.catalog, camera_id, start_ns, end_ns, skipped)

    def _frame(self, seg: SegmentFile, index: int, keyframes_only: bool = False) -> Frame | None:
        if keyframes_only:
            index = seg.keyframe_before(index)
        image = seg.decode(index, keyframes_only)
        if image is None:
            return None
        return Frame(
            camera_id=seg.rec.camera_id,
            recording_id=seg.rec.id,
            index=index,
            time_ns=seg.times_ns[index],
            end_ns=seg.frame_end_ns(index),
            keyframe=seg.samples[index].keyframe,
            image=image,
        )

    def _segment_of(self, frame: Frame) -> SegmentFile | None:
        seg = self._open.get(frame.recording_id)
        if seg is not None:
            return seg
        if frame.recording_id < 0:  # a growing segment that has grown or closed since
            return None
        rec = self.catalog.recording(frame.recording_id)
        return self._segment(rec) if rec is not None else None

    def _segment(self, rec: Recording) -> SegmentFile | None:
        """The open segment of ``rec`` (opened now if need be); None if it cannot be played."""
        seg = self._open.get(rec.id)
        if seg is not None:
            self._open.move_to_end(rec.id)
            return seg
        if rec.id in self._broken:
            return None
        try:
            seg = SegmentFile(rec, self.root)
        except FileNotFoundError:
            self._broken[rec.id] = "file missing"
            return None
        except (OSError, ValueError, StopIteration, av.error.FFmpegError) as err:
            self._broken[rec.id] = f"unreadable ({err})"
            log.warning("%s: cannot play %s: %s", rec.camera_id, rec.file_path, err)
            return None
        self._open[rec.id] = seg
        while len(self._open) > CACHE_SEGMENTS:
            _, old = self._open.popitem(last=False)
            old.close()
        return seg
