"""The Playback view's questions to the catalog, answered off the render thread.

One thread with its own read-only catalog answers, newest request first: the timeline of the
cameras over the timeline's view (``nvr.storage.timeline``), the events list of a camera and day,
where the next or previous event is, and thumbnails (decoded to float32 RGBA for a texture,
kept in a small cache). Exports run on a thread of their own (``nvr.storage.export``), so a long
one never delays the timeline.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from nvr.errors import NvrError
from nvr.storage.catalog import Catalog, Gap, MotionEvent
from nvr.storage.export import Clip, export_clip
from nvr.storage.playback import HOLE_MIN_NS, PlaybackReader
from nvr.storage.timeline import Timeline, timeline

log = logging.getLogger(__name__)

THUMB_CACHE = 96  # decoded thumbnails kept (320x180 float32 RGBA: 0.9 MB each)
RETRY_S = 2.0  # a thumbnail that was not there is looked for again after this long
EDGE_SEARCH_NS = 86_400 * 1_000_000_000  # [ and ] look this far for an edge
EVENTS_LIMIT = 2000  # rows of one camera's day in the events list
DAY_REFRESH_S = 3.0


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    cameras: tuple[str, ...]
    start_ns: int
    end_ns: int
    buckets: int


@dataclass(frozen=True, slots=True)
class DayList:
    """One camera's events and gaps over one day, newest first."""

    camera_id: str
    start_ns: int
    end_ns: int
    events: list[MotionEvent]
    gaps: list[Gap]


