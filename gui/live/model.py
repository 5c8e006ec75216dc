"""The live grid as a plain model: what is on screen, the engine as last seen, the saved layout.

No Dear PyGui here: tests drive it without a window; ``gui.live.panel`` renders it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from gui.link import Snapshot
from gui.live.tours import TourRunner, apply_layout, layout_name, save_layout
from gui.live.zoom import Zoom
from gui.panel import Feedback
from gui.view import MAX_DWELL_S, MIN_DWELL_S, ViewState

log = logging.getLogger(__name__)

SAVE_DELAY_S = 1.0  # the layout is saved this long after its last change


class LiveModel:
    """The grid's ``ViewState`` and the actions on it; every change is saved a second later."""

    def __init__(
        self, view: ViewState, state_path: Path | None, feedback: Feedback, engine: Snapshot
    ) -> None:
        self.view = view
        self.state_path = state_path
        self.feedback = feedback
        self.engine = engine
        self.zooms: dict[str, Zoom] = {}  # by camera: the console's own view, not saved
        self.tour = TourRunner(view)
        self._dirty_at: float | None = None

    def sync(self, engine: Snapshot) -> None:
        """Take the engine's latest snapshot: follow its camera list."""
        self.engine = engine
        if engine.health is not None and self.view.sync_cameras(list(engine.health.cameras)):
            self._changed()

    @property
    def panic(self) -> bool:
        """Panic recording is on, as the engine says now."""
        return self.engine.connected and self.engine.health is not None and self.engine.health.panic

    def name(self, camera_id: str) -> str:
        camera = self.engine.cameras.get(camera_id)
        return camera.name if camera is not None and camera.name else camera_id

    def set_layout(self, name: str) -> None:
        if self.view.set_layout(name):
            self._acted()

    def select(self, camera_id: str | None) -> None:
        if self.view.select(camera_id):
            self._acted()

    def select_step(self, step: int) -> None:
        if self.view.select_step(step):
            self._acted()

    def toggle_fullscreen(self, camera_id: str | None = None) -> None:
        if self.view.toggle_fullscreen(camera_id):
            self._acted()
            if self.view.fullscreen is not None and self.tour.settings.running:
                self.tour.toggle(time.monotonic())  # a closer look: the tour waits for it
                self.feedback.show("Tour paused for full screen (T resumes it)")

    def exit_fullscreen(self) -> None:
        if self.view.exit_fullscreen():
            self._acted()

    def move(self, source: str, target: str) -> None:
        if self.view.move(source, target):
            self._acted()
            self.feedback.show(f"moved {self.name(source)} to {self.name(target)}'s place")

    def save_layout(self, name: str) -> None:
        replaced = layout_name(name) in self.view.saved
        error = save_layout(self.view, name)
        if error:
            self.feedback.show(f"Layout not saved: {error}", error=True)
            return
        self._changed()
        verb = "replaced" if replaced else "saved"
        self.feedback.show(f"Layout {layout_name(name)!r} {verb}")

    def apply_layout(self, name: str) -> None:
        if apply_layout(self.view, name):
            self._acted()

    def delete_layout(self, name: str) -> None:
        if self.view.saved.pop(name, None) is not None:
            self._changed()
            self.feedback.show(f"Layout {name!r} deleted")

    def toggle_tour(self, now: float) -> None:
        running = self.tour.toggle(now)
        self._changed()
        self.feedback.show(self.tour.status(now) if running else "Tour paused (T resumes it)")

    def set_tour(self, kind: str | None = None, dwell_s: int | None = None) -> None:
        settings = self.view.tour
        if kind is not None:
            settings.kind = kind
        if dwell_s is not None:
            settings.dwell_s = min(MAX_DWELL_S, max(MIN_DWELL_S, dwell_s))
        self._changed()

    def tour_update(self, now: float) -> None:
        if self.tour.update(now):
            self._changed()

    def zoom(self, camera_id: str) -> Zoom:
        """The camera's digital zoom (1x until the wheel changes it)."""
        return self.zooms.setdefault(camera_id, Zoom())

    def reset_zoom(self, camera_id: str) -> None:
        self.zooms.pop(camera_id, None)

    def turn_page(self, step: int) -> None:
        if self.view.turn_page(step):
            self._acted()

    def save_if_due(self, now: float) -> None:
        if self._dirty_at is not None and now - self._dirty_at > SAVE_DELAY_S:
            self.save_state()

    def save_state(self) -> None:
        self._dirty_at = None
        if self.state_path is None:
            return
        try:
            self.view.save(self.state_path)
        except OSError as err:
            log.warning("cannot save the console layout to %s: %s", self.state_path, err)

    def _changed(self) -> None:
        self._dirty_at = time.monotonic()

    def _acted(self) -> None:
        """The operator changed the grid: saved soon; a tour waits a whole dwell before its
        next step, so it never undoes what was just done."""
        self._changed()
        self.tour.postpone(time.monotonic())
