"""Digital zoom and pan of a live tile: which part of the picture the tile shows.

The wheel over a tile zooms in or out by ``STEP`` per notch around the point under the mouse (it
stays under the mouse), from 1x to ``MAX_ZOOM``; a drag on a zoomed tile pans it (on a tile at
1x a drag still swaps tiles); ``Z`` or the tile menu resets it. Plain arithmetic on fractions of
the picture (0..1), no Dear PyGui: the tile draws the window as its image's texture
coordinates. The zoom is the console's own view, not the engine's, and is not saved.
"""

from __future__ import annotations

from dataclasses import dataclass

STEP = 1.25
MAX_ZOOM = 8.0


@dataclass(slots=True)
class Zoom:
    """``factor`` x, centred on picture point (``cx``, ``cy``)."""

    factor: float = 1.0
    cx: float = 0.5
    cy: float = 0.5

    @property
    def zoomed(self) -> bool:
        return self.factor > 1.0

    def window(self) -> tuple[float, float, float, float]:
        """The part of the picture shown: (left, top, right, bottom) as fractions."""
        half = 0.5 / self.factor
        return self.cx - half, self.cy - half, self.cx + half, self.cy + half

    def picture_point(self, fx: float, fy: float) -> tuple[float, float]:
        """The picture point shown at fraction (``fx``, ``fy``) of the tile's picture area."""
        left, top, right, bottom = self.window()
        return left + fx * (right - left), top + fy * (bottom - top)

    def wheel(self, notches: float, fx: float, fy: float) -> None:
        """Zoom by ``notches`` (positive: in) keeping the point at (``fx``, ``fy``) in place."""
        px, py = self.picture_point(fx, fy)
        self.factor = min(MAX_ZOOM, max(1.0, self.factor * STEP**notches))
        span = 1.0 / self.factor
        self.cx, self.cy = px + (0.5 - fx) * span, py + (0.5 - fy) * span
        self._clamp()

    def pan(self, dfx: float, dfy: float) -> None:
        """Drag the picture by (``dfx``, ``dfy``) fractions of the tile: it follows the mouse."""
        self.cx -= dfx / self.factor
        self.cy -= dfy / self.factor
        self._clamp()

    def label(self) -> str:
        return f"ZOOM {self.factor:.1f}x" if self.zoomed else ""

    def _clamp(self) -> None:
        half = 0.5 / self.factor
        self.cx = min(1.0 - half, max(half, self.cx))
        self.cy = min(1.0 - half, max(half, self.cy))
