"""Byte-level fragmented-MP4 helpers, free of any media library so they unit-test on bytes.

A segment is ``ftyp moov (moof mdat)*``. A crash can cut the file anywhere; everything up to
the end of the last complete ``moof``+``mdat`` pair is playable, anything after is not.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

HEADER = struct.Struct(">I4s")


def boxes(
    fh: BinaryIO, file_size: int, known: set[bytes] | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """Top-level boxes as (type, offset, size); stops at the first incomplete or broken box
    (with ``known``, also at a box whose type is not in it)."""
    offset = 0
    while offset + HEADER.size <= file_size:
        fh.seek(offset)
        size, kind = HEADER.unpack(fh.read(HEADER.size))
        if known is not None and kind not in known:
            return
        if size == 1:  # 64-bit size follows the header
            raw = fh.read(8)
            if len(raw) < 8:
                return
            size = struct.unpack(">Q", raw)[0]
        elif size == 0:  # box extends to the end of the file: only valid for a finished file
            size = file_size - offset
        if size < HEADER.size or offset + size > file_size:
            return
        yield kind, offset, size
        offset += size


KNOWN_BOXES = {b"ftyp", b"styp", b"moov", b"moof", b"mdat", b"mfra", b"sidx", b"free", b"skip"}


def playable_length(path: Path) -> tuple[int, int]:
    """(bytes that form complete fragments, number of complete fragments) of a segment file.

    A fragment counts only when what follows it is a well-formed box header or the end of
    the file: a hole (bytes a full disk swallowed) misaligns everything after it, so the
    fragment that contains it is not trusted. 0 bytes when the file has no ``moov``.
    """
    size = path.stat().st_size
    end = fragments = 0
    pending: tuple[int, int] | None = None  # (end, count) of a fragment awaiting confirmation
    seen_moov = pending_moof = False
    with path.open("rb") as fh:
        for kind, offset, box_size in boxes(fh, size, known=KNOWN_BOXES):
            if pending is not None:  # a known box header follows: the fragment is whole
                end, fragments = pending
                pending = None
            if kind == b"moov":
                seen_moov, end = True, offset + box_size
            elif kind == b"moof":
                pending_moof = True
            elif kind == b"mdat" and pending_moof and seen_moov:
                pending_moof = False
                pending = (offset + box_size, fragments + 1)
            elif kind == b"mfra" and seen_moov:  # trailing random-access index of a closed file
                end = offset + box_size
        if pending is not None and pending[0] == size:  # the last fragment ends the file
            end, fragments = pending
        elif pending is not None and _header_at(fh, pending[0], size):
            end, fragments = pending  # followed by the start of a box cut short by the crash
    return (end if seen_moov else 0), fragments


def _header_at(fh: BinaryIO, offset: int, file_size: int) -> bool:
    """Whether a known box header starts at ``offset`` (the box itself may be incomplete)."""
    if offset + HEADER.size > file_size:
        return False
    fh.seek(offset)
    size, kind = HEADER.unpack(fh.read(HEADER.size))
    return kind in KNOWN_BOXES and size >= HEADER.size


def cut_to_playable(path: Path) -> tuple[int, int, int]:
    """Truncate a segment after its last complete fragment and fsync it.

    Returns (size before, size after, complete fragments).
    """
    before = path.stat().st_size
    after, fragments = playable_length(path)
    if after < before:
        with path.open("r+b") as fh:
            fh.truncate(after)
            fh.flush()
            os.fsync(fh.fileno())
    return before, after, fragments


# -- what a segment holds, read from its boxes (recovery: no demuxing, no video data read) ----

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"udta", b"moof", b"traf"}
_CODECS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc"}
_U32 = struct.Struct(">I")
MAX_SEGMENT_S = 86_400  # no segment is longer: larger spans are corrupt times
_U64 = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """The first video track of a segment, as its ``moov`` and complete fragments describe it."""

    codec: str  # "h264", "hevc", or the sample entry's four letters
    width: int
    height: int
    timescale: int  # ticks per second of the times below
    first_dts: int  # decode time of the first sample
    end_dts: int  # decode time just after the last sample of the last fragment read
    fragments: int
    comment: str | None  # the ``©cmt`` metadata item, where the recorder writes its tag
    description: bytes = b""  # the track's ``stsd`` payload: the codec's parameters

    @property
    def duration_90k(self) -> int:
        return (self.end_dts - self.first_dts) * 90000 // self.timescale


def _children(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """Boxes in ``data[start:end]`` as (type, payload start, box end); raises on a broken one."""
    offset = start
    while offset + HEADER.size <= end:
        size, kind = HEADER.unpack_from(data, offset)
        payload = offset + HEADER.size
        if size == 1:
            size, payload = _U64.unpack_from(data, payload)[0], payload + 8
        elif size == 0:
            size = end - offset
        if size < payload - offset or offset + size > end:
            raise ValueError(f"broken {kind!r} box at {offset}")
        yield kind, payload, offset + size
        offset += size


def _find(data: bytes, start: int, end: int, path: tuple[bytes, ...]) -> tuple[int, int] | None:
    """(payload start, end) of the first box along ``path`` below ``data[start:end]``."""
    for kind, payload, box_end in _children(data, start, end):
        if kind == path[0]:
            return (payload, box_end) if len(path) == 1 else _find(data, payload, box_end, path[1:])
    return None


def _comment(moov: bytes) -> str | None:
    """The ``udta/meta/ilst/©cmt/data`` text (``meta`` with or without its version field)."""
    meta = _find(moov, 0, len(moov), (b"udta", b"meta"))
    if meta is None:
        return None
    start, end = meta
    if moov[start + 4 : start + 8] != b"hdlr":  # a full box: version and flags come first
        start += 4
    data = _find(moov, start, end, (b"ilst", b"\xa9cmt", b"data"))
    if data is None:
        return None
    return moov[data[0] + 8 : data[1]].decode("utf-8", errors="replace")  # after type, locale


def _track(moov: bytes) -> tuple[str, int, int, int, int]:
    """(codec, width, height, timescale, default sample duration) of the first track."""
    trak = _find(moov, 0, len(moov), (b"trak",))
    mdhd = trak and _find(moov, *trak, (b"mdia", b"mdhd"))
    stsd = trak and _find(moov, *trak, (b"mdia", b"minf", b"stbl", b"stsd"))
    tkhd = trak and _find(moov, *trak, (b"tkhd",))
    if not (trak and mdhd and stsd and tkhd):
        raise ValueError("moov has no complete video track")
    timescale = _U32.unpack_from(moov, mdhd[0] + (20 if moov[mdhd[0]] == 1 else 12))[0]
    entry = moov[stsd[0] + 12 : stsd[0] + 16]
    width, height = (v >> 16 for v in struct.unpack_from(">II", moov, tkhd[1] - 8))
    trex = _find(moov, 0, len(moov), (b"mvex", b"trex"))
    default = _U32.unpack_from(moov, trex[0] + 12)[0] if trex else 0
    if timescale == 0:
        raise ValueError("track timescale is 0")
    return _CODECS.get(entry, entry.decode("ascii", "replace")), width, height, timescale, default


def _fragment_times(moof: bytes, default_duration: int) -> tuple[int | None, int, int]:
    """(base decode time or None without ``tfdt``, summed sample durations, samples) of a
    fragment."""
    traf = _find(moof, 0, len(moof), (b"traf",))
    if traf is None:
        raise ValueError("moof without traf")
    base: int | None = None
    total = count_all = 0
    for kind, p, _end in _children(moof, *traf):
        if kind == b"tfhd":
            flags = _U32.unpack_from(moof, p)[0] & 0xFFFFFF
            at = p + 8 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
            if flags & 0x08:
                default_duration = _U32.unpack_from(moof, at)[0]
        elif kind == b"tfdt":
            base = (_U64 if moof[p] == 1 else _U32).unpack_from(moof, p + 4)[0]
        elif kind == b"trun":
            flags = _U32.unpack_from(moof, p)[0] & 0xFFFFFF
            count = _U32.unpack_from(moof, p + 4)[0]
            count_all += count
            at = p + 8 + (4 if flags & 0x01 else 0) + (4 if flags & 0x04 else 0)
            if not flags & 0x100:
                total += count * default_duration
                continue
            stride = 4 * bin(flags & 0xF00).count("1")
            total += sum(_U32.unpack_from(moof, at + i * stride)[0] for i in range(count))
    return base, total, count_all


def segment_info(path: Path, length: int | None = None) -> SegmentInfo:
    """Read a segment's track and the times of its complete fragments from its boxes alone, up
    to ``length`` bytes (``playable_length``; the whole file if None). A few small reads per
    fragment: the video data is skipped. Raises ``ValueError`` for a file it cannot read (and
    ``OSError`` for one it cannot open)."""
    try:
        return _segment_info(path, path.stat().st_size if length is None else length)
    except (struct.error, IndexError) as err:  # a box shorter than its fields
        raise ValueError(f"truncated box ({err})") from err


def _movie_boxes(path: Path, size: int) -> Iterator[tuple[bytes, int, int, bytes]]:
    """(type, offset, size, payload) of each top-level box in the first ``size`` bytes; the
    payload is read for ``moov`` and ``moof`` boxes only (empty for the others)."""
    with path.open("rb") as fh:
        for kind, offset, box_size in boxes(fh, size, known=KNOWN_BOXES):
            body = b""
            if kind in (b"moov", b"moof"):
                fh.seek(offset)
                raw = fh.read(box_size)
                body = raw[HEADER.size + (8 if _U32.unpack_from(raw)[0] == 1 else 0) :]
            yield kind, offset, box_size, body


def _segment_info(path: Path, size: int) -> SegmentInfo:
    return _info_of(_movie_boxes(path, size))


def _info_of(movie: Iterable[tuple[bytes, int, int, bytes]]) -> SegmentInfo:
    """A segment's track and fragment times from its top-level boxes (``_movie_boxes``)."""
    track: tuple[str, int, int, int, int] | None = None
    comment: str | None = None
    description = b""
    first: int | None = None
    end = fragments = 0
    for kind, _, _, body in movie:
        if kind == b"moov":
            track, comment = _track(body), _comment(body)
            found = _find(body, 0, len(body), (b"trak", b"mdia", b"minf", b"stbl", b"stsd"))
            description = body[found[0] : found[1]] if found else b""
        elif kind == b"moof" and track is not None:
            base, duration, _ = _fragment_times(body, track[4])
            if base is not None and fragments and base < end:
                raise ValueError(f"fragment {fragments + 1} starts at {base}, before {end}")
            start = end if base is None else base
            first = start if first is None else first
            end, fragments = start + duration, fragments + 1
    if track is None:
        raise ValueError("no moov box")
    if first is not None and not 0 <= end - first <= MAX_SEGMENT_S * track[3]:
        raise ValueError(f"fragment times run from {first} to {end}: not a segment's span")
    codec, width, height, timescale, _ = track
    return SegmentInfo(
        codec, width, height, timescale, first or 0, end, fragments, comment, description
    )


