"""Playback as a plain model: which cameras, the play cursor and its clock, the timeline's zoom,
the in and out marks. No Dear PyGui: tests drive it without a window.

The cursor is the one truth of "when": every camera in the grid shows its recorded frame at the
cursor (synchronised playback), the timeline draws it, the transport moves it. While playing it
advances at ``speed`` times the render loop's clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0)
KEYFRAMES_ABOVE = 4.0  # faster than this plays keyframes only
MAX_CAMERAS = 4
S = 1_000_000_000
MIN_SPAN_NS = 2 * S  # the timeline's closest zoom: single frames 30 px apart at 15 fps
MAX_SPAN_NS = 30 * 86_400 * S  # and its widest
JUMP_S = 10
LAST_MINUTE_NS = 60 * S


@dataclass(frozen=True, slots=True)
class Marks:
    """The export range marked on the timeline (either end may be unset)."""

    start_ns: int | None = None
    end_ns: int | None = None

    @property
    def complete(self) -> bool:
        return self.start_ns is not None and self.end_ns is not None and self.start_ns < self.end_ns


class PlaybackModel:
    """The state of the Playback view and the actions on it."""

    def __init__(self, now_ns: int | None = None) -> None:
        now_ns = time.time_ns() if now_ns is None else now_ns
        self.cameras: list[str] = []
        self.selected: str | None = None  # the camera stepping and the events list follow
        self.cursor_ns = now_ns - LAST_MINUTE_NS
        self.playing = False
        self.speed = 1.0
        self.window = (now_ns - 3600 * S, now_ns)  # the timeline's view
        self.marks = Marks()
        self.scrubbing = False
        self.error: str | None = None  # the last refused input, for the status line
        self._clock: float | None = None  # the render loop's time at the last tick

    # -- the clock -----------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Advance the cursor by the time since the last tick, at ``speed``, while playing
        (not while the operator drags it); the timeline follows a cursor that leaves it."""
        if self.playing and not self.scrubbing and self._clock is not None:
            self.cursor_ns += int((now - self._clock) * self.speed * S)
            self._follow()
        self._clock = now

    @property
    def keyframes_only(self) -> bool:
        """Playing so fast that only keyframes are shown."""
        return self.playing and self.speed > KEYFRAMES_ABOVE

    # -- transport -------------------------------------------------------------------------------

    def play_pause(self) -> None:
        self.playing = not self.playing

    def set_speed(self, speed: float) -> None:
        if speed in SPEEDS:
            self.speed = speed

    def faster(self, step: int) -> None:
        """The next speed up (``step`` 1) or down (-1)."""
        i = SPEEDS.index(self.speed) + step
        self.speed = SPEEDS[min(len(SPEEDS) - 1, max(0, i))]

    def seek(self, at_ns: int) -> None:
        """Put the cursor at ``at_ns`` (playing goes on from there)."""
        self.cursor_ns = at_ns
        self._follow()

    def jump(self, seconds: float) -> None:
        self.seek(self.cursor_ns + int(seconds * S))

    def moved_to(self, at_ns: int) -> None:
        """A frame step landed at ``at_ns`` (the player found the frame): stop there."""
        self.playing = False
        self.seek(at_ns)

    def next_event(self, starts: list[int], step: int) -> bool:
        """Jump to the next (``step`` 1) or previous (-1) time in ``starts`` (event starts, or
        recording and gap edges); False when there is none that way."""
        if step > 0:
            later = [t for t in starts if t > self.cursor_ns + S // 100]
            target = min(later, default=None)
        else:
            earlier = [t for t in starts if t < self.cursor_ns - S // 2]
            target = max(earlier, default=None)
        if target is None:
            return False
        self.seek(target)
        return True

    def go_to(self, text: str) -> bool:
        """Seek to a date and time typed by the operator (``2026-12-05 14:30:05``, local time,
        or ISO 8601 with a zone); False (and ``error`` set) when it cannot be read."""
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            self.error = (
                f"cannot read {text.strip()[:40]!r}: type a date and time like 2026-12-05 14:30:00"
            )
            return False
        if moment.tzinfo is None:
            moment = moment.astimezone()
        self.error = None
        at_ns = int(moment.timestamp()) * S + moment.microsecond * 1000
        span = self.window[1] - self.window[0]
        self.window = (at_ns - span // 2, at_ns + span // 2)
        self.seek(at_ns)
        return True

    # -- cameras ---------------------------------------------------------------------------------

    def open(self, camera_id: str, at_ns: int) -> None:
        """Show ``camera_id`` (added to the grid if there is room, else alone) from ``at_ns``,
        playing at 1x: what "open its last minute" from the live grid does."""
        if camera_id not in self.cameras:
            if len(self.cameras) >= MAX_CAMERAS:
                self.cameras = []
            self.cameras.append(camera_id)
        self.selected = camera_id
        self.window = (at_ns - 60 * S, at_ns + 120 * S)
        self.cursor_ns = at_ns
        self.speed, self.playing = 1.0, True

    def toggle_camera(self, camera_id: str) -> bool:
        """Add a camera to the grid or take it off; False when four are shown already."""
        if camera_id in self.cameras:
            self.cameras.remove(camera_id)
            if self.selected == camera_id:
                self.selected = self.cameras[0] if self.cameras else None
            return True
        if len(self.cameras) >= MAX_CAMERAS:
            self.error = f"at most {MAX_CAMERAS} cameras play in sync: take one off first"
            return False
        self.cameras.append(camera_id)
        self.selected = self.selected or camera_id
        return True

    def select(self, camera_id: str) -> None:
        if camera_id in self.cameras:
            self.selected = camera_id

    # -- the timeline --------------------------------------------------------------------------

    def zoom(self, factor: float, anchor_ns: int | None = None) -> None:
        """Zoom the timeline by ``factor`` (< 1: in), keeping ``anchor_ns`` (the mouse's time,
        or the cursor) where it is on screen."""
        start, end = self.window
        anchor = self.cursor_ns if anchor_ns is None else anchor_ns
        span = min(MAX_SPAN_NS, max(MIN_SPAN_NS, int((end - start) * factor)))
        share = (anchor - start) / (end - start) if end > start else 0.5
        new_start = anchor - int(span * share)
        self.window = (new_start, new_start + span)

    def pan(self, fraction: float) -> None:
        start, end = self.window
        shift = int((end - start) * fraction)
        self.window = (start + shift, end + shift)

    def show_span(self, span_ns: int) -> None:
        """Zoom to ``span_ns`` around the cursor."""
        span = min(MAX_SPAN_NS, max(MIN_SPAN_NS, span_ns))
        self.window = (self.cursor_ns - span // 2, self.cursor_ns + span // 2)

    def scrub(self, at_ns: int) -> None:
        """The operator drags the cursor (pictures follow roughly, from keyframes)."""
        self.scrubbing = True
        self.cursor_ns = at_ns

    def release(self, at_ns: int) -> None:
        """The drag ended: the cursor lands at ``at_ns``, on the exact frame."""
        self.scrubbing = False
        self.cursor_ns = at_ns

    def mark(self, end: bool) -> None:
        """Mark the cursor as the export's start (``end`` False) or end."""
        if end:
            self.marks = Marks(self.marks.start_ns, self.cursor_ns)
        else:
            self.marks = Marks(self.cursor_ns, self.marks.end_ns)

    def _follow(self) -> None:
        """Keep the cursor on the timeline: page it along when it leaves the view."""
        start, end = self.window
        if not start <= self.cursor_ns < end:
            span = end - start
            self.window = (self.cursor_ns - span // 10, self.cursor_ns - span // 10 + span)
