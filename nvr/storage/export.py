"""Clip export: any time range of a camera as standard MP4 files, by stream copy.

Each file is the layout of ``nvr.storage.streamed_clip`` (the one the web sends at once) written
to disk: it starts exactly at the frame shown at ``start_ns`` (the samples from the keyframe
before it are in the file, hidden by the edit list, so nothing is re-encoded and nothing before
the range is shown), and ends with the last frame shown before ``end_ns``.

Time in the clip is wall time: each segment is placed at its wall-clock start, so a gap in the
recordings is a gap in the clip (a player holds the last picture) and the report beside the clip
names it. A camera whose codec or size changed within the range gets one file per setting
(``OUT-2.mp4``, ...): one MP4 track has one picture size. Files are written to ``*.part``,
flushed to disk and renamed when complete; the index comes first, so they stream.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nvr.clock import iso_utc
from nvr.errors import StorageError
from nvr.storage import streamed_clip
from nvr.storage.catalog import Catalog
from nvr.storage.playback import HOLE_MIN_NS, SegmentTimes, explain
from nvr.storage.streamed_clip import NothingRecordedError, StreamedClip, shown_until

log = logging.getLogger(__name__)

__all__ = ["Clip", "ClipFile", "NothingRecordedError", "export_clip"]


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
    runs: list[list[SegmentTimes]] = []  # segments of one codec and picture size, in order
    covered = start_ns  # where the clip's footage has got to (wall time)
    skipped: list[str] = []
    for rec in catalog.recordings(camera_id, start_ns, end_ns):
        try:
            seg = SegmentTimes(rec, recordings_root)
        except (OSError, ValueError) as err:
            why = "file missing" if isinstance(err, FileNotFoundError) else f"unreadable ({err})"
            skipped.append(f"{rec.file_path}: {why}")
            continue
        first = seg.index_at(max(start_ns, rec.start_ns))
        if first is None:  # the range starts in the part a crash cut off
            continue
        if seg.times_ns[first] >= end_ns:
            break
        if seg.times_ns[first] - covered >= HOLE_MIN_NS or skipped:
            why = _why(catalog, camera_id, covered, seg.times_ns[first], skipped)
            clip.holes.append((covered, seg.times_ns[first], why))
            skipped = []
        if not runs or _setting(runs[-1][0]) != _setting(seg):
            runs.append([])
        runs[-1].append(seg)
        covered = shown_until(seg, first, end_ns)
        if seg.cut_short:
            skipped.append(f"{rec.file_path}: cut short by a crash")
    if not runs:
        raise NothingRecordedError(
            f"nothing playable of camera {camera_id!r} was recorded between"
            f" {iso_utc(start_ns)} and {iso_utc(end_ns)}"
            + (f" ({'; '.join(skipped)})" if skipped else "")
        )
    if end_ns - covered >= HOLE_MIN_NS or skipped:
        clip.holes.append((covered, end_ns, _why(catalog, camera_id, covered, end_ns, skipped)))
    report = progress_of(progress, start_ns, end_ns)
    read = {seg.rec.id: seg for run in runs for seg in run}  # laid out without reading again
    for run in runs:
        recs = [seg.rec for seg in run]
        laid = streamed_clip.plan(
            recs, recordings_root, camera_id, start_ns, end_ns, lambda rec: read[rec.id]
        )
        clip.files.append(_write(laid, _part_path(out, len(clip.files)), report))
    clip.report = _write_report(clip, out)
    if progress is not None:
        progress(1.0)
    return clip


def _setting(seg: SegmentTimes) -> tuple[str, int, int]:
    return seg.codec, seg.width, seg.height


def _write(laid: StreamedClip, path: Path, progress: Callable[[int], None]) -> ClipFile:
    """Write a laid-out clip to ``path`` (through ``.part``, flushed to disk, then renamed)."""
    part = path.with_name(path.name + ".part")
    try:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder; give a file name ending in .mp4")
        path.parent.mkdir(parents=True, exist_ok=True)
        span, written = laid.end_ns - laid.start_ns, 0
        with part.open("wb") as fh:
            for block in laid.read(0, laid.size):
                fh.write(block)
                written += len(block)
                progress(laid.start_ns + span * written // max(1, laid.size))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)
    except OSError as err:  # the disk, or a segment removed meanwhile (retention)
        with contextlib.suppress(OSError):
            part.unlink()
        raise StorageError(f"cannot write the clip {path}: {err}") from None
    return ClipFile(
        path, laid.start_ns, laid.end_ns, laid.frames, laid.size, laid.codec, laid.width,
        laid.height,
    )  # fmt: skip


def progress_of(progress: Progress | None, start_ns: int, end_ns: int) -> Callable[[int], None]:
    """Report the fraction of the range that lies before wall time ``at_ns``."""

    def report(at_ns: int) -> None:
        if progress is not None:
            progress(min(1.0, max(0.0, (at_ns - start_ns) / (end_ns - start_ns))))

    return report


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