# -- the sample table of a segment (playback: where each frame is, without demuxing) ----------


@dataclass(frozen=True, slots=True)
class Sample:
    """One video sample (frame) of a segment, in the track's timescale."""

    pts: int  # presentation time: decode time plus composition offset
    dts: int
    duration: int
    keyframe: bool
    offset: int  # where its data lies in the file
    size: int


def samples(path: Path, length: int | None = None) -> tuple[SegmentInfo, list[Sample]]:
    """The track and every sample of the complete fragments up to ``length`` bytes
    (``playable_length``), in decode order, from the ``moof`` boxes alone. Raises like
    ``segment_info``."""
    size = path.stat().st_size if length is None else length
    try:
        return _samples(path, size)
    except (struct.error, IndexError) as err:
        raise ValueError(f"truncated box ({err})") from err


_NON_SYNC = 0x10000  # sample_is_non_sync_sample in the sample flags


def _samples(path: Path, size: int) -> tuple[SegmentInfo, list[Sample]]:
    movie = list(_movie_boxes(path, size))  # one walk of the file for the track and the samples
    info = _info_of(movie)
    out: list[Sample] = []
    moov: bytes | None = None
    end = 0
    for kind, offset, _, body in movie:
        if kind == b"moov":
            moov = body
        elif kind == b"moof" and moov is not None:
            end = _fragment_samples(body, offset, _trex_defaults(moov), end, out)
    return info, out


