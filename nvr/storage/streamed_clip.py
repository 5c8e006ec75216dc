"""A clip as one MP4 laid out over the segment files: sent at once by the web, written to a
file by ``export.py``; never decoded nor remuxed.

The clip's index (``moov``: every sample's time, size and place) is computed from the segments'
fragment tables alone, and its media data (``mdat``) is the segments' own sample bytes, read
where they lie when the bytes are asked for (the way Moonfire NVR serves ``.mp4`` views).
Nothing is decoded, copied ahead or stored, and any byte range can be served, so a download
resumes.

It starts with the frame shown at ``start_ns`` (samples from the keyframe before it, hidden by
the edit list), ends with the last frame shown before ``end_ns``, and places each segment at its
wall-clock start, so a gap between recordings is a longer last frame before it. The index is a
plain (not fragmented) ``moov`` before the data: players honour its edit list, which
FFmpeg-based ones do not in a fragmented file.

One MP4 track has one picture size: a range over a change of codec or size is refused with
``SplitClipError`` (the export lays out one file per size). Different codec parameters of the
same size (a camera restarted) are separate sample descriptions of the track.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nvr.clock import iso_utc
from nvr.errors import NotFoundError, NvrError
from nvr.storage.catalog import Recording
from nvr.storage.fmp4 import Sample
from nvr.storage.playback import SegmentTimes

_MP4_EPOCH_S = 2_082_844_800  # seconds from 1904-01-01 (MP4 times) to 1970-01-01
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_READ = 1 << 20  # bytes read from a segment file at a time


class NothingRecordedError(NotFoundError):
    code = "nothing_recorded"


class SplitClipError(NvrError):
    """The range holds more than one picture size or codec: it needs one file per setting."""

    code = "clip_split"


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of the clip's bytes: ``data`` itself, or ``size`` bytes of ``path`` at ``offset``."""

    size: int
    data: bytes = b""
    path: Path | None = None
    offset: int = 0


@dataclass(slots=True)
class StreamedClip:
    """A clip's bytes as pieces, with what the clip shows."""

    camera_id: str
    start_ns: int  # wall time of its first frame shown
    end_ns: int  # and of the end of its last one
    frames: int  # shown
    codec: str
    width: int
    height: int
    etag: str  # changes whenever a byte of the clip would
    pieces: list[Piece] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # byte offset of each piece

    @property
    def size(self) -> int:
        return self.starts[-1] + self.pieces[-1].size if self.pieces else 0

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """The clip's bytes ``[start, end)``, in blocks of at most ``_READ`` bytes. Raises
        ``OSError`` when a segment file went away or shrank meanwhile."""
        for begin, piece in zip(self.starts, self.pieces, strict=True):
            lo, hi = max(start, begin), min(end, begin + piece.size)
            if lo >= hi:
                continue
            if piece.path is None:
                yield piece.data[lo - begin : hi - begin]
                continue
            with piece.path.open("rb") as fh:
                fh.seek(piece.offset + lo - begin)
                while lo < hi:
                    block = fh.read(min(_READ, hi - lo))
                    if not block:
                        raise OSError(f"{piece.path} is shorter than when the clip was laid out")
                    lo += len(block)
                    yield block


@dataclass(slots=True)
class _Chunk:
    """Samples that follow each other in one segment file, with one sample description."""

    path: Path
    offset: int
    size: int  # bytes
    samples: int
    description: int  # 1-based, in ``_Track.descriptions``


@dataclass(slots=True)
class _Track:
    """The samples chosen so far, in decode order, with their clip times (track ticks)."""

    timescale: int
    key: tuple[str, int, int]  # codec, width, height
    dts: list[int] = field(default_factory=list)
    pts: list[int] = field(default_factory=list)
    last_duration: int = 0
    keyframes: list[int] = field(default_factory=list)  # 1-based sample numbers
    sizes: list[int] = field(default_factory=list)
    chunks: list[_Chunk] = field(default_factory=list)
    descriptions: list[bytes] = field(default_factory=list)
    media_time: int = 0  # clip time of the first frame shown (0 ticks: its wall time)
    end: int = 0  # clip time where the last frame shown ends
    frames: int = 0


