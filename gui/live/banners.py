"""What is drawn over the whole grid: the panic frame and banner, and the engine-offline banner."""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from gui import theme
from gui.draw import CHAR_PX, Drawn, wrap
from gui.present import format_duration
from gui.view import Rect

_WHITE = (255, 255, 255, 255)


class Banners:
    """The grid's banners, made hidden in its drawlist above the tiles."""

    def __init__(self, grid: int, drawn: Drawn) -> None:
        self._drawn = drawn
        self._panic_seen_at: float | None = None  # when this console first saw panic on
        self.panic_bg = int(
            dpg.draw_rectangle(
                (0, 0), (1, 1), color=theme.PANIC, fill=theme.PANIC_BG, parent=grid, show=False
            )
        )
        self.panic_text = int(
            dpg.draw_text((0, 0), "", color=_WHITE, size=theme.FONT_PX + 2, parent=grid, show=False)
        )
        self.panic_frame = int(
            dpg.draw_rectangle(
                (0, 0), (1, 1), color=theme.PANIC, thickness=4, parent=grid, show=False
            )
        )
        self.engine_bg = int(
            dpg.draw_rectangle(
                (0, 0), (1, 1), color=theme.ERROR, fill=(60, 10, 10, 235), parent=grid, show=False
            )
        )
        self.engine_text = int(
            dpg.draw_text((0, 0), "", color=_WHITE, size=theme.FONT_PX, parent=grid, show=False)
        )

    def draw(self, area: Rect, panic: bool, engine_error: str | None, now: float) -> None:
        """Panic: a red frame round the grid and a banner with how long it has been on.
        ``engine_error`` (the engine is not connected): why, across the bottom of the grid, where
        it covers no tile's title bar or badge (those say NO ENGINE), with panic's above it."""
        engine_top = area.h
        if engine_error is not None:
            lines = wrap(engine_error, max(20, (area.w - 80) // CHAR_PX))[:3]
            engine_top = area.h - 36 - 20 * len(lines)
            self._drawn.set(
                self.engine_bg,
                show=True,
                pmin=(20, engine_top),
                pmax=(area.w - 20, area.h - 8),
            )
            self._drawn.set(
                self.engine_text, show=True, pos=(32, engine_top + 12), text="\n".join(lines)
            )
        else:
            self._drawn.set(self.engine_bg, show=False)
            self._drawn.set(self.engine_text, show=False)
        self._drawn.set(self.panic_frame, show=panic, pmin=(2, 2), pmax=(area.w - 2, area.h - 2))
        if not panic:
            self._panic_seen_at = None
        elif self._panic_seen_at is None:
            self._panic_seen_at = now
        if self._panic_seen_at is not None:
            running = format_duration(now - self._panic_seen_at)
            top = min(area.h - 40, engine_top - 8) - theme.BANNER_PX
            self._drawn.set(
                self.panic_bg,
                show=True,
                pmin=(area.w // 2 - 330, top),
                pmax=(area.w // 2 + 330, top + theme.BANNER_PX),
            )
            self._drawn.set(
                self.panic_text,
                show=True,
                pos=(area.w // 2 - 320, top + 4),
                text=f"PANIC RECORDING: every camera is recording ({running}). "
                "Press CLEAR PANIC to end.",
            )
        else:
            self._drawn.set(self.panic_bg, show=False)
            self._drawn.set(self.panic_text, show=False)