def _trex_defaults(moov: bytes) -> tuple[int, int, int]:
    """(default sample duration, size, flags) of the movie's ``trex``."""
    trex = _find(moov, 0, len(moov), (b"mvex", b"trex"))
    if trex is None:
        return 0, 0, 0
    return struct.unpack_from(">III", moov, trex[0] + 12)


def _fragment_samples(
    moof: bytes, moof_offset: int, defaults: tuple[int, int, int], end: int, out: list[Sample]
) -> int:
    """Append a fragment's samples to ``out`` (the ``moof`` box starts at ``moof_offset`` in
    the file); returns the decode time after its last one."""
    traf = _find(moof, 0, len(moof), (b"traf",))
    if traf is None:
        raise ValueError("moof without traf")
    duration, size_default, flags_default = defaults
    dts = end
    data = base = moof_offset  # where the next run's data lies: the moof's start by default
    for kind, p, _end in _children(moof, *traf):
        if kind == b"tfhd":
            flags = _U32.unpack_from(moof, p)[0] & 0xFFFFFF
            at = p + 8
            if flags & 0x01:
                base, at = _U64.unpack_from(moof, at)[0], at + 8
                data = base
            at += 4 if flags & 0x02 else 0
            if flags & 0x08:
                duration, at = _U32.unpack_from(moof, at)[0], at + 4
            if flags & 0x10:
                size_default, at = _U32.unpack_from(moof, at)[0], at + 4
            if flags & 0x20:
                flags_default = _U32.unpack_from(moof, at)[0]
        elif kind == b"tfdt":
            dts = (_U64 if moof[p] == 1 else _U32).unpack_from(moof, p + 4)[0]
        elif kind == b"trun":
            version = moof[p]
            flags = _U32.unpack_from(moof, p)[0] & 0xFFFFFF
            count = _U32.unpack_from(moof, p + 4)[0]
            at = p + 8
            if flags & 0x01:
                data, at = base + struct.unpack_from(">i", moof, at)[0], at + 4
            first_flags = None
            if flags & 0x04:
                first_flags, at = _U32.unpack_from(moof, at)[0], at + 4
            for i in range(count):
                step, sample_flags, offset, length = duration, flags_default, 0, size_default
                if flags & 0x100:
                    step, at = _U32.unpack_from(moof, at)[0], at + 4
                if flags & 0x200:
                    length, at = _U32.unpack_from(moof, at)[0], at + 4
                if flags & 0x400:
                    sample_flags, at = _U32.unpack_from(moof, at)[0], at + 4
                if i == 0 and first_flags is not None:
                    sample_flags = first_flags
                if flags & 0x800:
                    offset = struct.unpack_from(">i" if version else ">I", moof, at)[0]
                    at += 4
                keyframe = not sample_flags & _NON_SYNC
                out.append(Sample(dts + offset, dts, step, keyframe, data, length))
                dts, data = dts + step, data + length
    return dts