def plan(
    recordings: Iterable[Recording],
    root: Path,
    camera_id: str,
    start_ns: int,
    end_ns: int,
    times_of: Callable[[Recording], SegmentTimes] | None = None,
    states: Mapping[str, tuple[int, int]] | None = None,
) -> StreamedClip:
    """Lay out ``[start_ns, end_ns)`` of a camera from its ``recordings`` that overlap the
    range (the catalog's rows, in any order); ``NothingRecordedError`` when nothing
    playable was recorded then, ``SplitClipError`` over a change of picture size or codec.
    ``times_of`` reads a segment's sample table (a caller may cache them); ``states`` gives
    each file's (size, modification time) for the ETag, when the caller has them already."""
    read_times = times_of or (lambda rec: SegmentTimes(rec, root))
    track: _Track | None = None
    zero_ns = first_ns = last_end_ns = 0
    signature = hashlib.sha256(f"{camera_id} {start_ns} {end_ns} v1".encode())
    for rec in sorted(recordings, key=lambda r: r.start_ns):
        try:
            seg = read_times(rec)
        except (OSError, ValueError):
            continue  # missing or unreadable: a gap, as in the export
        first = seg.index_at(max(start_ns, rec.start_ns))
        if first is None:
            continue
        if seg.times_ns[first] >= end_ns:
            break
        key = (seg.codec, seg.width, seg.height)
        if track is None:
            track = _Track(seg.timescale, key)
            zero_ns = first_ns = seg.times_ns[first]
        elif key != track.key:
            raise SplitClipError(
                f"the camera's picture changed from {_setting(track.key)} to {_setting(key)}"
                f" at {iso_utc(seg.times_ns[first])}: this range makes more than one file;"
                " make it as a clip job instead"
            )
        if states is not None and rec.file_path in states:
            size, mtime_ns = states[rec.file_path]
        else:
            stat = seg.path.stat()
            size, mtime_ns = stat.st_size, stat.st_mtime_ns
        signature.update(f"{rec.file_path} {size} {mtime_ns}".encode())
        last_end_ns = _add(track, seg, first, end_ns, zero_ns)
    if track is None or not track.dts:
        raise NothingRecordedError(
            f"nothing playable of camera {camera_id!r} was recorded between"
            f" {iso_utc(start_ns)} and {iso_utc(end_ns)}"
        )
    head = _header(track, zero_ns)
    clip = StreamedClip(
        camera_id, first_ns, last_end_ns, track.frames, *track.key, signature.hexdigest()[:32]
    )
    clip.pieces.append(Piece(len(head), head))
    clip.pieces += [Piece(c.size, path=c.path, offset=c.offset) for c in track.chunks]
    at = 0
    for piece in clip.pieces:
        clip.starts.append(at)
        at += piece.size
    return clip


def _setting(key: tuple[str, int, int]) -> str:
    return f"{key[0]} {key[1]}x{key[2]}"


def _last_shown(seg: SegmentTimes, first: int, end_ns: int) -> int:
    """The last frame of the segment shown before ``end_ns`` (presentation index)."""
    shown_end = min(end_ns, seg.end_ns)
    last = first
    while last + 1 < len(seg.samples) and seg.times_ns[last + 1] < shown_end:
        last += 1
    return last


def shown_until(seg: SegmentTimes, first: int, end_ns: int) -> int:
    """The wall time where a segment's part in a clip ends: from its frame ``first`` to the
    last shown before ``end_ns``."""
    last = _last_shown(seg, first, end_ns)
    wall_end = seg.times_ns[last + 1] if last + 1 < len(seg.times_ns) else seg.end_ns
    return min(wall_end, end_ns)


def _choose(seg: SegmentTimes, first: int, end_ns: int) -> tuple[int, list[Sample]]:
    """The last frame shown before ``end_ns`` (presentation index), and the samples to send in
    decode order: from the keyframe before ``first`` to that frame, and any frame decoded
    between them (reordered frames)."""
    last = _last_shown(seg, first, end_ns)
    chosen = seg.samples[seg.keyframe_before(first) : last + 1]  # in presentation order
    start_dts, stop_dts = min(s.dts for s in chosen), max(s.dts for s in chosen)
    decoded = sorted(
        (s for s in seg.samples if start_dts <= s.dts <= stop_dts), key=lambda s: s.dts
    )
    return last, decoded


