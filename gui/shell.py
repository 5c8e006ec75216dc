"""The console's shell (Dear PyGui): viewport, render loop, panels, global keys, status bar.

One thread owns every ``dpg`` call: ``Console.run`` drives the render loop and runs the callback
queue itself (manual callback management). Each frame the shell drains the engine link's command
results, takes its latest snapshot and hands both to every panel (``gui.panel.Panel``; the live
grid, ``gui.live``, is the first): the panel on screen converts its pictures and updates its
items, a hidden one only keeps its state. Then the status bar, the render, the queued callbacks.
The render rate follows what the panel on screen needs (``render_rate``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.alarms.panel import AlarmsPanel
from gui.alarms.sound import Sounder
from gui.link import EngineLink, Snapshot
from gui.live.panel import LivePanel
from gui.panel import Feedback, Panel
from gui.playback.model import LAST_MINUTE_NS
from gui.playback.panel import PlaybackPanel
from gui.stats import FrameStats
from gui.status import StatusBar
from gui.system.panel import SystemPanel
from gui.view import ViewState

# F1, F2, ...: the first, second, ... panel.
VIEW_KEYS = tuple(getattr(dpg, f"mvKey_F{i}") for i in range(1, 13))


class Console:
    """The console window: the shell around its panels. ``run()`` opens it and renders until it
    is closed; tests call ``build()`` inside a DPG context, then ``update()``."""

    status: StatusBar  # made by build(), with the window

    def __init__(
        self,
        link: EngineLink,
        view: ViewState,
        state_path: Path | None = None,
        size: tuple[int, int] = (1280, 720),
        max_fps: float = 60.0,
        storage: Path | None = None,
        sounder: Sounder | None = None,
        operator: str | None = None,
        position: tuple[int, int] = (0, 0),
    ) -> None:
        self.link = link
        self.size = size
        self.position = position
        self.max_fps = max_fps
        self.feedback = Feedback()
        self.live = LivePanel(link, view, state_path, self.feedback)
        self.playback = PlaybackPanel(self.feedback, storage, link)
        self.alarms = AlarmsPanel(link, self.feedback, sounder or Sounder(None), operator)
        self.system = SystemPanel(link, self.feedback, self.alarms.operator)
        self.panels: list[Panel] = [self.live, self.playback, self.alarms, self.system]
        self.shown = 0  # the panel on screen
        self.snapshot: Snapshot = link.snapshot()
        self.stats = FrameStats()
        self.minimised = False  # the window is iconified: nothing is converted
        self.window = 0
        self._quit = False

    # --- build ------------------------------------------------------------------------------

    def build(self) -> None:
        """Create every item: fonts, themes, the window with each panel's area and the status
        bar, the key handler."""
        dpg.configure_app(manual_callback_management=True)
        font = theme.load_font()
        if font is not None:
            dpg.bind_font(font)
        dpg.bind_theme(theme.global_theme())
        # Everything is placed at fixed rows sized to the viewport: nothing may scroll it away.
        # Not a primary window: Dear PyGui paints a primary window's background opaque whatever
        # the theme says, a full-screen fill that cost 10 ms a frame under Mesa llvmpipe. This
        # window is sized to the viewport instead (``_layout``) and has no background.
        with dpg.window(
            pos=(0, 0),
            no_title_bar=True,
            no_move=True,
            no_resize=True,
            no_collapse=True,
            no_background=True,
            no_bring_to_front_on_focus=True,
            no_saved_settings=True,
            no_scrollbar=True,
            no_scroll_with_mouse=True,
        ) as window:
            self.window = int(window)
            areas = [int(dpg.add_group()) for _ in self.panels]
            self.status = StatusBar(lambda: self.switch(self.panels.index(self.alarms)))
        for panel, area in zip(self.panels, areas, strict=True):
            panel.build(area)
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=self._on_key)
        self.switch(self.shown)
        self._layout(*self.size)

    def _layout(self, width: int, height: int) -> None:
        """Size the window to the viewport, and the panels to it above the status bar."""
        self.size = (width, height)
        dpg.configure_item(self.window, width=max(1, width), height=max(1, height))
        for panel in self.panels:
            panel.resize(max(1, width), max(1, height - theme.STATUS_PX))

    # --- views and keys ---------------------------------------------------------------------

    def switch(self, index: int) -> None:
        """Show panel ``index``; hide the others."""
        self.shown = index
        for i, panel in enumerate(self.panels):
            panel.show(i == index)

    def on_key(self, key: int) -> None:
        """F1, F2, ... switch panels; P on the live grid opens the selected camera's last
        minute in Playback; every other key goes to the panel on screen."""
        selected = self.live.model.view.selected
        if key in VIEW_KEYS[: len(self.panels)]:
            self.switch(VIEW_KEYS.index(key))
        elif (
            key == dpg.mvKey_P
            and self.panels[self.shown] is self.live
            and selected
            and not self.live.menu_open
        ):
            self.playback.open(selected, time.time_ns() - LAST_MINUTE_NS)
            self.switch(self.panels.index(self.playback))
        else:
            self.panels[self.shown].key(key)

    def _on_key(self, _sender: Any, key: int) -> None:
        self.on_key(key)

    # --- the loop ---------------------------------------------------------------------------

    def update(self, now: float | None = None) -> float:
        """Everything one frame needs before Dear PyGui renders it; returns conversion seconds."""
        now = time.monotonic() if now is None else now
        results = self.link.results()
        self.snapshot = self.link.snapshot()
        convert_s = 0.0
        for panel in self.panels:
            convert_s += panel.update(now, self.snapshot, results, self.minimised)
        self.status.update(
            now, self.snapshot, self.feedback, self.stats, self.size[0], self.alarms.summary_text()
        )
        return convert_s

    def render_frame(self) -> None:
        """One full frame: update, render, run queued callbacks; feeds the frame-time stats."""
        t0 = time.perf_counter()
        width, height = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        self.minimised = width <= 0 or height <= 0
        if (width, height) != self.size and not self.minimised:
            self._layout(width, height)
        convert_s = self.update()
        t1 = time.perf_counter()
        dpg.render_dearpygui_frame()
        t2 = time.perf_counter()
        jobs = dpg.get_callback_queue()
        if jobs:
            dpg.run_callbacks(jobs)
        self.stats.add(time.monotonic(), convert_s, (t1 - t0 - convert_s), t2 - t1)

    def render_rate(self, now: float) -> float:
        """Frames a second to render: 30, or what the panel on screen needs if more (twice the
        fastest camera, so no frame of a 30 fps camera is skipped), never above ``max_fps``;
        5 while minimised."""
        if self.minimised:
            return 5.0
        return min(self.max_fps, max(30.0, self.panels[self.shown].wanted_fps(now)))

    def quit(self) -> None:
        self._quit = True

    def run(self, title: str = "NVR console") -> None:
        """Open the viewport and render until the window closes (or ``quit``)."""
        try:
            self.open(title)
            self.loop()
        finally:
            self.close()

    def open(self, title: str = "NVR console") -> None:
        """Create the context, the items and the viewport; start the engine link."""
        dpg.create_context()
        self.build()
        dpg.create_viewport(
            title=title,
            width=self.size[0],
            height=self.size[1],
            x_pos=self.position[0],
            y_pos=self.position[1],
            vsync=False,
        )
        dpg.set_viewport_clear_color(list(theme.BACKGROUND))
        dpg.setup_dearpygui()
        dpg.show_viewport()
        self.link.start()

    def loop(self, seconds: float | None = None) -> None:
        """Render (at ``render_rate``) until the window closes, ``quit`` or ``seconds``."""
        next_at = time.monotonic()
        until = None if seconds is None else next_at + seconds
        while dpg.is_dearpygui_running() and not self._quit:
            if until is not None and time.monotonic() >= until:
                return
            self.render_frame()
            next_at += 1.0 / self.render_rate(time.monotonic())
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()

    def close(self) -> None:
        """Stop the link, close the panels (layout saved, rings let go), destroy the context."""
        self.link.stop()
        for panel in self.panels:
            panel.close()
        dpg.destroy_context()