# -- where each fragment lies (the web server's HLS byte ranges) --------------------------------


@dataclass(frozen=True, slots=True)
class Fragment:
    """One ``moof``+``mdat`` pair: its bytes and its decode times, in the track's timescale."""

    offset: int
    size: int
    dts: int
    duration: int
    samples: int


@dataclass(frozen=True, slots=True)
class FragmentIndex:
    """A segment's init bytes (everything before the first ``moof``) and complete fragments."""

    init_size: int
    timescale: int
    fragments: tuple[Fragment, ...]


def fragment_index(path: Path, length: int | None = None) -> FragmentIndex:
    """The byte range and times of every complete fragment up to ``length`` bytes
    (``playable_length``), read from the ``moof`` boxes alone. Raises like ``segment_info``."""
    size = path.stat().st_size if length is None else length
    try:
        return _fragment_index(path, size)
    except (struct.error, IndexError) as err:
        raise ValueError(f"truncated box ({err})") from err


def _fragment_index(path: Path, size: int) -> FragmentIndex:
    track: tuple[str, int, int, int, int] | None = None
    init_size = 0
    out: list[Fragment] = []
    moof: tuple[int, bytes] | None = None  # (offset, payload) awaiting its mdat
    end = 0
    for kind, offset, box_size, body in _movie_boxes(path, size):
        if kind == b"moov":
            track, init_size = _track(body), offset + box_size
        elif kind == b"moof" and track is not None:
            moof = (offset, body)
        elif kind == b"mdat" and moof is not None and track is not None:
            base, duration, count = _fragment_times(moof[1], track[4])
            dts = end if base is None else base
            out.append(Fragment(moof[0], offset + box_size - moof[0], dts, duration, count))
            end, moof = dts + duration, None
    if track is None:
        raise ValueError("no moov box")
    return FragmentIndex(init_size, track[3], tuple(out))
