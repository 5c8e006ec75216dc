"""The shell's status bar: alarms, engine health, recordings, disk, the last action's feedback and
the console's own frame rate."""

from __future__ import annotations

from collections.abc import Callable

import dearpygui.dearpygui as dpg

from gui import theme
from gui.draw import CHAR_PX, Drawn, fit
from gui.link import Snapshot
from gui.panel import Feedback
from gui.present import status_line
from gui.stats import FrameStats


class StatusBar:
    """The bar's fields, made in the current container (the shell's window, at the bottom).
    Each field fits its width; hovering it shows the whole text (its tooltip)."""

    def __init__(self, open_alarms: Callable[[], None]) -> None:
        self._drawn = Drawn()
        with (
            dpg.child_window(
                height=theme.STATUS_PX - theme.SPACING_PX, border=False, no_scrollbar=True
            ),
            dpg.group(horizontal=True),
        ):
            dpg.add_spacer(width=4)
            self.alarms, self.alarms_tip = _field("Alarms: ?")
            with dpg.item_handler_registry() as clicks:
                dpg.add_item_clicked_handler(callback=lambda *_: open_alarms())
            dpg.bind_item_handler_registry(self.alarms, clicks)
            dpg.add_text("|", color=theme.TEXT_DIM)
            self.engine, self.engine_tip = _field("Engine: connecting…")
            dpg.add_text("|", color=theme.TEXT_DIM)
            self.recordings, self.recordings_tip = _field("Recording: none")
            dpg.add_text("|", color=theme.TEXT_DIM)
            self.disk, self.disk_tip = _field("Disk: unknown")
            dpg.add_text("|", color=theme.TEXT_DIM)
            self.feedback, self.feedback_tip = _field("")
            self.perf = int(dpg.add_text("", color=theme.TEXT_DIM))

    def update(
        self,
        now: float,
        engine: Snapshot,
        feedback: Feedback,
        stats: FrameStats,
        width: int,
        alarms: tuple[str, str, str],
    ) -> None:
        """Every field from the engine's snapshot and ``alarms`` (text, level, detail: see
        ``gui.alarms.model.summary``); ``width``: the window's, in pixels. Alarms waiting for
        acknowledgement flash."""
        alarm_text, level, alarm_detail = alarms
        flash = level == "urgent" and int(now * 2) % 2 == 0
        alarm_color = {"none": theme.TEXT_DIM, "acknowledged": theme.WARN}.get(level, theme.ERROR)
        set_ = self._drawn.set
        set_(self.alarms, default_value=alarm_text, color=theme.TEXT if flash else alarm_color)
        set_(self.alarms_tip, default_value=alarm_detail)
        offline = not engine.connected
        status = status_line(None if offline else engine.health, engine.error if offline else None)
        color = theme.LIVE if status.engine_ok else theme.ERROR if offline else theme.WARN
        set_(self.engine, default_value=fit(status.engine, ENGINE_PX), color=color)
        set_(self.engine_tip, default_value=status.engine_detail)
        set_(self.recordings, default_value=fit(status.recordings, RECORDINGS_PX))
        set_(self.recordings_tip, default_value=status.recordings_detail)
        disk_color = theme.WARN if status.disk_warning else theme.TEXT
        set_(self.disk, default_value=fit(status.disk, DISK_PX), color=disk_color)
        set_(self.disk_tip, default_value=status.disk_detail)
        notice = feedback.current(now)
        text = notice.text if notice else ""
        summary = stats.summary()
        perf = f"UI {summary['fps']:.0f} fps, {summary['frame_ms']:.1f} ms"
        # The feedback gets what the other fields leave of the bar.
        fields = (alarm_text, status.engine, status.recordings, status.disk, perf)
        used = sum(len(t) for t in fields)
        room = max(10 * CHAR_PX, width - (used + SEPARATORS_CHARS) * CHAR_PX)
        set_(
            self.feedback,
            default_value=fit(text, room) + (" |" if notice else ""),
            color=theme.ERROR if notice and notice.error else theme.TEXT,
        )
        set_(self.feedback_tip, default_value=text or "No message.")
        set_(self.perf, default_value=perf)


ENGINE_PX = 34 * CHAR_PX
RECORDINGS_PX = 22 * CHAR_PX
DISK_PX = 34 * CHAR_PX
SEPARATORS_CHARS = 13  # the bars between the fields and the margins


def _field(text: str) -> tuple[int, int]:
    """A text and its tooltip's text."""
    field = int(dpg.add_text(text))
    with dpg.tooltip(field):
        tip = int(dpg.add_text(text, wrap=600))
    return field, tip