def _add(track: _Track, seg: SegmentTimes, first: int, end_ns: int, zero_ns: int) -> int:
    """Add a segment's samples (``_choose``) timed on the clip's clock: each at its wall
    offset from the clip's start; returns the wall time where what was added ends."""
    last, decoded = _choose(seg, first, end_ns)
    scale = track.timescale

    def ticks(media: int) -> int:  # the segment's media time in the clip's ticks
        return media * scale // seg.timescale

    # clip time of this segment's frame ``first``: its wall offset from the clip's start
    base = (seg.times_ns[first] - zero_ns) * scale // 1_000_000_000 - ticks(
        seg.samples[first].pts - seg.origin
    )
    description = _description_number(track, seg.description)
    if not track.dts:  # the clip's first segment: the edit starts at its frame ``first``
        track.media_time = ticks(seg.samples[first].pts - seg.origin) + base
    for sample in decoded:
        dts = ticks(sample.dts - seg.origin) + base
        if track.dts and dts <= track.dts[-1]:
            dts = track.dts[-1] + 1  # segments tile: never step back at a boundary
        track.dts.append(dts)
        track.pts.append(max(dts, ticks(sample.pts - seg.origin) + base))
        track.sizes.append(sample.size)
        if sample.keyframe:
            track.keyframes.append(len(track.dts))
        _place(track, seg.path, sample, description)
    track.last_duration = ticks(decoded[-1].duration)
    shown = seg.samples[first : last + 1]
    track.frames += len(shown)
    natural = (
        ticks(seg.samples[last + 1].pts - seg.samples[last].pts)
        if last + 1 < len(seg.samples)
        else ticks(seg.samples[last].duration)
    )
    last_pts = ticks(seg.samples[last].pts - seg.origin) + base
    limit = (end_ns - seg.times_ns[last]) * scale // 1_000_000_000
    track.end = last_pts + max(1, min(natural, limit))
    return shown_until(seg, first, end_ns)


def _description_number(track: _Track, payload: bytes) -> int:
    """The 1-based sample description of a segment's codec parameters (its ``stsd`` payload),
    one per distinct set."""
    if not payload:
        raise ValueError("the segment has no sample description")
    entries = payload[8:]  # after version, flags and the entry count
    if entries not in track.descriptions:
        track.descriptions.append(entries)
    return track.descriptions.index(entries) + 1


def _place(track: _Track, path: Path, sample: Sample, description: int) -> None:
    """Add a sample's bytes to the last chunk when they follow it in the same file."""
    last = track.chunks[-1] if track.chunks else None
    if (
        last is not None
        and last.path == path
        and last.offset + last.size == sample.offset
        and last.description == description
    ):
        last.size += sample.size
        last.samples += 1
        return
    track.chunks.append(_Chunk(path, sample.offset, sample.size, 1, description))


# -- the boxes -------------------------------------------------------------------------------


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags), *parts)


def _header(track: _Track, zero_ns: int) -> bytes:
    """``ftyp``, ``moov`` and the ``mdat`` header: every byte before the samples."""
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    data = sum(c.size for c in track.chunks)
    large = data + 8 > 0xFFFFFFFF
    mdat = (
        struct.pack(">I4sQ", 1, b"mdat", data + 16)
        if large
        else struct.pack(">I4s", data + 8, b"mdat")
    )
    moov = _moov(track, zero_ns, [0] * len(track.chunks))  # offsets do not change its size
    at = len(ftyp) + len(moov) + len(mdat)
    offsets = []
    for chunk in track.chunks:
        offsets.append(at)
        at += chunk.size
    return ftyp + _moov(track, zero_ns, offsets) + mdat


