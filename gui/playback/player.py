"""Recorded pictures for the Playback view, decoded off the render thread.

The ``Player`` thread owns a ``PlaybackReader`` over the storage folder (a read-only catalog and
the segment files). Each render frame the panel says what it wants (``want``: the cameras and
the cursor, playing or not, scrubbing or not); the thread brings each camera's picture to the
cursor and publishes it (``shown``):

- still, or after a jump: the exact frame at the cursor (``frame_at``);
- playing: the frames after the one shown, in order, so none is skipped while decoding keeps
  up; when it falls more than ``BEHIND_S`` behind, or above 4x, it jumps to the keyframe at the
  cursor and says so (``Shown.keyframes_only``);
- scrubbing: the keyframe at the cursor (fast), then the exact frame once released;
- a hole: no picture, and the gaps' causes in words.

``PlaybackFeed`` is the render thread's side: it converts a camera's newest picture into its
region of the grid texture, through the same scale kernel as live (``gui.feeds.Feed``).

Memory is bounded: per camera the player holds the picture shown and the reader's decoders
(one 1080p decoder keeps about 10 frames, 30 MB); four cameras with their open segments stay
under 200 MB.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gui.kernel import yuv420_to_rgba
from nvr.errors import CatalogError
from nvr.frames.planes import yuv_planes
from nvr.storage.catalog import Catalog
from nvr.storage.playback import Frame, Hole, PlaybackReader, explain

log = logging.getLogger(__name__)

BEHIND_S = 1.0  # playing this far behind the cursor: catch up from the keyframe at it
LAG_S = 0.5  # playing, a picture may trail the cursor this much so that none is skipped
IDLE_WAIT_S = 0.005  # the thread's wait for a new request while playing


@dataclass(frozen=True, slots=True)
class Want:
    cameras: tuple[str, ...]
    at_ns: int
    playing: bool
    scrubbing: bool
    keyframes_only: bool  # the speed asks for keyframes only


@dataclass(frozen=True, slots=True)
class Shown:
    """What a camera shows at the cursor: a frame, or a hole and why."""

    camera_id: str
    frame: Frame | None
    hole: str | None  # why nothing was recorded (None while a frame is shown)
    span: tuple[int, int | None]  # [start, end) the frame or the hole covers (end None: open)
    keyframes_only: bool = False  # the picture is the keyframe at the cursor, not its frame
    behind: bool = False  # decoding fell behind the cursor and caught up from a keyframe

    def covers(self, at_ns: int) -> bool:
        start, end = self.span
        return start <= at_ns and (end is None or at_ns < end)


class Player:
    """The decoding thread; ``want``, ``shown``, ``step`` and ``moved`` are for the render
    thread."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.error: str | None = None  # the storage cannot be read: why
        self._want: Want | None = None
        self._shown: dict[str, Shown] = {}
        self._taken: dict[str, Shown | None] = {}  # what the render thread took last
        self._steps: list[tuple[str, int]] = []
        self._moved: int | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="playback", daemon=True)
        self._thread.start()

    # -- render thread -------------------------------------------------------------------------

    def want(self, want: Want) -> None:
        with self._cond:
            if want != self._want:
                self._want = want
                self._cond.notify()

    def shown(self, camera_id: str) -> Shown | None:
        """What ``camera_id`` shows now; the render thread takes it (playing goes on to the
        next frame only once the last one was taken: none is skipped)."""
        with self._cond:
            shown = self._shown.get(camera_id)
            self._taken[camera_id] = shown
            return shown

    def step(self, camera_id: str, direction: int) -> None:
        """One frame forward (1) or back (-1) on ``camera_id``; ``moved`` gives the time."""
        with self._cond:
            self._steps.append((camera_id, direction))
            self._cond.notify()

    def moved(self) -> int | None:
        """Where the last frame step landed, once (None: no step finished since)."""
        with self._cond:
            moved, self._moved = self._moved, None
            return moved

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5)

    # -- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            catalog = Catalog(self.storage / "catalog.db", readonly=True)
        except CatalogError as err:
            self.error = str(err)
            log.error("playback: %s", err)
            return
        with PlaybackReader(catalog, self.storage / "recordings") as reader:
            done: Want | None = None
            while True:
                with self._cond:
                    if not self._stop and not self._steps and self._want == done:
                        self._cond.wait(IDLE_WAIT_S if done and done.playing else 0.25)
                    if self._stop:
                        break
                    want, steps, self._steps = self._want, self._steps, []
                if want is None:
                    continue
                for camera_id, direction in steps:
                    self._step(reader, want, camera_id, direction)
                for camera_id in want.cameras:
                    self._bring(reader, camera_id, want)
                done = want
            catalog.close()

    def _bring(self, reader: PlaybackReader, camera_id: str, want: Want) -> None:
        """Bring one camera's picture to the cursor."""
        at = want.at_ns
        current = self._shown.get(camera_id)
        exact = not (want.scrubbing or want.keyframes_only)
        if current is not None and current.covers(at) and (current.keyframes_only <= (not exact)):
            return
        shown: Shown | None = None
        if want.playing and exact and current is not None and current.frame is not None:
            with self._cond:
                waiting = self._taken.get(camera_id) is not current
            if waiting and 0 <= at - current.span[0] <= LAG_S * 1e9:
                return  # not on screen yet: the next frame after it has been
        if (
            want.playing
            and exact
            and current is not None
            and current.frame is not None
            and not current.keyframes_only
            and 0 <= at - current.span[0] < BEHIND_S * 1e9
        ):
            shown = self._play_on(reader, current.frame, at)
        if shown is None:
            # Playing frame by frame and fallen behind: catch up from the keyframe at the cursor
            # (the next request decodes on from it to the exact frame, with no seek).
            behind = (
                want.playing
                and exact
                and current is not None
                and current.frame is not None
                and not current.keyframes_only
            )
            shown = self._at(reader, camera_id, at, keyframes_only=not exact or behind)
            if behind and shown.frame is not None:
                shown = Shown(
                    shown.camera_id, shown.frame, None, shown.span, shown.keyframes_only, True
                )
        with self._cond:
            self._shown[camera_id] = shown

    def _play_on(self, reader: PlaybackReader, frame: Frame, at: int) -> Shown | None:
        """Decode on from ``frame`` towards the one at ``at``: the next frame, even when the
        cursor is a little past it (up to ``LAG_S``), so that no frame is skipped when a render
        frame comes late; further behind, on to the one at ``at``. None when that takes too
        long (the caller seeks)."""
        started = time.monotonic()
        item: Frame | Hole = frame
        while True:
            item = reader.next_frame(item) if isinstance(item, Frame) else item
            if isinstance(item, Hole):
                if item.end_ns is not None and item.end_ns <= at:
                    return None  # past the hole already: seek
                return Shown(item.camera_id, None, item.why, (item.start_ns, item.end_ns))
            if item.time_ns <= at < item.end_ns or 0 <= at - item.time_ns <= LAG_S * 1e9:
                return _frame_shown(item)
            if item.time_ns > at or time.monotonic() - started > BEHIND_S:
                return None

    def _at(self, reader: PlaybackReader, camera_id: str, at: int, keyframes_only: bool) -> Shown:
        frame = reader.frame_at(camera_id, at, keyframes_only)
        if frame is not None:
            shown = _frame_shown(frame)
            if keyframes_only:  # a keyframe stands for the cursor until the next request
                return Shown(camera_id, frame, None, (at, at + 1), True)
            return shown
        why = explain(reader.catalog, camera_id, at, at + 1, [])
        return Shown(camera_id, None, why, (at, _next_start(reader, camera_id, at)))

    def _step(self, reader: PlaybackReader, want: Want, camera_id: str, direction: int) -> None:
        """One frame forward or back on ``camera_id``, from what it shows."""
        current = self._shown.get(camera_id)
        found: Frame | Hole | None
        if current is not None and current.frame is not None and not current.keyframes_only:
            frame = current.frame
            found = reader.next_frame(frame) if direction > 0 else reader.previous_frame(frame)
        elif direction > 0:  # in a hole: the first frame after it
            found = reader.frame_at(camera_id, want.at_ns)
            if found is None:
                after = reader.recording_after(camera_id, want.at_ns)
                found = reader.frame_at(camera_id, after.start_ns) if after else None
        else:
            rows = reader.catalog.recordings(camera_id, None, want.at_ns, limit=1, descending=True)
            found = (
                reader.frame_at(camera_id, min(rows[0].end_ns, want.at_ns) - 1) if rows else None
            )
        if isinstance(found, Hole):
            found = reader.frame_at(camera_id, found.end_ns) if found.end_ns is not None else None
        if found is None:
            return
        with self._cond:
            self._shown[camera_id] = _frame_shown(found)
            self._moved = found.time_ns


