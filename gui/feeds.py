"""Live frames for the console: each camera's shared-memory ring, converted into a tile's pixels.

A ``LiveFeed`` attaches to a camera's ring by name (from the engine's ``/health``), notices when
the ring was recreated (a worker or engine restart makes a new segment under the same name) and
re-attaches, and converts the newest frame straight from the ring's zero-copy views into the
tile's region of the grid's float32 RGBA texture with the scale kernel (``gui.kernel``: the
``native`` kernel compiled ahead of time). Frames torn by the writer while they were converted are
converted again from the newest frame. A tile's rate cap is applied here, on the camera's clock.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from typing import Protocol

import numpy as np

from gui.kernel import yuv420_to_rgba
from nvr.frames.ring import FrameRing

log = logging.getLogger(__name__)

_SHM_DIR = "/dev/shm"
_RECHECK_S = 1.0  # how often an attached ring is checked for having been replaced
_FPS_WINDOW = 64  # most frame arrivals kept for the displayed frame rate
_FPS_SPAN_S = 2.0  # the displayed frame rate is measured over this many seconds
_TORN_RETRIES = 3


class Feed(Protocol):
    """What the grid texture converts a tile's picture from: a live ring or recorded frames."""

    def source_size(self) -> tuple[int, int] | None: ...

    def invalidate(self) -> None: ...

    def convert_into(
        self, texture: np.ndarray, now: float | None = None, min_interval_s: float = 0.0
    ) -> bool: ...


class LiveFeed:
    """One camera's ring, read by the console; all methods run on the render thread."""

    def __init__(self, camera_id: str) -> None:
        self.camera_id = camera_id
        self.ring_name: str | None = None
        self.ring: FrameRing | None = None
        self.last_index = -1
        self.motion = False
        self.width = 0
        self.height = 0
        self.frames_shown = 0
        self._lost = 0.0  # frames the rate cap would have shown and the tile did not (fractional)
        self.convert_s = 0.0  # total kernel time, for the frame-time breakdown
        self._inode: int | None = None
        self._checked_at = 0.0
        self._arrivals: deque[float] = deque(maxlen=_FPS_WINDOW)
        self.last_frame_at = 0.0  # time.monotonic() when a new frame was last shown
        self.last_capture_ns = 0  # the camera's capture time of the frame last shown
        self._redraw = False

    # --- ring lifetime ------------------------------------------------------------------------

    def follow(self, ring_name: str | None, now: float) -> None:
        """Track the ring the engine reports; attach, re-attach after a restart, or let go."""
        if ring_name != self.ring_name:
            self.release()
            self.ring_name = ring_name
        if ring_name is None:
            return
        if self.ring is not None and now - self._checked_at < _RECHECK_S:
            return
        self._checked_at = now
        inode = _inode(ring_name)
        if self.ring is not None and (inode != self._inode or self.ring.closed):
            log.info("ring %s of %s was replaced; re-attaching", ring_name, self.camera_id)
            self.release()
        if self.ring is None and inode is not None:
            try:
                self.ring = FrameRing.attach(ring_name)
            except (OSError, ValueError) as err:
                log.debug("cannot attach ring %s yet: %s", ring_name, err)
                return
            self._inode = inode
            self.last_index = -1

    def release(self) -> None:
        if self.ring is not None:
            self.ring.close()
        self.ring = None
        self._inode = None

    # --- frames -------------------------------------------------------------------------------

    def source_size(self) -> tuple[int, int] | None:
        """Width and height of the camera's newest picture, None before the first one."""
        if self.ring is None:
            return (self.width, self.height) if self.width else None
        latest = self.ring.latest()
        if latest is None:
            return None
        return latest.width, latest.height

    def invalidate(self) -> None:
        """The tile's pixels were replaced: convert the newest frame again, even if shown."""
        self._redraw = True

    @property
    def needs_redraw(self) -> bool:
        return self._redraw

    def convert_into(
        self, texture: np.ndarray, now: float | None = None, min_interval_s: float = 0.0
    ) -> bool:
        """Convert the newest frame into ``texture`` if it is newer than the last one shown and
        the tile's rate cap allows: captured at least ``min_interval_s`` after the last one
        shown, or that long ago on the render loop's clock.

        The cap is measured on the camera's clock: a 15 fps camera under a 15 fps cap shows
        every frame however the render frames fall, and a 30 fps camera shows every other one.
        The loop's clock is the backstop for cameras whose timestamps repeat or stall.
        ``texture`` is the tile's (h, w, 4) float32 pixels: a C-contiguous array or a region of
        one (rows may be strided). Returns True when it now holds a new frame.
        """
        if self.ring is None:
            return False
        now = time.monotonic() if now is None else now
        for _ in range(_TORN_RETRIES):
            frame = self.ring.latest()
            if frame is None or (frame.index <= self.last_index and not self._redraw):
                return False
            since_ns = frame.capture_ns - self.last_capture_ns
            capped = (
                0 <= since_ns < min_interval_s * 1e9 and now - self.last_frame_at < min_interval_s
            )
            if capped and not self._redraw and self.last_index >= 0:
                return False
            started = time.perf_counter()
            yuv420_to_rgba(frame.y, frame.u, frame.v, texture)
            self.convert_s += time.perf_counter() - started
            if frame.valid():
                # A tile just made visible (or re-drawn) did not lose the frames it never showed.
                counted = not self._redraw and self.last_index >= 0
                self._redraw = False
                if frame.index == self.last_index:
                    return True
                if counted:
                    self._lost += _lost(frame.index - self.last_index - 1, since_ns, min_interval_s)
                self.last_index = frame.index
                self.last_capture_ns = frame.capture_ns
                self.motion = frame.motion
                self.width, self.height = frame.width, frame.height
                self.frames_shown += 1
                self._arrivals.append(now)
                self.last_frame_at = now
                return True
        return False

    @property
    def frames_skipped(self) -> int:
        """Published frames the tile should have shown (under its rate cap) and did not, because
        the render loop came too late; frames published while it was hidden do not count."""
        return round(self._lost)

    def fps(self, now: float) -> float:
        """Frames shown per second over the last two seconds (0 when stalled)."""
        recent = [t for t in self._arrivals if now - t <= _FPS_SPAN_S]
        if len(recent) < 2:
            return 0.0
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else 0.0


def _lost(gap: int, since_ns: int, min_interval_s: float) -> float:
    """Frames lost between two frames shown ``gap + 1`` frames and ``since_ns`` apart on the
    camera's clock: the cap shows every ``k``-th frame (``k`` frames span ``min_interval_s``), so
    ``(gap + 1) / k`` should have been shown where one was. Without a usable clock, all ``gap``.
    """
    if gap <= 0:
        return 0.0
    period_ns = since_ns / (gap + 1)
    if period_ns <= 0:
        return float(gap)
    k = max(1, math.ceil(min_interval_s * 1e9 / period_ns))
    return max(0.0, (gap + 1) / k - 1)


def _inode(ring_name: str) -> int | None:
    try:
        return os.stat(os.path.join(_SHM_DIR, ring_name)).st_ino
    except OSError:
        return None