def _moov(track: _Track, zero_ns: int, offsets: list[int]) -> bytes:
    scale = track.timescale
    durations = [b - a for a, b in zip(track.dts, track.dts[1:], strict=False)]
    durations.append(max(1, track.last_duration))
    media_duration = track.dts[-1] - track.dts[0] + durations[-1]
    shown = max(1, track.end - track.media_time)  # the edit: from the first frame shown
    skipped = track.media_time - track.dts[0]  # the frames before it, decoded but not shown
    when = zero_ns // 1_000_000_000 + _MP4_EPOCH_S
    version = 1 if max(when, media_duration, shown) > 0xFFFFFFFF else 0
    times = ">QQIQ" if version else ">IIII"
    mvhd = _full(
        b"mvhd", version, 0, struct.pack(times, when, when, scale, shown),
        struct.pack(">IH10x", 0x10000, 0x100), _MATRIX, bytes(24), struct.pack(">I", 2),
    )  # fmt: skip
    _, width, height = track.key
    tkhd_times = ">QQI4xQ" if version else ">III4xI"
    tkhd = _full(
        b"tkhd", version, 3, struct.pack(tkhd_times, when, when, 1, shown), bytes(8),
        struct.pack(">hhH2x", 0, 0, 0), _MATRIX, struct.pack(">II", width << 16, height << 16),
    )  # fmt: skip
    edit = (
        struct.pack(">QqI", shown, skipped, 0x10000)
        if version
        else struct.pack(">IiI", shown, skipped, 0x10000)
    )
    edts = _box(b"edts", _full(b"elst", version, 0, struct.pack(">I", 1), edit))
    mdhd = _full(
        b"mdhd", version, 0, struct.pack(times, when, when, scale, media_duration),
        struct.pack(">HH", 0x55C4, 0),  # language "und"
    )  # fmt: skip
    hdlr = _full(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"VideoHandler\0")
    dinf = _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1), _full(b"url ", 0, 1)))
    vmhd = _full(b"vmhd", 0, 1, bytes(8))
    stbl = _box(b"stbl", *_sample_tables(track, durations, offsets))
    minf = _box(b"minf", vmhd, dinf, stbl)
    trak = _box(b"trak", tkhd, edts, _box(b"mdia", mdhd, hdlr, minf))
    return _box(b"moov", mvhd, trak)


def _sample_tables(track: _Track, durations: list[int], offsets: list[int]) -> list[bytes]:
    n = len(track.dts)
    stsd = _full(b"stsd", 0, 0, struct.pack(">I", len(track.descriptions)), *track.descriptions)
    out = [stsd, _full(b"stts", 0, 0, *_runs(durations))]
    shifts = [p - d for p, d in zip(track.pts, track.dts, strict=True)]
    if any(shifts):
        out.append(_full(b"ctts", 0, 0, *_runs(shifts)))
    if len(track.keyframes) < n:
        keys = struct.pack(f">{len(track.keyframes)}I", *track.keyframes)
        out.append(_full(b"stss", 0, 0, struct.pack(">I", len(track.keyframes)), keys))
    stsc: list[tuple[int, int, int]] = []
    for number, chunk in enumerate(track.chunks, 1):
        if not stsc or stsc[-1][1:] != (chunk.samples, chunk.description):
            stsc.append((number, chunk.samples, chunk.description))
    out.append(
        _full(
            b"stsc",
            0,
            0,
            struct.pack(">I", len(stsc)),
            b"".join(struct.pack(">III", *entry) for entry in stsc),
        )  # fmt: skip
    )
    out.append(_full(b"stsz", 0, 0, struct.pack(">II", 0, n), struct.pack(f">{n}I", *track.sizes)))
    out.append(
        _full(
            b"co64",
            0,
            0,
            struct.pack(">I", len(offsets)),
            struct.pack(f">{len(offsets)}Q", *offsets),
        )
    )
    return out


def _runs(values: list[int]) -> tuple[bytes, bytes]:
    """A run-length table (``stts``, ``ctts``): its entry count, then (count, value) pairs."""
    pairs: list[list[int]] = []
    for value in values:
        if pairs and pairs[-1][1] == value:
            pairs[-1][0] += 1
        else:
            pairs.append([1, value])
    flat = [v for pair in pairs for v in pair]
    return struct.pack(">I", len(pairs)), struct.pack(f">{len(flat)}I", *flat)