@dataclass(slots=True)
class ExportState:
    """An export running or done: progress 0..1, the files written, or why it failed."""

    folder: Path
    progress: float = 0.0
    done: bool = False
    clips: list[Clip] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Library:
    """Catalog questions on a thread of their own; results are read on the render thread."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.error: str | None = None
        self.timeline: Timeline | None = None
        self.growing: dict[str, tuple[int, int, str]] = {}  # camera -> the segment being written
        self.timeline_query: TimelineQuery | None = None
        self.day: DayList | None = None
        self.export: ExportState | None = None
        self._jump: int | None = None
        self._day_asked = 0.0
        self._jump_missed = False
        self._thumbs: OrderedDict[tuple[Any, ...], tuple[np.ndarray | None, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._requests: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._pending: dict[str, Any] = {}  # newest request of each kind
        self._thread = threading.Thread(target=self._run, name="playback-catalog", daemon=True)
        self._thread.start()

    # -- render thread -------------------------------------------------------------------------

    def want_timeline(self, query: TimelineQuery) -> None:
        if query != self.timeline_query:
            self.timeline_query = query
            self._ask("timeline", query)

    def want_day(self, camera_id: str, start_ns: int, end_ns: int) -> None:
        """The events list of a camera's day, asked again every ``DAY_REFRESH_S`` (new events
        come in)."""
        day, now = self.day, time.monotonic()
        key = (camera_id, start_ns, end_ns)
        stale = now - self._day_asked > DAY_REFRESH_S
        if day is None or (day.camera_id, day.start_ns, day.end_ns) != key or stale:
            self._day_asked = now
            self._ask("day", key)

    def find_event(self, cameras: tuple[str, ...], from_ns: int, step: int) -> None:
        """Look for the start of the next (``step`` 1) or previous event of ``cameras``; the
        answer comes through ``jumped``."""
        self._ask("jump", ("event", cameras, from_ns, step))

    def find_edge(self, cameras: tuple[str, ...], from_ns: int, step: int) -> None:
        """Look for the next or previous place where footage of ``cameras`` starts or stops
        (a recording's first or last frame, a hole's edge); the answer through ``jumped``."""
        self._ask("jump", ("edge", cameras, from_ns, step))

    def jumped(self) -> tuple[int | None, bool]:
        """(the event start found, once; whether the last search found none)."""
        with self._lock:
            found, self._jump = self._jump, None
            missed, self._jump_missed = self._jump_missed, False
            return found, missed

    def thumbnail(self, key: tuple[Any, ...]) -> np.ndarray | None:
        """A thumbnail as (h, w, 4) float32 RGBA if decoded already; asks for it otherwise.
        ``key``: ("recording", id), ("event", id) or ("at", camera, ns)."""
        with self._lock:
            if key in self._thumbs:
                picture, made = self._thumbs[key]
                self._thumbs.move_to_end(key)
                if picture is not None or time.monotonic() - made < RETRY_S:
                    return picture
                del self._thumbs[key]  # none then: the segment may have closed since
        self._ask("thumb", key)
        return None

    def start_export(self, cameras: list[str], start_ns: int, end_ns: int, folder: Path) -> None:
        state = ExportState(folder)
        self.export = state
        threading.Thread(
            target=self._export, args=(state, cameras, start_ns, end_ns), name="export", daemon=True
        ).start()

    def stop(self) -> None:
        self._requests.put(("stop", None))
        self._thread.join(timeout=5)

    # -- the thread ----------------------------------------------------------------------------

    def _ask(self, kind: str, value: Any) -> None:
        with self._lock:
            queued = kind in self._pending
            self._pending[kind] = value
        if not queued or kind == "thumb":
            self._requests.put((kind, value))

    def _run(self) -> None:
        try:
            catalog = Catalog(self.storage / "catalog.db", readonly=True)
        except NvrError as err:
            self.error = str(err)
            return
        self._reader = PlaybackReader(catalog, self.storage / "recordings")
        with catalog:
            while True:
                kind, value = self._requests.get()
                if kind == "stop":
                    return
                if kind != "thumb":
                    with self._lock:
                        value = self._pending.pop(kind, value)  # the newest of its kind
                else:
                    with self._lock:
                        self._pending.pop(kind, None)
                try:
                    self._answer(catalog, kind, value)
                except (NvrError, OSError, ValueError) as err:
                    log.warning("playback: %s failed: %s", kind, err)

    def _answer(self, catalog: Catalog, kind: str, value: Any) -> None:
        if kind == "timeline":
            q: TimelineQuery = value
            result = timeline(catalog, list(q.cameras), q.start_ns, q.end_ns, q.buckets)
            growing = {}
            for camera_id in q.cameras:
                rec = self._reader.growing(camera_id, q.start_ns)
                if rec is not None:
                    growing[camera_id] = (rec.start_ns, rec.end_ns, rec.recording_type)
            with self._lock:
                self.timeline, self.growing = result, growing
        elif kind == "day":
            camera_id, start, end = value
            events = catalog.motion_events(
                camera_id, start, end, limit=EVENTS_LIMIT, descending=True
            )
            gaps = catalog.gaps(camera_id, start, end, limit=EVENTS_LIMIT, descending=True)
            with self._lock:
                self.day = DayList(camera_id, start, end, events, gaps)
        elif kind == "jump":
            what, cameras, from_ns, step = value
            find = self._next_event if what == "event" else self._next_edge
            found = find(catalog, cameras, from_ns, step)
            with self._lock:
                self._jump, self._jump_missed = found, found is None
        elif kind == "thumb":
            with self._lock:
                if value in self._thumbs:
                    return
            picture = self._thumb(catalog, value)
            with self._lock:
                self._thumbs[value] = (picture, time.monotonic())
                while len(self._thumbs) > THUMB_CACHE:
                    self._thumbs.popitem(last=False)

    @staticmethod
    def _next_event(
        catalog: Catalog, cameras: tuple[str, ...], from_ns: int, step: int
    ) -> int | None:
        starts = []
        for camera_id in cameras:
            if step > 0:
                rows = catalog.motion_events(camera_id, from_ns + 10_000_000, None, limit=2)
                starts += [e.start_ns for e in rows if e.start_ns > from_ns + 10_000_000]
            else:
                rows = catalog.motion_events(
                    camera_id, None, from_ns - 500_000_000, limit=1, descending=True
                )
                starts += [e.start_ns for e in rows]
        if not starts:
            return None
        return min(starts) if step > 0 else max(starts)

    def _next_edge(
        self, catalog: Catalog, cameras: tuple[str, ...], from_ns: int, step: int
    ) -> int | None:
        """The nearest start or end of footage after (before) ``from_ns``: recordings less
        than ``HOLE_MIN_NS`` apart are one stretch, and the segment being written continues
        the last one."""
        edges: list[int] = []
        for camera_id in cameras:
            rows = catalog.recordings(camera_id, from_ns - EDGE_SEARCH_NS, from_ns + EDGE_SEARCH_NS)
            spans = [(r.start_ns, r.end_ns) for r in rows]
            growing = self._reader.growing(camera_id, from_ns)
            if growing is not None:
                spans.append((growing.start_ns, growing.end_ns))
            merged: list[list[int]] = []
            for start, end in sorted(spans):
                if merged and start - merged[-1][1] < HOLE_MIN_NS:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            edges += [t for span in merged for t in span]
        if step > 0:
            return min((t for t in edges if t > from_ns + 10_000_000), default=None)
        return max((t for t in edges if t < from_ns - 500_000_000), default=None)

    def _thumb(self, catalog: Catalog, key: tuple[Any, ...]) -> np.ndarray | None:
        path: str | None = None
        if key[0] == "recording":
            rec = catalog.recording(key[1])
            path = rec.thumbnail_path if rec else None
        elif key[0] == "event":
            event = catalog.motion_event(key[1])
            path = event.frame_thumbnail if event else None
            if path is None and event is not None:
                key = ("at", event.camera_id, event.start_ns)
        if key[0] == "at":
            rows = catalog.recordings(key[1], key[2], key[2] + 1, limit=1)
            path = rows[0].thumbnail_path if rows else None
        if path is None:
            return None
        return _rgba(self.storage / "recordings" / path)

    def _export(self, state: ExportState, cameras: list[str], start_ns: int, end_ns: int) -> None:
        share = 1 / len(cameras)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(start_ns // 1_000_000_000))
        try:
            with Catalog(self.storage / "catalog.db", readonly=True) as catalog:
                for n, camera_id in enumerate(cameras):

                    def progress(fraction: float, n: int = n) -> None:
                        state.progress = (n + fraction) * share

                    try:
                        state.clips.append(
                            export_clip(
                                catalog,
                                self.storage / "recordings",
                                camera_id,
                                start_ns,
                                end_ns,
                                state.folder / f"{camera_id}-{stamp}.mp4",
                                progress,
                            )
                        )
                    except NvrError as err:
                        state.errors.append(str(err))
        except NvrError as err:
            state.errors.append(str(err))
        state.progress, state.done = 1.0, True


def _rgba(path: Path) -> np.ndarray | None:
    """A JPEG as (h, w, 4) float32 RGBA in 0..1 (what a Dear PyGui texture takes)."""
    with contextlib.suppress(OSError):
        data = np.frombuffer(path.read_bytes(), np.uint8)
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if bgr is None:
            return None
        rgba = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA).astype(np.float32)
        rgba *= 1 / 255
        return np.ascontiguousarray(rgba)
    return None
