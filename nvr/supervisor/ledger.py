"""The catalog's one writer for what the workers report: segments, motion events, stream gaps.

A segment the disk refuses to catalog (``CatalogFullError``) is kept and retried after the
storage keeper has freed space (``retry``); nothing a worker reported is dropped. One camera's
rows never overlap: a segment dated to start before the camera's latest one ends (a capture
clock estimate that moved) starts where that one ends, and a gap just closed that runs into the
next segment (ended at a first, unsettled estimate) ends where that segment starts.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from nvr.errors import CatalogFullError
from nvr.protocol.worker import (
    ClockDrifting,
    MotionEnded,
    SegmentClosed,
    SegmentOpened,
    StreamDiscontinuity,
)
from nvr.storage.catalog import Catalog, NewMotionEvent, NewRecording
from nvr.storage.recovery import recover_segment

log = logging.getLogger(__name__)

WALL_SLACK_NS = 60_000_000_000  # wall time a segment may span beyond twice its video's

ALIVE_S = 5.0  # how often the engine's run row says it is alive
# Gaps that end when the camera's (new) worker has its stream again.
UNTIL_STREAM_UP = ("engine_down", "worker_exit", "worker_restart")


class Ledger:
    """Catalog rows for every camera, and the counters ``/health`` shows (since start)."""

    def __init__(self, catalog: Catalog, recordings: Path) -> None:
        self.catalog = catalog
        self.recordings = recordings
        self.segments_total: dict[str, int] = {}
        self.motion_total: dict[str, int] = {}
        self._unsaved: list[NewRecording] = []  # refused by a full disk: retried
        self._open_gaps: dict[str, tuple[int, int, str]] = {}  # camera -> (id, start_ns, kind)
        # camera -> (id, start_ns, end_ns) of its last gap closed, until its next segment
        self._closed_gaps: dict[str, tuple[int, int, int]] = {}
        self._run_id: int | None = None
        self._alive_ns = 0
        self._open_events: dict[str, tuple[int, int]] = {}  # camera -> (event id, start_ns)

    # -- segments ----------------------------------------------------------------------------

    def segment_closed(self, msg: SegmentClosed) -> None:
        self._add_segment(
            NewRecording(
                camera_id=msg.camera_id,
                start_ns=msg.start_ns,
                end_ns=msg.end_ns,
                duration_90k=msg.duration_90k,
                file_path=msg.file_path,
                size_bytes=msg.size_bytes,
                recording_type=msg.recording_type,
                motion_events=msg.motion_events,
                video_codec=msg.video_codec,
                width=msg.width,
                height=msg.height,
                thumbnail_path=msg.thumbnail_path,
            )
        )

    def repair(self, opened: SegmentOpened) -> int | None:
        """Catalog the segment a dead or failed worker left open; returns where its video ends."""
        if self.catalog.recording_by_path(opened.file_path) is not None:
            return None
        rec = recover_segment(
            self.recordings,
            opened.file_path,
            opened.camera_id,
            opened.recording_type,
            opened.start_ns,
        )
        if rec is None:
            return None
        self._add_segment(rec)
        return rec.end_ns

    def retry(self) -> None:
        """Catalog the segments a full disk refused, now that space may be back."""
        unsaved, self._unsaved = self._unsaved, []
        for rec in unsaved:
            self._add_segment(rec, retry=True)

    def _add_segment(self, rec: NewRecording, retry: bool = False) -> None:
        if not retry:
            self.segments_total[rec.camera_id] = self.segments_total.get(rec.camera_id, 0) + 1
        media_ns = rec.duration_90k * 1_000_000_000 // 90000
        if rec.end_ns - rec.start_ns > 2 * media_ns + WALL_SLACK_NS:
            # The wall clock jumped while it was written (a clock set from 1970 by NTP): its
            # wall span would cover years. It covers its media time, up to where it ends.
            log.warning(
                "%s: %s spans %.0f s of wall time for %.1f s of video (the clock jumped); "
                "dated by its video instead",
                rec.camera_id,
                rec.file_path,
                (rec.end_ns - rec.start_ns) / 1e9,
                media_ns / 1e9,
            )
            rec = replace(rec, start_ns=rec.end_ns - media_ns)
        latest_end = self.catalog.last_recording_end_ns(rec.camera_id)
        if latest_end is not None and rec.start_ns < latest_end < rec.end_ns:
            log.warning(
                "%s: %s was dated %.3f s into the previous segment; it starts where that ends",
                rec.camera_id,
                rec.file_path,
                (latest_end - rec.start_ns) / 1e9,
            )
            rec = replace(rec, start_ns=latest_end)
        closed = self._closed_gaps.pop(rec.camera_id, None)
        if closed is not None and closed[1] <= rec.start_ns < closed[2]:
            # The gap ended at its first keyframe's capture time as first estimated; the
            # segment starting there is dated better: the gap ends where it starts.
            self.catalog.end_gap(closed[0], rec.start_ns)
        try:
            self.catalog.add_recording(rec)
        except CatalogFullError as err:
            if not retry:
                log.error(
                    "%s: the catalog cannot record %s yet (%s); retrying",
                    rec.camera_id,
                    rec.file_path,
                    err,
                )
            self._unsaved.append(rec)

    @property
    def backlog(self) -> bool:
        """Segments wait for space to be catalogued."""
        return bool(self._unsaved)

    # -- motion events -----------------------------------------------------------------------

    def motion_started(self, camera_id: str, start_ns: int, thumbnail: str | None = None) -> None:
        self.end_event(camera_id, start_ns)
        event_id = self.catalog.add_motion_event(
            NewMotionEvent(camera_id, start_ns, None, 0.0, frame_thumbnail=thumbnail)
        )
        self._open_events[camera_id] = (event_id, start_ns)
        self.motion_total[camera_id] = self.motion_total.get(camera_id, 0) + 1

    def motion_ended(self, msg: MotionEnded) -> None:
        if msg.camera_id in self._open_events:
            self.end_event(msg.camera_id, msg.end_ns, msg.confidence, msg.boxes)
        else:
            self.catalog.add_motion_event(
                NewMotionEvent(msg.camera_id, msg.start_ns, msg.end_ns, msg.confidence, msg.boxes)
            )

    def end_event(
        self, camera_id: str, end_ns: int, confidence: float = 0.0, boxes: tuple = ()
    ) -> None:
        opened = self._open_events.pop(camera_id, None)
        if opened is not None:
            self.catalog.end_motion_event(opened[0], max(end_ns, opened[1]), confidence, boxes)

    # -- stream gaps -------------------------------------------------------------------------

    def open_gap(
        self, camera_id: str, start_ns: int, cause: str, kind: str = "stream_lost"
    ) -> None:
        """The camera records nothing from ``start_ns``, until the gap is ended. While one is
        open this is a no-op, but for a gap that lasts only until the worker's stream is up
        (engine down, worker exit or restart): that one ends here, and this one begins."""
        opened = self._open_gaps.get(camera_id)
        if opened is not None and opened[2] in UNTIL_STREAM_UP and kind not in UNTIL_STREAM_UP:
            self.end_gap(camera_id, start_ns)
            opened = None
        if opened is None:
            gap_id = self.catalog.add_gap(camera_id, start_ns, cause, kind=kind)
            self._open_gaps[camera_id] = (gap_id, start_ns, kind)

    def end_gap(self, camera_id: str, end_ns: int, kinds: tuple[str, ...] = ()) -> bool:
        """Close the camera's open gap (of one of ``kinds``, if given) at ``end_ns``; False
        when none was open."""
        opened = self._open_gaps.get(camera_id)
        if opened is None or (kinds and opened[2] not in kinds):
            return False
        del self._open_gaps[camera_id]
        end_ns = max(end_ns, opened[1])
        self.catalog.end_gap(opened[0], end_ns)
        self._closed_gaps[camera_id] = (opened[0], opened[1], end_ns)
        return True

    def discontinuity(self, msg: StreamDiscontinuity) -> None:
        end_ns = max(msg.start_ns, msg.end_ns)
        gap_id = self.catalog.add_gap(
            msg.camera_id, msg.start_ns, msg.cause, end_ns, "discontinuity"
        )
        self._closed_gaps[msg.camera_id] = (gap_id, msg.start_ns, end_ns)
        log.warning("%s: %s; recording continues in a new segment", msg.camera_id, msg.cause)

    def clock_drifting(self, msg: ClockDrifting) -> None:
        """A zero-length discontinuity: nothing was lost, the dating changed."""
        self.catalog.add_gap(msg.camera_id, msg.at_ns, msg.cause, msg.at_ns, "discontinuity")
        log.warning("%s", msg.cause)

    # -- the engine's own runs ---------------------------------------------------------------

    def open_run(self, camera_ids: list[str], now_ns: int) -> None:
        """Record this engine's start, and the time it was down as a gap of every camera that
        has a history (from its last recording or gap, or the last run's last sign of life)."""
        self._run_id, last_alive_ns, clean = self.catalog.start_run(now_ns)
        self._alive_ns = now_ns
        if last_alive_ns is None:
            return
        cause = "the engine was stopped" if clean else "the engine crashed or lost power"
        for camera_id in camera_ids:
            covered = self.catalog.last_covered_ns(camera_id)
            if covered is None:  # a camera new to this storage: nothing was missed
                continue
            # From where its footage (or last gap) ends, if that was near the end of the last
            # run (the fragment a crash cut short is part of the hole), else from the last
            # sign of life: a camera with nothing to record then missed nothing before it.
            near_end = covered >= last_alive_ns - 2 * ALIVE_S * 1e9
            start_ns = covered if near_end else last_alive_ns
            # Open until the camera's new worker has its stream: starting takes time too.
            self.open_gap(camera_id, start_ns, cause, "engine_down")

    def alive(self, now_ns: int) -> None:
        """The engine is alive (written every ``ALIVE_S``: a crash's downtime starts there)."""
        if self._run_id is not None and now_ns - self._alive_ns >= ALIVE_S * 1e9:
            self._alive_ns = now_ns
            self.catalog.run_alive(self._run_id, now_ns)

    def close_run(self, now_ns: int) -> None:
        if self._run_id is not None:
            self.catalog.run_alive(self._run_id, now_ns, stopped=True)