def _next_start(reader: PlaybackReader, camera_id: str, at: int) -> int | None:
    """Where the camera's footage goes on after ``at`` (None: nothing after it yet)."""
    starts = [
        rec.start_ns
        for rec in (reader.recording_after(camera_id, at), reader.growing(camera_id, at))
        if rec is not None and rec.start_ns > at
    ]
    return min(starts, default=None)


def _frame_shown(frame: Frame) -> Shown:
    return Shown(frame.camera_id, frame, None, (frame.time_ns, frame.end_ns))


class PlaybackFeed:
    """One camera's recorded pictures, converted into its tile's region (render thread)."""

    def __init__(self, camera_id: str, player: Player) -> None:
        self.camera_id = camera_id
        self.player = player
        self._converted: Frame | None = None
        self._redraw = False
        self.current: Shown | None = None  # what the tile shows now

    def refresh(self) -> Shown | None:
        self.current = self.player.shown(self.camera_id)
        return self.current

    def source_size(self) -> tuple[int, int] | None:
        frame = self.current.frame if self.current is not None else None
        return (frame.image.width, frame.image.height) if frame is not None else None

    def invalidate(self) -> None:
        self._redraw = True

    def convert_into(
        self, texture: np.ndarray, now: float | None = None, min_interval_s: float = 0.0
    ) -> bool:
        frame = self.current.frame if self.current is not None else None
        if frame is None or (frame is self._converted and not self._redraw):
            return False
        y, u, v = yuv_planes(frame.image)
        yuv420_to_rgba(y, u, v, texture)
        self._converted, self._redraw = frame, False
        return True
