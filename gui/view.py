"""What the operator sees, as plain objects: grid layout, camera order, selection, full screen.

No Dear PyGui here: tests drive these objects without a window, and ``gui.live`` renders them.
The state is saved as a small JSON file so the layout and order survive a restart.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from nvr.storage.durable import atomic_write

log = logging.getLogger(__name__)

Span = tuple[int, int, int, int]  # one cell: its row, column, rows and columns in grid units


@dataclass(frozen=True, slots=True)
class Layout:
    """A grid of ``rows`` x ``cols`` units whose cells (``spans``, in camera order) may cover
    several units: one large tile with small ones around it."""

    rows: int
    cols: int
    spans: tuple[Span, ...]

    @property
    def cells(self) -> int:
        return len(self.spans)


def uniform(rows: int, cols: int) -> Layout:
    return Layout(rows, cols, tuple((r, c, 1, 1) for r in range(rows) for c in range(cols)))


def _one_large(units: int) -> Layout:
    """One tile of (units - 1)^2 units at the top left, small tiles down the right and along
    the bottom: "1+5" on 3x3, "1+7" on 4x4."""
    big = units - 1
    right = tuple((r, big, 1, 1) for r in range(big))
    bottom = tuple((big, c, 1, 1) for c in range(units))
    return Layout(units, units, ((0, 0, big, big), *right, *bottom))


# Layout name -> its grid. "2x4" is the widescreen 8-way split: 2 rows of 4.
LAYOUTS: dict[str, Layout] = {
    "1x1": uniform(1, 1),
    "2x2": uniform(2, 2),
    "3x3": uniform(3, 3),
    "4x4": uniform(4, 4),
    "2x4": uniform(2, 4),
    "1+5": _one_large(3),
    "1+7": _one_large(4),
}
FULL_SCREEN = uniform(1, 1)
TOUR_KINDS = {"pages": "pages", "cameras": "cameras, full screen", "layouts": "saved layouts"}
MIN_DWELL_S, MAX_DWELL_S = 3, 600
DEFAULT_LAYOUT = "2x2"
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class SavedLayout:
    """A grid saved under a name, with the camera of each cell (None: an empty one)."""

    layout: str
    cameras: tuple[str | None, ...]


@dataclass(slots=True)
class TourSettings:
    """What the tour shows in turn (one of ``TOUR_KINDS``), how long each, whether it runs."""

    kind: str = "pages"
    dwell_s: int = 10
    running: bool = False


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle in viewport pixels."""

    x: int
    y: int
    w: int
    h: int

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h


def layout_rects(layout: Layout, area: Rect, gap: int = 2) -> list[Rect]:
    """Cells of ``layout`` filling ``area``, in camera order, ``gap`` pixels apart.

    Units share the leftover pixels so the grid fills the area exactly; every cell is at least
    1x1 pixel.
    """
    rows, cols = layout.rows, layout.cols
    rects = []
    for r, c, spans_r, spans_c in layout.spans:
        y0 = area.y + (area.h + gap) * r // rows
        y1 = area.y + (area.h + gap) * (r + spans_r) // rows - gap
        x0 = area.x + (area.w + gap) * c // cols
        x1 = area.x + (area.w + gap) * (c + spans_c) // cols - gap
        rects.append(Rect(x0, y0, max(1, x1 - x0), max(1, y1 - y0)))
    return rects


