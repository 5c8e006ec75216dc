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
        self._gops: deque[list[TimedPacket]] = deque()

    def add(self, tp: TimedPacket) -> None:
        if tp.keyframe:
            self._gops.append([tp])
            # Drop the oldest GOP while the next one still starts early enough for the pre-roll.
            while len(self._gops) > 1 and self._gops[1][0].wall_ns <= tp.wall_ns - self.pre_roll_ns:
                self._gops.popleft()
        elif self._gops:
            self._gops[-1].append(tp)
        # packets before the first keyframe cannot start a segment: dropped

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
    sync_fd: int | None  # our descriptor of the file (the muxer creates it at its first write)
    path: Path
    rel_path: str
    start_ns: int
    time_base: Fraction  # of the input: every pts/dts here is in it
    first_dts: int
    last_dts: int
    last_pts: int
    last_wall_ns: int
    frame_ticks: int
    recording_type: str
    motion_events_at_open: int
    motion_starts_at_open: int


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
    ) -> None:
        self.camera_id = camera_id
        self.clock = clock
        self.root = storage_root
        self.segment_ns = int(segment_s * 1e9)
        self.report = report
        self.buffer = GopBuffer(pre_roll_s)
        self.segment: _OpenSegment | None = None
        self.input_stream: av.video.stream.VideoStream | None = None
        self.params: StreamParams | None = None  # in-band parameters replacing the input's
        self._motion_starts = 0  # motion events started so far on this camera
        self._written_dts: int | None = None  # last dts muxed from this input: never re-written
        self._retry_mono = 0.0  # no new segment before this (monotonic), after a write failure
        self.write_error: str | None = None  # since the last failed write, until one succeeds

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
        return self.segment.start_ns if self.segment else None

    def set_input(self, stream: av.video.stream.VideoStream) -> None:
        """A (re)connected input: its parameters may differ, so nothing buffered carries over."""
        self.input_stream = stream
        self.params = None
        self.buffer.clear()
        self._written_dts = None

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
            if seg.sync_fd is not None:
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
        if broke is not None or tp.params is not None:
            # On the same clock the old segment ends where the next one starts: time is tiled.
            same_clock = broke is None or broke.same_clock
            self.close(
                broke.cause if broke else "stream parameters set",
                end_pts=tp.pts if same_clock else None,
            )
            self.buffer.clear()
            self._written_dts = None
            self.params = tp.params or self.params
        self.buffer.add(tp)
        seg = self.segment
        if seg is not None:
            if not reasons:
                self.close("recording reasons ended", end_pts=tp.pts)
                return
            if tp.keyframe and tp.wall_ns - seg.start_ns >= self.segment_ns:
                # Rotate: the next segment starts with this keyframe, so segments tile time.
                self.close("segment length reached", end_pts=tp.pts)
                seg = self._open(tp, reasons[0], motion_active, motion_starts)
            else:
                seg.recording_type = _strongest(seg.recording_type, reasons[0])
            self._write(seg, tp)
            return
        if reasons and self.clock.monotonic() >= self._retry_mono:
            # Pre-roll, but never what an earlier segment already holds: whole GOPs after it.
            pending = self.buffer.packets_after(self._written_dts)
            if not pending:
                return  # wait for the next keyframe
            seg = self._open(pending[0], reasons[0], motion_active, motion_starts)
            for buffered in pending:
                self._write(seg, buffered)

    def close(self, why: str, end_pts: int | None = None) -> None:
        """Finish the open segment: flush, fsync, report. ``end_pts`` is the next packet's pts."""
        seg = self.segment
        if seg is None:
            return
        self.segment = None
        try:
            seg.container.close()
            with open(seg.path, "rb") as fh:
                os.fsync(fh.fileno())
            fsync_dir(seg.path.parent)  # the new file's directory entry, too
            whole, _ = playable_length(seg.path)
            if whole != seg.path.stat().st_size:  # FFmpeg can lose writes silently (disk full)
                raise OSError(errno.EIO, f"{whole} of {seg.path.stat().st_size} bytes intact")
        except (av.error.FFmpegError, OSError) as err:
            self._abandon(seg, err)
            return
        if seg.sync_fd is not None:
            os.close(seg.sync_fd)
        tb = seg.time_base
        end = (
            end_pts
            if end_pts is not None and end_pts > seg.last_pts
            else (seg.last_pts + seg.frame_ticks)
        )
        duration_90k = int((end - seg.first_dts) * tb * 90000)
        # Dated by the latest (best) capture-time estimate: the end, then back by the duration.
        end_ns = seg.last_wall_ns + int((end - seg.last_pts) * tb * 1_000_000_000)
        start_ns = end_ns - duration_90k * 1_000_000_000 // 90000
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
                video_codec=ctx.name,
                width=ctx.width,
                height=ctx.height,
            )
        )

    def _open(
        self, first: TimedPacket, reason: str, motion_active: bool, motion_starts: int
    ) -> _OpenSegment:
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
        rate = self.input_stream.average_rate or self.input_stream.guessed_rate or 15
        tb = self.input_stream.time_base or Fraction(1, 90000)
        frame_ticks = max(1, int(1 / (Fraction(rate) * tb)))
        log.info("%s: recording %s to %s", self.camera_id, reason, rel)
        self.write_error = None
        self.report(SegmentOpened(self.camera_id, rel, first.wall_ns, reason))
        self.segment = _OpenSegment(
            container=container,
            stream=stream,
            sync_fd=None,
            path=path,
            rel_path=rel,
            start_ns=first.wall_ns,
            first_dts=first.dts,
            last_dts=first.dts,
            last_pts=first.pts,
            last_wall_ns=first.wall_ns,
            frame_ticks=frame_ticks,
            time_base=tb,
            recording_type=reason,
            motion_events_at_open=1 if motion_active else 0,
            motion_starts_at_open=motion_starts,
        )
        return self.segment

    def _write(self, seg: _OpenSegment, tp: TimedPacket) -> None:
        packet = tp.packet
        packet.stream = seg.stream
        packet.time_base = seg.time_base  # mux rebased it in place if it was written before
        packet.pts = tp.pts - seg.first_dts
        packet.dts = tp.dts - seg.first_dts
        seg.container.mux(packet)
        if seg.sync_fd is None:
            seg.sync_fd = os.open(seg.path, os.O_RDONLY)
        elif tp.keyframe:  # the previous fragment was just written: make it durable
            os.fsync(seg.sync_fd)  # against a power cut too, so at most one GOP is at risk
        self._written_dts = tp.dts
        step = tp.pts - seg.last_pts
        if step > 0:
            if step <= 4 * seg.frame_ticks:  # a plausible frame step, not a small time jump
                seg.frame_ticks = step
            seg.last_pts, seg.last_wall_ns = tp.pts, tp.wall_ns
        seg.last_dts = tp.dts


def _strongest(current: str, candidate: str) -> str:
    return min(current, candidate, key=REASON_PRIORITY.index)
