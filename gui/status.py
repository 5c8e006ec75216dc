"""The shell's status bar: engine health, recordings, disk, the last action's feedback and the
console's own frame rate."""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from gui import theme
from gui.draw import CHAR_PX, Drawn, fit
from gui.link import Snapshot
from gui.panel import Feedback
from gui.present import status_line
from gui.stats import FrameStats


class StatusBar:
    """The bar's texts, made in the current container (the shell's window, at the bottom)."""

    def __init__(self) -> None:
        self._drawn = Drawn()
        with (
            dpg.child_window(
                height=theme.STATUS_PX - theme.SPACING_PX, border=False, no_scrollbar=True
            ),
            dpg.group(horizontal=True),
        ):
            dpg.add_spacer(width=4)
            self.engine = int(dpg.add_text("Engine: connecting…"))
            dpg.add_text("|", color=theme.TEXT_DIM)
            self.recordings = int(dpg.add_text("Recording: none"))
            dpg.add_text("|", color=theme.TEXT_DIM)
            self.disk = int(dpg.add_text("Disk: unknown"))
            dpg.add_text("|", color=theme.TEXT_DIM)
            self.feedback = int(dpg.add_text(""))
            self.perf = int(dpg.add_text("", color=theme.TEXT_DIM))

    def update(self, now: float, engine: Snapshot, feedback: Feedback, stats: FrameStats) -> None:
        offline = not engine.connected
        status = status_line(None if offline else engine.health, engine.error if offline else None)
        self._drawn.set(
            self.engine,
            default_value="Engine: NOT CONNECTED" if offline else fit(status.engine, 60 * CHAR_PX),
            color=theme.LIVE if status.engine_ok else theme.ERROR if offline else theme.WARN,
        )
        self._drawn.set(self.recordings, default_value=fit(status.recordings, 50 * CHAR_PX))
        self._drawn.set(
            self.disk,
            default_value=status.disk,
            color=theme.WARN if status.disk_warning else theme.TEXT,
        )
        notice = feedback.current(now)
        self._drawn.set(
            self.feedback,
            default_value=notice.text + " |" if notice else "",
            color=theme.ERROR if notice and notice.error else theme.TEXT,
        )
        summary = stats.summary()
        self._drawn.set(
            self.perf, default_value=f"UI {summary['fps']:.0f} fps, {summary['frame_ms']:.1f} ms"
        )