# 19 methods: every change the operator can make to the grid, and the saved form of it, in one
# plain object that the live panel renders and tests drive.
@dataclass
class ViewState:
    """The live view: layout, camera order, page, selected camera and full-screen camera."""

    layout: str = DEFAULT_LAYOUT
    order: list[str] = field(default_factory=list)
    selected: str | None = None
    fullscreen: str | None = None
    page: int = 0
    saved: dict[str, SavedLayout] = field(default_factory=dict)  # by name (``gui.live.tours``)
    tour: TourSettings = field(default_factory=TourSettings)
    # The cells of a saved layout on screen (None: the pages of ``order``); its name.
    pinned: tuple[str | None, ...] | None = None
    pinned_name: str | None = None

    @property
    def cells(self) -> int:
        return LAYOUTS[self.layout].cells

    @property
    def pages(self) -> int:
        if self.pinned is not None:
            return 1
        return max(1, -(-len(self.order) // self.cells))

    def pin(self, name: str, layout: str, cameras: tuple[str | None, ...]) -> None:
        """Show exactly these cells (a saved layout), empty ones too; the order stays."""
        known = set(self.order)
        cells = [c if c in known else None for c in cameras[: LAYOUTS[layout].cells]]
        self.layout, self.fullscreen, self.page = layout, None, 0
        self.pinned = tuple(cells + [None] * (LAYOUTS[layout].cells - len(cells)))
        self.pinned_name = name
        if self.selected not in self.visible():
            self.selected = None

    def unpin(self) -> bool:
        """Back to the pages of ``order`` (a layout, a page, a selection elsewhere)."""
        changed = self.pinned is not None
        self.pinned = self.pinned_name = None
        return changed

    def sync_cameras(self, camera_ids: list[str]) -> bool:
        """Follow the engine's camera list: keep the operator's order, append new cameras.

        Returns True when anything changed.
        """
        known = set(camera_ids)
        order = [c for c in self.order if c in known]
        order += [c for c in camera_ids if c not in order]
        changed = order != self.order
        self.order = order
        if self.selected not in known:
            changed |= self.selected is not None
            self.selected = None
        if self.fullscreen not in known:
            changed |= self.fullscreen is not None
            self.fullscreen = None
        if self.pinned is not None and any(c not in known for c in self.pinned if c):
            self.pinned = tuple(c if c in known else None for c in self.pinned)
            changed = True
        changed |= self._clamp_page()
        changed |= self._page_of_selection()
        return changed

    def set_layout(self, name: str) -> bool:
        """Switch the grid layout (leaving full screen); the selected camera stays on screen."""
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}; choose one of {', '.join(LAYOUTS)}")
        changed = name != self.layout or self.fullscreen is not None
        changed |= self.unpin()
        self.layout = name
        self.fullscreen = None
        if self.selected in self.order:
            self.page = self.order.index(self.selected) // self.cells
        self._clamp_page()
        return changed

    def alone(self) -> str | None:
        """The camera shown alone (full screen, or the only cell of a 1x1 grid), if any."""
        shown = self.visible()
        return shown[0] if len(shown) == 1 else None

    def visible(self) -> list[str | None]:
        """Camera id shown in each cell of the current view (None: an empty cell)."""
        if self.fullscreen is not None:
            return [self.fullscreen]
        if self.pinned is not None:
            return list(self.pinned)
        start = self.page * self.cells
        shown: list[str | None] = list(self.order[start : start + self.cells])
        return shown + [None] * (self.cells - len(shown))

    def grid(self) -> Layout:
        """The layout on screen now (one cell in full screen)."""
        return FULL_SCREEN if self.fullscreen is not None else LAYOUTS[self.layout]

    def rects(self, area: Rect, gap: int = 2) -> list[Rect]:
        return layout_rects(self.grid(), area, gap)

    def camera_at(self, area: Rect, px: float, py: float, gap: int = 2) -> str | None:
        """The camera whose tile is under viewport point (px, py), if any."""
        for cam, rect in zip(self.visible(), self.rects(area, gap), strict=True):
            if cam is not None and rect.contains(px, py):
                return cam
        return None

    def select(self, camera_id: str | None) -> bool:
        if camera_id is not None and camera_id not in self.order:
            return False
        changed = camera_id != self.selected
        self.selected = camera_id
        return changed

    def toggle_fullscreen(self, camera_id: str | None = None) -> bool:
        """Full screen for ``camera_id`` (default: the selected camera), or back to the grid."""
        if self.fullscreen is not None:
            self.fullscreen = None
            return True
        target = camera_id or self.selected
        if target is None or target not in self.order:
            return False
        self.selected = target
        self.fullscreen = target
        return True

    def exit_fullscreen(self) -> bool:
        changed = self.fullscreen is not None
        self.fullscreen = None
        self._page_of_selection()
        return changed

    def move(self, source: str, target: str) -> bool:
        """Drop tile ``source`` onto tile ``target``: the two cameras swap places."""
        if source == target or source not in self.order or target not in self.order:
            return False
        if self.pinned is not None and source in self.pinned and target in self.pinned:
            cells = list(self.pinned)
            i, j = cells.index(source), cells.index(target)
            cells[i], cells[j] = target, source
            self.pinned = tuple(cells)
            return True
        i, j = self.order.index(source), self.order.index(target)
        self.order[i], self.order[j] = target, source
        return True

    def turn_page(self, step: int) -> bool:
        """Next (+1) or previous (-1) page of cameras, wrapping around; in full screen the
        next or previous camera; from a saved layout, the pages of the order."""
        if self.fullscreen is not None:
            return self.select_step(step)
        if self.unpin():
            self.page = 0 if step > 0 else self.pages - 1
        elif self.pages == 1:
            return False
        else:
            self.page = (self.page + step) % self.pages
        if self.cells == 1:  # the one camera on screen is the one keys act on
            self.selected = self.visible()[0]
        if self.selected not in self.visible():  # never a selection the operator cannot see
            self.selected = None
        return True

    def select_step(self, step: int) -> bool:
        """Move the selection to the next (+1) or previous (-1) camera in the order."""
        if not self.order:
            return False
        index = self.order.index(self.selected) + step if self.selected in self.order else 0
        self.selected = self.order[index % len(self.order)]
        if self.fullscreen is not None:
            self.fullscreen = self.selected
        elif self.pinned is None or self.selected not in self.pinned:
            self.unpin()
            self.page = self.order.index(self.selected) // self.cells
        return True

    def _page_of_selection(self) -> bool:
        """Show the page of the selected camera (R and S act on it: it must be on screen)."""
        if self.fullscreen is not None or self.selected not in self.order:
            return False
        if self.pinned is not None:
            if self.selected in self.pinned:
                return False
            self.unpin()
        page = self.order.index(self.selected) // self.cells
        changed, self.page = page != self.page, page
        return changed

    def _clamp_page(self) -> bool:
        page = min(max(self.page, 0), self.pages - 1)
        changed = page != self.page
        self.page = page
        return changed

    # --- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        return {
            "version": STATE_VERSION,
            "layout": self.layout,
            "order": list(self.order),
            "selected": self.selected,
            "fullscreen": self.fullscreen,
            "page": self.page,
            "pinned": list(self.pinned) if self.pinned is not None else None,
            "pinned_name": self.pinned_name,
            "saved": {
                name: {"layout": s.layout, "cameras": list(s.cameras)}
                for name, s in self.saved.items()
            },
            "tour": {
                "kind": self.tour.kind,
                "dwell_s": self.tour.dwell_s,
                "running": self.tour.running,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ViewState:
        """Rebuild a saved state, ignoring values that do not make sense any more."""
        layout = data.get("layout")
        order = data.get("order")
        selected = data.get("selected")
        fullscreen = data.get("fullscreen")
        page = data.get("page")
        state = cls(
            layout=layout if isinstance(layout, str) and layout in LAYOUTS else DEFAULT_LAYOUT,
            order=[c for c in order if isinstance(c, str)] if isinstance(order, list) else [],
            selected=selected if isinstance(selected, str) else None,
            fullscreen=fullscreen if isinstance(fullscreen, str) else None,
            page=page if isinstance(page, int) else 0,
        )
        state.saved = _saved_layouts(data.get("saved"))
        state.tour = _tour(data.get("tour"))
        pinned, pinned_name = data.get("pinned"), data.get("pinned_name")
        if isinstance(pinned, list) and isinstance(pinned_name, str):
            state.order = list(dict.fromkeys(state.order))
            cells = tuple(c if isinstance(c, str) else None for c in pinned)
            state.pin(pinned_name, state.layout, cells)
        state.order = list(dict.fromkeys(state.order))
        if state.selected not in state.order:
            state.selected = None
        state._clamp_page()
        state._page_of_selection()
        return state

    @classmethod
    def load(cls, path: Path) -> ViewState:
        """The state saved at ``path``; a missing or unreadable file gives the default view."""
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as err:
            log.warning(
                "console state %s is unreadable (%s); starting with the default view", path, err
            )
            return cls()
        if not isinstance(data, dict):
            log.warning(
                "console state %s is not a JSON object; starting with the default view", path
            )
            return cls()
        return cls.from_dict(data)

    def save(self, path: Path) -> None:
        """Write the state atomically (a crash leaves the old file or the new one)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(self.to_dict(), indent=1).encode())


def default_state_path() -> Path:
    """``$XDG_CONFIG_HOME/nvr/console.json`` (``~/.config/nvr/console.json``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nvr" / "console.json"


def _saved_layouts(data: object) -> dict[str, SavedLayout]:
    """Saved layouts from the state file, the ones that still make sense."""
    if not isinstance(data, dict):
        return {}
    saved = {}
    for name, entry in data.items():
        if not isinstance(name, str) or not isinstance(entry, dict):
            continue
        layout, cameras = entry.get("layout"), entry.get("cameras")
        if layout in LAYOUTS and isinstance(cameras, list):
            cells = [c if isinstance(c, str) else None for c in cameras]
            saved[name] = SavedLayout(layout, tuple(cells[: LAYOUTS[layout].cells]))
    return saved


def _tour(data: object) -> TourSettings:
    if not isinstance(data, dict):
        return TourSettings()
    kind, dwell, running = data.get("kind"), data.get("dwell_s"), data.get("running")
    return TourSettings(
        kind=kind if isinstance(kind, str) and kind in TOUR_KINDS else "pages",
        dwell_s=(
            min(MAX_DWELL_S, max(MIN_DWELL_S, dwell))
            if isinstance(dwell, int) and not isinstance(dwell, bool)
            else 10
        ),
        running=running is True,
    )
