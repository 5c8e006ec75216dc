"""HLS playlists over the segment files as they lie on disk: no copy, no transcoding.

Each recording is one discontinuity of the playlist: its init bytes (``ftyp``+``moov``) are the
``EXT-X-MAP``, and runs of its fragments (a fragment is a GOP) are media segments given as byte
ranges of the same file. hls.js (and iOS natively) fetch exactly those ranges. Recordings are
played back to back: a gap between two is skipped, and the page's time map (``time_map``) says
which wall-clock instant each point of the player's timeline shows.

Wall time inside a recording follows the catalog's rule (``docs/playback.md``): media time is
mapped linearly onto the row's wall span, so the figures here agree with ``GET /api/frame``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from nvr.storage.catalog import Recording
from nvr.storage.fmp4 import FragmentIndex

CHUNK_S = 4.0  # fragments are grouped into media segments of about this length


@dataclass(frozen=True, slots=True)
class Chunk:
    """One media segment: consecutive whole fragments of one recording."""

    offset: int
    size: int
    duration_s: float  # media time, exact (the fragments' sample durations)
    frames: int
    start_ns: int  # wall time of its first frame
    end_ns: int  # wall time just after its last frame


@dataclass(frozen=True, slots=True)
class Part:
    """One recording in a playlist: its file's init bytes and its chunks."""

    recording: Recording
    init_size: int
    codec: str | None
    chunks: tuple[Chunk, ...]


def plan(
    recordings: Iterable[Recording],
    index_of: Callable[[Recording], FragmentIndex | None],
    chunk_s: float = CHUNK_S,
) -> list[Part]:
    """The parts of a playlist, in time order; a recording whose file cannot be read (None from
    ``index_of``) or holds no complete fragment is left out (the timeline shows it as a gap)."""
    parts = []
    for rec in sorted(recordings, key=lambda r: r.start_ns):
        index = index_of(rec)
        if index is None or not index.fragments:
            continue
        chunks = _chunks(rec, index, chunk_s)
        if chunks:
            parts.append(Part(rec, index.init_size, rec.video_codec, chunks))
    return parts


def _chunks(rec: Recording, index: FragmentIndex, chunk_s: float) -> tuple[Chunk, ...]:
    frags = index.fragments
    origin, scale = frags[0].dts, index.timescale

    def wall(dts: int) -> int:
        media_90k = (dts - origin) * 90000 // scale
        return rec.start_ns + media_90k * (rec.end_ns - rec.start_ns) // max(1, rec.duration_90k)

    out: list[Chunk] = []
    first = 0
    while first < len(frags):
        last, ticks, frames = first, frags[first].duration, frags[first].samples
        while last + 1 < len(frags) and ticks < chunk_s * scale:
            last += 1
            ticks += frags[last].duration
            frames += frags[last].samples
        start, end = frags[first], frags[last]
        if ticks > 0:
            out.append(
                Chunk(
                    start.offset,
                    end.offset + end.size - start.offset,
                    ticks / scale,
                    frames,
                    wall(start.dts),
                    min(rec.end_ns, wall(end.dts + end.duration)),
                )
            )
        first = last + 1
    return tuple(out)


def playlist(parts: list[Part], uri: Callable[[Recording], str]) -> str:
    """The VOD playlist (HLS version 7: fMP4, ``EXT-X-MAP`` with a byte range)."""
    longest = max((c.duration_s for p in parts for c in p.chunks), default=1.0)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(longest))}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for n, part in enumerate(parts):
        name = uri(part.recording)
        if n:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f'#EXT-X-MAP:URI="{name}",BYTERANGE="{part.init_size}@0"')
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_iso_ms(part.chunks[0].start_ns)}")
        for chunk in part.chunks:
            lines.append(f"#EXTINF:{chunk.duration_s:.6f},")
            lines.append(f"#EXT-X-BYTERANGE:{chunk.size}@{chunk.offset}")
            lines.append(name)
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def time_map(parts: list[Part]) -> list[dict[str, object]]:
    """Per chunk, where it starts on the player's timeline (``t``, seconds, the sum of the
    durations before it, as hls.js places it), how long it plays (``d``), and the wall span it
    shows (``start_ns``, ``end_ns``); with its frames, its recording's id, type and codec."""
    out: list[dict[str, object]] = []
    t = 0.0
    for part in parts:
        for chunk in part.chunks:
            out.append(
                {
                    "t": round(t, 6),
                    "d": round(chunk.duration_s, 6),
                    "start_ns": chunk.start_ns,
                    "end_ns": chunk.end_ns,
                    "frames": chunk.frames,
                    "recording_id": part.recording.id,
                    "type": part.recording.recording_type,
                    "codec": part.codec,
                }
            )
            t += chunk.duration_s
    return out


def _iso_ms(ns: int) -> str:
    when = datetime.fromtimestamp(ns / 1e9, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
