"""Remux (stream copy) the main stream into keyframe-aligned fragmented MP4 segments.

Write order of a segment (see ``docs/recording.md``): packets are muxed into
``<camera>/<UTC date>/<camera>-<UTC time>.mp4`` as one fragment per GOP; on close the file is
flushed and fsynced, and only then is ``SegmentClosed`` sent for the supervisor to catalog.
A crash therefore loses at most the fragment being written.

The recorder always keeps the last whole GOPs covering ``pre_roll_s`` in memory, so a recording
that starts (motion, manual, panic) begins with the seconds before its trigger.

A discontinuity (broken timestamps, new codec parameters) ends the segment and empties that
buffer: a segment never mixes two media clocks, and its init (``moov``) always describes its
samples -- after a resolution switch the next segment is written with the new parameter sets.

Each packet is muxed once the next one is known, with its duration set to the step to the next
dts: sample durations always agree with the dts (a camera's own durations may not), so every
fragment starts where the previous one ends and a segment ends where the next one starts.

A segment's row is dated in wall time, its ``duration_90k`` in media time (what the file holds;
they differ for a camera whose clock runs fast or slow). A rotated segment starts exactly where
the previous one ended. Otherwise it starts its media duration before its end when the capture
clock kept one era throughout (the best estimate: the start-up burst is settled by then), else
at its first packet's capture time.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from nvr.clock import SYSTEM_CLOCK, Clock
from nvr.protocol.worker import SegmentClosed, SegmentOpened, WriteFailed
from nvr.storage.durable import fsync_dir
from nvr.storage.fmp4 import playable_length
from nvr.storage.recovery import TAG_KEY, segment_tag
from nvr.storage.thumbnails import segment_thumbnail
from nvr.worker.params import StreamParams
from nvr.worker.source import TimedPacket

log = logging.getLogger(__name__)

# Recording reasons, strongest first: a segment is cataloged under the strongest reason seen.
REASON_PRIORITY = ("panic", "manual", "motion", "scheduled", "continuous")
# flush_packets: a fragment reaches the file when the next keyframe arrives, not when FFmpeg's
# I/O buffer happens to fill (measured: 2-3 complete fragments otherwise sit in memory).
FMP4_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"}
WRITE_RETRY_S = 2.0  # after a failed write (disk full), wait this long before a new segment


class GopBuffer:
    """The last whole GOPs, enough to cover ``pre_roll_s`` before the newest packet."""

    def __init__(self, pre_roll_s: float) -> None:
        self.pre_roll_ns = int(pre_roll_s * 1e9)
        self.hold_ns = 0  # keep at least this much meanwhile (a stream still being judged)
        self._gops: deque[list[TimedPacket]] = deque()

    def add(self, tp: TimedPacket) -> None:
        if tp.keyframe:
            self._gops.append([tp])
            # Drop the oldest GOP while the next one still starts early enough for the pre-roll.
            keep_ns = max(self.pre_roll_ns, self.hold_ns)
            while len(self._gops) > 1 and self._gops[1][0].wall_ns <= tp.wall_ns - keep_ns:
                self._gops.popleft()
        elif self._gops:
            self._gops[-1].append(tp)
        # packets before the first keyframe cannot start a segment: dropped

    @property
    def start_ns(self) -> int | None:
        """Capture time of the oldest buffered keyframe: where a recording would start."""
        return self._gops[0][0].wall_ns if self._gops else None

    def discard_through(self, wall_ns: int) -> None:
        """Drop the GOPs that start at or before ``wall_ns`` (they hold a packet that failed)."""
        while self._gops and self._gops[0][0].wall_ns <= wall_ns:
            self._gops.popleft()

    def packets_after(self, dts: int | None) -> list[TimedPacket]:
        """Buffered packets from the first whole GOP that starts after ``dts`` (None: all)."""
        for i, gop in enumerate(self._gops):
            if dts is None or gop[0].dts > dts:
                return [tp for later in list(self._gops)[i:] for tp in later]
        return []

    def clear(self) -> None:
        self._gops.clear()


@dataclass(slots=True)
class _OpenSegment:
    container: av.container.OutputContainer
    stream: av.video.stream.VideoStream
    sync_fd: int  # our descriptor of the file, to fsync it
    path: Path
    rel_path: str
    start_ns: int  # the first packet's capture time, or the end of the segment it continues
    tiled: bool  # it continues the previous segment (a rotation): start_ns is exact
    era: int  # the capture clock's era at the first packet (``CaptureClock``)
    time_base: Fraction  # of the input: every pts/dts here is in it
    first_dts: int
    last_dts: int
    last_wall_ns: int
    last_era: int
    frame_ticks: int
    held: TimedPacket | None  # the newest packet: muxed once the next dts gives its duration
    recording_type: str
    motion_events_at_open: int
    motion_starts_at_open: int
    thumbnail: str | None = None


class Recorder:
    """Decides per packet whether to record, and writes segments. Used from one thread."""

    def __init__(
        self,
        camera_id: str,
        storage_root: Path,
        pre_roll_s: float,
        segment_s: float,
        report: Callable[[SegmentOpened | SegmentClosed | WriteFailed], None],
        clock: Clock = SYSTEM_CLOCK,
        snapshot: Callable[[str, int], str | None] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.clock = clock
        self.root = storage_root
        self.segment_ns = int(segment_s * 1e9)
        self.report = report
        self.snapshot = snapshot  # writes a thumbnail of a time; its path, or None
        self.buffer = GopBuffer(pre_roll_s)
        self.segment: _OpenSegment | None = None
        self.input_stream: av.video.stream.VideoStream | None = None
        self.params: StreamParams | None = None  # in-band parameters replacing the input's
        self._motion_starts = 0  # motion events started so far on this camera
        self._written_dts: int | None = None  # last dts muxed from this input: never re-written
        # (dts, end): a segment that starts with this packet continues one that ended there
        self._tile: tuple[int, int] | None = None
        self._retry_mono = 0.0  # no new segment before this (monotonic), after a write failure
        self.write_error: str | None = None  # since the last failed write, until one succeeds
        self._run_since_ns: int | None = None  # the recording's start (``since_ns``)

    def configure(self, pre_roll_s: float, segment_s: float) -> None:
        """New pre-roll and segment length, from the next packet on."""
        self.buffer.pre_roll_ns = int(pre_roll_s * 1e9)
        self.segment_ns = int(segment_s * 1e9)

    @property
    def recording(self) -> bool:
        return self.segment is not None

    @property
    def recording_type(self) -> str | None:
        return self.segment.recording_type if self.segment else None

    @property
    def since_ns(self) -> int | None:
        """When this recording began: its first segment's start, across rotations and stream
        breaks for as long as a reason to record lasts."""
        return self._run_since_ns if self.segment else None

    def set_input(self, stream: av.video.stream.VideoStream) -> None:
        """A (re)connected input: its parameters may differ, so nothing buffered carries over."""
        self.input_stream = stream
        self.params = None
        self.buffer.clear()
        self._written_dts = None
        self._tile = None

    def on_packet(
        self, tp: TimedPacket, reasons: list[str], motion_active: bool, motion_starts: int
    ) -> None:
        """Buffer the packet, then open, extend, rotate or close the segment as ``reasons`` say.

        A failed write (disk full, I/O error) abandons the segment -- the supervisor repairs
        and catalogs what reached the disk -- and recording resumes after ``WRITE_RETRY_S``,
        with the pre-roll still buffered.
        """
        self._motion_starts = motion_starts
        try:
            self._on_packet(tp, reasons, motion_active, motion_starts)
        except (av.error.FFmpegError, OSError) as err:
            seg, self.segment = self.segment, None
            self._abandon(seg, err)

    def _abandon(self, seg: _OpenSegment | None, err: Exception) -> None:
        """Give up a segment that cannot be written; the supervisor repairs what is on disk."""
        if seg is not None:  # the disk may refuse the last bytes too: recovery cuts the file
            with contextlib.suppress(av.error.FFmpegError, OSError):
                seg.container.close()
            with contextlib.suppress(OSError):
                os.close(seg.sync_fd)
        code = getattr(err, "errno", None)
        full = code in (errno.ENOSPC, errno.EDQUOT)
        log.error(
            "%s: cannot write %s: %s%s",
            self.camera_id,
            seg.rel_path if seg else "a new segment",
            err,
            "; storage is full, retrying after cleanup" if full else "; retrying",
        )
        self._retry_mono = self.clock.monotonic() + WRITE_RETRY_S
        self.write_error = str(err)
        self.report(WriteFailed(self.camera_id, seg.rel_path if seg else None, code, str(err)))

    def _on_packet(
        self, tp: TimedPacket, reasons: list[str], motion_active: bool, motion_starts: int
    ) -> None:
        broke = tp.discontinuity
        if not reasons:
            self._run_since_ns = None
        if broke is not None or tp.params is not None:
            # On the same clock the old segment ends where the next one starts: time is tiled.
            same_clock = broke is None or broke.same_clock
            why = broke.cause if broke else "stream parameters set"
            end_ns = self.close(why, tp if same_clock else None, next_follows=True)
            self._tile = (tp.dts, end_ns) if same_clock and end_ns is not None else None
            self.buffer.clear()
            self._written_dts = None
            self.params = tp.params or self.params
        self.buffer.add(tp)
        seg = self.segment
        if seg is not None:
            if not reasons:
                self.close("recording reasons ended", tp)
                return
            if tp.keyframe and tp.wall_ns - seg.start_ns >= self.segment_ns:
                # Rotate: the next segment starts with this keyframe, so segments tile time.
                end_ns = self.close("segment length reached", tp, next_follows=True)
                seg = self._open(tp, reasons[0], motion_active, motion_starts, end_ns)
            else:
                seg.recording_type = _strongest(seg.recording_type, reasons[0])
            self._write(seg, tp)
            return
        if reasons and self.clock.monotonic() >= self._retry_mono:
            # Pre-roll, but never what an earlier segment already holds: whole GOPs after it.
            pending = self.buffer.packets_after(self._written_dts)
            if not pending:
                return  # wait for the next keyframe
            tile, self._tile = self._tile, None
            continues = tile[1] if tile is not None and tile[0] == pending[0].dts else None
            seg = self._open(pending[0], reasons[0], motion_active, motion_starts, continues)
            for buffered in pending:
                self._write(seg, buffered)

    def saw(self, reason: str) -> None:
        """A recording reason was in force, however briefly: the open segment is cataloged
        under it if it is the strongest."""
        if self.segment is not None:
            self.segment.recording_type = _strongest(self.segment.recording_type, reason)

    def close(
        self, why: str, end: TimedPacket | None = None, *, next_follows: bool = False
    ) -> int | None:
        """Finish the open segment: flush, fsync, report. ``end`` is the packet after it, if on
        the same clock; returns the segment's end (wall time), None if there was none.
        ``next_follows``: a rotation or a stream break, the recording goes on."""
        if not next_follows:
            self._run_since_ns = None
        seg = self.segment
        if seg is None:
            return None
        self.segment = None
        tb = seg.time_base
        end_dts = end.dts if end is not None and end.dts > seg.last_dts else None
        end_dts = end_dts if end_dts is not None else seg.last_dts + seg.frame_ticks
        try:
            self._mux_held(seg, end_dts)
            seg.container.close()
            with open(seg.path, "rb") as fh:
                os.fsync(fh.fileno())
            fsync_dir(seg.path.parent)  # the new file's directory entry, too
            whole, _ = playable_length(seg.path)
            if whole != seg.path.stat().st_size:  # FFmpeg can lose writes silently (disk full)
                raise OSError(errno.EIO, f"{whole} of {seg.path.stat().st_size} bytes intact")
        except (av.error.FFmpegError, OSError) as err:
            self._abandon(seg, err)
            return None
        os.close(seg.sync_fd)
        duration_90k = int((end_dts - seg.first_dts) * tb * 90000)
        if end is not None:
            end_ns = end.wall_ns
        else:
            end_ns = seg.last_wall_ns + int((end_dts - seg.last_dts) * tb * 1_000_000_000)
        start_ns = seg.start_ns
        if not seg.tiled and seg.era == (end.era if end is not None else seg.last_era):
            start_ns = min(start_ns, end_ns - duration_90k * 1_000_000_000 // 90000)
        start_ns = min(start_ns, end_ns)
        size = seg.path.stat().st_size
        log.info(
            "%s: closed segment %s (%.1f s, %d bytes, %s): %s",
            self.camera_id,
            seg.rel_path,
            duration_90k / 90000,
            size,
            seg.recording_type,
            why,
        )
        ctx = seg.stream.codec_context
        self.report(
            SegmentClosed(
                camera_id=self.camera_id,
                file_path=seg.rel_path,
                start_ns=start_ns,
                end_ns=end_ns,
                duration_90k=duration_90k,
                size_bytes=size,
                recording_type=seg.recording_type,
                motion_events=seg.motion_events_at_open
                + self._motion_starts
                - seg.motion_starts_at_open,
                video_codec=ctx.codec.canonical_name,  # the format, not the encoder (libx264)
                width=ctx.width,
                height=ctx.height,
                thumbnail_path=seg.thumbnail,
            )
        )
        return end_ns

    def _open(
        self,
        first: TimedPacket,
        reason: str,
        motion_active: bool,
        motion_starts: int,
        continues_ns: int | None = None,
    ) -> _OpenSegment:
        """A new segment from ``first``; ``continues_ns``: the end of the one it continues."""
        assert self.input_stream is not None
        stamp = time.gmtime(first.wall_ns // 1_000_000_000)
        ms = (first.wall_ns // 1_000_000) % 1000
        rel = (
            f"{self.camera_id}/{time.strftime('%Y-%m-%d', stamp)}/"
            f"{self.camera_id}-{time.strftime('%Y%m%dT%H%M%S', stamp)}.{ms:03d}Z.mp4"
        )
        path = self.root / rel
        for n in range(1, 1000):  # never overwrite a file: the same first packet can recur
            if not path.exists():
                break
            rel = rel.removesuffix(".mp4").rsplit("~", 1)[0] + f"~{n}.mp4"
            path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(path), "w", format="mp4", options=FMP4_OPTIONS)
        container.metadata[TAG_KEY] = segment_tag(self.camera_id, reason, first.wall_ns)
        stream = container.add_stream_from_template(self.input_stream)
        if self.params is not None:
            ctx = stream.codec_context
            ctx.width, ctx.height = self.params.width, self.params.height
            ctx.extradata = self.params.extradata
        try:  # the header now: the file exists from its SegmentOpened on, for recovery
            container.start_encoding()
            sync_fd = os.open(path, os.O_RDONLY)
        except (av.error.FFmpegError, OSError):
            with contextlib.suppress(av.error.FFmpegError, OSError):
                container.close()
                path.unlink()  # nothing was announced: no row will ever name it
            raise
        rate = self.input_stream.average_rate or self.input_stream.guessed_rate or 15
        tb = self.input_stream.time_base or Fraction(1, 90000)
        frame_ticks = max(1, int(1 / (Fraction(rate) * tb)))
        log.info("%s: recording %s to %s", self.camera_id, reason, rel)
        self.write_error = None
        self.report(SegmentOpened(self.camera_id, rel, first.wall_ns, reason))
        self.segment = _OpenSegment(
            container=container,
            stream=stream,
            sync_fd=sync_fd,
            path=path,
            rel_path=rel,
            start_ns=first.wall_ns if continues_ns is None else continues_ns,
            tiled=continues_ns is not None,
            era=first.era,
            time_base=tb,
            first_dts=first.dts,
            last_dts=first.dts,
            last_wall_ns=first.wall_ns,
            last_era=first.era,
            frame_ticks=frame_ticks,
            held=None,
            recording_type=reason,
            motion_events_at_open=1 if motion_active else 0,
            motion_starts_at_open=motion_starts,
            thumbnail=self.snapshot(segment_thumbnail(rel), first.wall_ns)
            if self.snapshot
            else None,
        )
        if self._run_since_ns is None:
            self._run_since_ns = self.segment.start_ns
        return self.segment

    def _write(self, seg: _OpenSegment, tp: TimedPacket) -> None:
        """Add ``tp`` to the segment: the packet before it is muxed now that its end is known."""
        self._mux_held(seg, tp.dts)
        seg.held = tp
        self._written_dts = tp.dts
        step = tp.dts - seg.last_dts
        if 0 < step <= 4 * seg.frame_ticks:  # a plausible frame step, not a small time jump
            seg.frame_ticks = step
        seg.last_dts, seg.last_wall_ns, seg.last_era = tp.dts, tp.wall_ns, tp.era

    def _mux_held(self, seg: _OpenSegment, next_dts: int) -> None:
        """Mux the held packet, lasting until ``next_dts``."""
        held, seg.held = seg.held, None
        if held is None:
            return
        packet = held.packet
        packet.stream = seg.stream
        packet.time_base = seg.time_base  # mux rebased it in place if it was written before
        packet.pts = held.pts - seg.first_dts
        packet.dts = held.dts - seg.first_dts
        packet.duration = next_dts - held.dts
        seg.container.mux(packet)
        if held.keyframe:  # the previous fragment (or the header) was just written: durable
            os.fsync(seg.sync_fd)  # against a power cut too, so at most one GOP is at risk


def _strongest(current: str, candidate: str) -> str:
    return min(current, candidate, key=REASON_PRIORITY.index)
