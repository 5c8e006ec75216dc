"""Clip export: any time range of a camera as one standard MP4, by stream copy.

The clip starts exactly at the frame shown at ``start_ns``: packets are copied from the keyframe
before it, with times shifted so that frame is at 0 and the ones before it negative; FFmpeg's MP4
muxer then writes an edit list (``elst``) that tells every player to start at 0, so no frame is
re-encoded and none before the range is shown (the way Moonfire NVR cuts). It ends with the last
frame shown before ``end_ns``.

Time in the clip is wall time: a segment's packets keep their media spacing and each segment is
placed at its wall-clock start, so a gap in the recordings is a gap in the clip's timestamps (a
player holds the last picture) and the report beside the clip names it. A camera whose codec or
size changed within the range gets one file per setting (``OUT-2.mp4``, ...): one MP4 track has
one set of parameters. Files are written to ``*.part`` and renamed when complete (``+faststart``:
the index first, so they stream).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av

from nvr.clock import iso_utc
from nvr.errors import NotFoundError, StorageError
from nvr.storage.catalog import Catalog
from nvr.storage.playback import HOLE_MIN_NS, SegmentTimes, explain

log = logging.getLogger(__name__)

OUT_OPTIONS = {"movflags": "+faststart"}
# A segment is an MP4 whose moov describes its track whole: FFmpeg need not guess the format nor
# read frames to learn it (3 to 6x faster to open, most of a clip's time with short segments).
NO_PROBE = {"probesize": "32", "analyzeduration": "0"}


class NothingRecordedError(NotFoundError):
    code = "nothing_recorded"


@dataclass(frozen=True, slots=True)
class ClipFile:
    path: Path
    start_ns: int  # wall time of its first frame shown
    end_ns: int  # and of the end of its last one
    frames: int  # shown (the ones before the start, decoded for it, not counted)
    size_bytes: int
    codec: str
    width: int
    height: int


@dataclass(slots=True)
class Clip:
    """What ``export_clip`` wrote for one camera, and what it could not."""

    camera_id: str
    start_ns: int
    end_ns: int
    files: list[ClipFile] = field(default_factory=list)
    holes: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, why)
    report: Path | None = None

    @property
    def recorded_ns(self) -> int:
        """The range less its holes: the time the clip shows footage of."""
        return self.end_ns - self.start_ns - sum(end - start for start, end, _ in self.holes)


Progress = Callable[[float], None]  # fraction of the range done, 0..1


def export_clip(
    catalog: Catalog,
    recordings_root: Path,
    camera_id: str,
    start_ns: int,
    end_ns: int,
    out: Path,
    progress: Progress | None = None,
) -> Clip:
    """Copy ``[start_ns, end_ns)`` of a camera into ``out`` (and ``out``-2.mp4, ... after a
    parameter change) with a text report ``out``.txt; ``NothingRecordedError`` when nothing
    playable was recorded in the range."""
    if end_ns <= start_ns:
        raise NothingRecordedError(f"the range ends ({iso_utc(end_ns)}) before it starts")
    clip = Clip(camera_id, start_ns, end_ns)
    writer: _ClipWriter | None = None
    covered = start_ns  # where the clip's footage has got to (wall time)
    skipped: list[str] = []
    try:
        for rec in catalog.recordings(camera_id, start_ns, end_ns):
            try:
                seg = SegmentTimes(rec, recordings_root)
            except (OSError, ValueError) as err:
                why = (
                    "file missing" if isinstance(err, FileNotFoundError) else f"unreadable ({err})"
                )
                skipped.append(f"{rec.file_path}: {why}")
                continue
            first = seg.index_at(max(start_ns, rec.start_ns))
            if first is None:  # the range starts in the part a crash cut off
                continue
            if seg.times_ns[first] >= end_ns:
                break
            if seg.times_ns[first] - covered >= HOLE_MIN_NS or skipped:
                clip.holes.append(
                    (
                        covered,
                        seg.times_ns[first],
                        _why(catalog, camera_id, covered, seg.times_ns[first], skipped),
                    )
                )
                skipped = []
            if writer is None or not writer.takes(seg):
                if writer is not None:
                    clip.files.append(writer.finish())
                writer = _ClipWriter(_part_path(out, len(clip.files)), seg, seg.times_ns[first])
            covered = writer.copy(seg, first, end_ns, progress_of(progress, start_ns, end_ns))
            if seg.cut_short:
                skipped.append(f"{rec.file_path}: cut short by a crash")
        if writer is not None:
            clip.files.append(writer.finish())
            writer = None
    finally:
        if writer is not None:
            writer.abandon()
    if not clip.files:
        raise NothingRecordedError(
            f"nothing playable of camera {camera_id!r} was recorded between"
            f" {iso_utc(start_ns)} and {iso_utc(end_ns)}"
            + (f" ({'; '.join(skipped)})" if skipped else "")
        )
    if end_ns - covered >= HOLE_MIN_NS or skipped:
        clip.holes.append((covered, end_ns, _why(catalog, camera_id, covered, end_ns, skipped)))
    clip.report = _write_report(clip, out)
    if progress is not None:
        progress(1.0)
    return clip


def progress_of(progress: Progress | None, start_ns: int, end_ns: int) -> Callable[[int], None]:
    """Report the fraction of the range that lies before wall time ``at_ns``."""

    def report(at_ns: int) -> None:
        if progress is not None:
            progress(min(1.0, max(0.0, (at_ns - start_ns) / (end_ns - start_ns))))

    return report


class _ClipWriter:
    """One output file: packets of segments with the same codec and size."""

    def __init__(self, path: Path, seg: SegmentTimes, zero_ns: int) -> None:
        self.path = path
        self.part = path.with_name(path.name + ".part")
        self.key = (seg.codec, seg.width, seg.height)
        self.zero_ns = zero_ns  # wall time at clip time 0: the first frame shown
        try:  # before any work: a folder we cannot write to says so at once
            if path.is_dir():
                raise IsADirectoryError(f"{path} is a folder; give a file name ending in .mp4")
            path.parent.mkdir(parents=True, exist_ok=True)
            self.part.touch()
            self.out = av.open(str(self.part), "w", format="mp4", options=OUT_OPTIONS)
            # players show it as the clip's date: the wall time of its first frame, in UTC
            self.out.metadata["creation_time"] = iso_utc(zero_ns)
        except (av.error.FFmpegError, OSError) as err:
            raise StorageError(f"cannot write the clip {path}: {err}") from None
        self.stream: av.video.stream.VideoStream | None = None
        self.last_dts: int | None = None
        self.first_ns: int | None = None
        self.end_ns = zero_ns
        self.frames = 0

    def takes(self, seg: SegmentTimes) -> bool:
        return (seg.codec, seg.width, seg.height) == self.key

    def copy(
        self, seg: SegmentTimes, first: int, end_ns: int, progress: Callable[[int], None]
    ) -> int:
        """Copy sample ``first`` (from the keyframe before it) up to the last frame shown
        before ``end_ns``; returns the wall time where what was copied ends."""
        key = seg.keyframe_before(first)
        start_pts = seg.samples[first].pts
        with av.open(str(seg.path), "r", format="mp4", timeout=10, options=NO_PROBE) as container:
            source = container.streams.video[0]
            if self.stream is None:
                self.stream = self.out.add_stream_from_template(source)
                self.stream.time_base = source.time_base
            shift = None
            container.seek(seg.samples[key].pts, stream=source, backward=True, any_frame=False)
            # Clip time of this segment's media time 0: its wall offset from the clip's start.
            base = (seg.times_ns[first] - self.zero_ns) * seg.timescale // 1_000_000_000 - (
                start_pts - seg.origin
            )
            for packet in container.demux(source):
                if packet.dts is None or packet.pts is None:
                    continue
                if shift is None:  # PyAV's times may be shifted from the file's (edit list)
                    shift = packet.pts - seg.samples[key].pts
                pts = packet.pts - shift
                if pts < seg.samples[key].pts:
                    continue
                wall = seg.wall_ns(pts)
                if wall >= end_ns or wall >= seg.end_ns:
                    break
                dts = packet.dts - shift - seg.origin + base
                if self.last_dts is not None and dts <= self.last_dts:
                    dts = self.last_dts + 1  # segments tile: never step back at a boundary
                packet.pts = max(dts, pts - seg.origin + base)
                packet.dts = dts
                packet.stream = self.stream
                try:
                    self.out.mux(packet)
                except (av.error.FFmpegError, OSError) as err:  # the disk, not the footage
                    raise StorageError(f"cannot write the clip {self.path}: {err}") from None
                self.last_dts = dts
                if pts >= start_pts:
                    self.frames += 1
                    self.first_ns = wall if self.first_ns is None else self.first_ns
                    index = seg.index_at(wall)
                    self.end_ns = min(
                        end_ns,
                        seg.times_ns[index + 1]
                        if index is not None and index + 1 < len(seg.times_ns)
                        else seg.end_ns,
                    )
                    progress(self.end_ns)
        return self.end_ns

    def finish(self) -> ClipFile:
        try:
            self.out.close()
            with open(self.part, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(self.part, self.path)
        except (av.error.FFmpegError, OSError) as err:
            self.abandon()
            raise StorageError(f"cannot write the clip {self.path}: {err}") from err
        width, height = self.key[1], self.key[2]
        return ClipFile(
            self.path,
            self.first_ns if self.first_ns is not None else self.zero_ns,
            self.end_ns,
            self.frames,
            self.path.stat().st_size,
            self.key[0],
            width,
            height,
        )

    def abandon(self) -> None:
        with contextlib.suppress(av.error.FFmpegError, OSError):
            self.out.close()
        with contextlib.suppress(OSError):
            self.part.unlink()


def _part_path(out: Path, done: int) -> Path:
    return out if done == 0 else out.with_name(f"{out.stem}-{done + 1}{out.suffix}")


def _why(catalog: Catalog, camera_id: str, start_ns: int, end_ns: int, skipped: list[str]) -> str:
    return explain(catalog, camera_id, start_ns, end_ns, skipped)


def _write_report(clip: Clip, out: Path) -> Path:
    """``out``.txt: camera, range, files and holes, in words."""
    lines = [
        f"camera: {clip.camera_id}",
        f"range: {iso_utc(clip.start_ns)} to {iso_utc(clip.end_ns)} (UTC)",
        f"recorded: {clip.recorded_ns / 1e9:.3f} s of {(clip.end_ns - clip.start_ns) / 1e9:.3f} s",
        "files:",
    ]
    for f in clip.files:
        lines.append(
            f"  {f.path.name}: {iso_utc(f.start_ns)} to {iso_utc(f.end_ns)}, {f.frames} frames,"
            f" {f.codec} {f.width}x{f.height}, {f.size_bytes} bytes"
        )
    lines.append("gaps:" if clip.holes else "gaps: none")
    for start, end, why in clip.holes:
        lines.append(f"  {iso_utc(start)} to {iso_utc(end)} ({(end - start) / 1e9:.3f} s): {why}")
    lines.append("exported by nvr by stream copy (no re-encoding)")
    report = out.with_suffix(".txt")
    report.write_text("\n".join(lines) + "\n")
    return report
