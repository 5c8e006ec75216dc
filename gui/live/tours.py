"""Saved layouts and tours of the live grid, as plain objects (no Dear PyGui).

A saved layout is a grid (any of ``gui.view.LAYOUTS``, uneven ones too) with the camera of each
cell, under a name the operator gives; applying it puts those cameras first, in those cells.
A tour shows, every ``dwell_s`` seconds, the next page of the grid, the next camera full
screen, or the next saved layout; ``T`` starts and pauses it. Both are kept in the console's
state file with the rest of the view.
"""

from __future__ import annotations

from gui.view import LAYOUTS, SavedLayout, TourSettings, ViewState

MAX_NAME = 40


def layout_name(text: str) -> str:
    """A typed name as it is kept: its words, single-spaced."""
    return " ".join(text.split())


def save_layout(view: ViewState, name: str) -> str | None:
    """Save what is on screen under ``name``; an error message, or None when saved."""
    name = layout_name(name)
    if not name:
        return "type a name for the layout first"
    if len(name) > MAX_NAME:
        return f"a name has at most {MAX_NAME} characters, this one {len(name)}"
    if view.fullscreen is not None:
        return "leave full screen first: a saved layout is a grid"
    view.saved[name] = SavedLayout(view.layout, tuple(view.visible()))
    return None


def apply_layout(view: ViewState, name: str) -> bool:
    """Show saved layout ``name`` as it was saved: its grid, its cameras in their cells, its
    empty cells empty (a camera the engine no longer has leaves its cell empty). The grid's
    own order is left as it is: the next page or layout returns to it."""
    saved = view.saved.get(name)
    if saved is None or saved.layout not in LAYOUTS:
        return False
    view.pin(name, saved.layout, saved.cameras)
    return True


class TourRunner:
    """Advances the view's tour on the render loop's clock."""

    def __init__(self, view: ViewState) -> None:
        self.view = view
        self.due_at: float | None = None  # monotonic time of the next step
        self._layout_index = -1

    @property
    def settings(self) -> TourSettings:
        return self.view.tour

    def toggle(self, now: float) -> bool:
        """Start or pause the tour; whether it runs now."""
        self.settings.running = not self.settings.running
        self.due_at = now + self.settings.dwell_s if self.settings.running else None
        return self.settings.running

    def postpone(self, now: float) -> None:
        """The operator acted on the grid: the next step waits a whole dwell from now."""
        if self.settings.running:
            self.due_at = now + self.settings.dwell_s

    def update(self, now: float) -> bool:
        """Take the next step when due; whether the view changed."""
        if not self.settings.running:
            self.due_at = None
            return False
        if self.due_at is None:
            self.due_at = now + self.settings.dwell_s
        if now < self.due_at:
            return False
        self.due_at = now + self.settings.dwell_s
        return self.step()

    def step(self) -> bool:
        view, kind = self.view, self.settings.kind
        if kind == "cameras":
            if not view.order:
                return False
            if view.fullscreen is None:
                view.selected = view.order[-1] if view.selected is None else view.selected
                view.toggle_fullscreen(view.selected)
            return view.select_step(1)
        if kind == "layouts":
            names = sorted(view.saved)
            if not names:
                return False
            self._layout_index = (self._layout_index + 1) % len(names)
            return apply_layout(view, names[self._layout_index])
        if view.fullscreen is not None:
            view.exit_fullscreen()
        return view.turn_page(1)

    def status(self, now: float) -> str:
        """The toolbar's word on the tour: "" when it does not run."""
        if not self.settings.running:
            return ""
        left = max(0, round((self.due_at or now) - now))
        return f"TOUR {self.settings.kind} · {left} s"
