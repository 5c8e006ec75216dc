"""The live grid's toolbar: layouts (saved ones and the tour in a popup), pages, full screen,
recording, panic, and the tour or the selection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.draw import CHAR_PX, Drawn, fit
from gui.live.layouts_menu import LayoutsMenu
from gui.live.model import LiveModel
from gui.live.recording import RecordingControls
from gui.present import TileInfo
from gui.view import LAYOUTS


class Toolbar:
    """The toolbar's buttons, made in the current container; its callbacks only call the model
    and the recording controls."""

    def __init__(
        self,
        model: LiveModel,
        controls: RecordingControls,
        drawn: Drawn,
        toggle_ptz: Callable[[], None],
    ) -> None:
        self._model = model
        self._controls = controls
        self._drawn = drawn
        self._active = theme.button_theme((38, 92, 170, 255), (54, 116, 204, 255))
        red = theme.button_theme((120, 24, 24, 255), (160, 36, 36, 255))
        self._panic = theme.button_theme((150, 0, 0, 255), (200, 0, 0, 255))
        self._panic_on = theme.button_theme(theme.PANIC, (255, 80, 80, 255), (255, 255, 255, 255))
        dpg.add_spacer(width=4)
        self.layouts = {
            name: _button(name, lambda *_, n=name: model.set_layout(n), width=40)
            for name in LAYOUTS
        }
        self.menu = LayoutsMenu(model)
        self.saved = _button("Layouts ▾", self.menu.open)
        dpg.add_spacer(width=10)
        self.page_prev = _button("◀", lambda *_: model.turn_page(-1))
        self.page_label = int(dpg.add_text("1/1"))
        self.page_next = _button("▶", lambda *_: model.turn_page(1))
        dpg.add_spacer(width=10)
        self.fullscreen = _button("Full screen", lambda *_: model.toggle_fullscreen())
        dpg.add_spacer(width=10)
        self.record = _button("● Record", lambda *_: controls.record_selected(True))
        self.stop = _button("■ Stop", lambda *_: controls.record_selected(False))
        dpg.bind_item_theme(self.record, red)
        dpg.add_spacer(width=10)
        self.record_all = _button("● Record all", lambda *_: controls.set_recording("*", True))
        self.stop_all = _button("■ Stop all", lambda *_: controls.set_recording("*", False))
        dpg.bind_item_theme(self.record_all, red)
        dpg.add_spacer(width=10)
        self.panic = _button("PANIC", lambda *_: controls.toggle_panic(), width=120)
        dpg.bind_item_theme(self.panic, self._panic)
        dpg.add_spacer(width=10)
        self.ptz = _button("PTZ", lambda *_: toggle_ptz())
        with dpg.tooltip(self.ptz):
            self.ptz_tip = int(dpg.add_text(""))
        dpg.add_spacer(width=10)
        self.selection = int(dpg.add_text("", color=theme.TEXT_DIM))

    def update(self, infos: dict[str, TileInfo], now: float) -> None:
        """Button states from the view, the selection's name from ``infos``, and panic's label
        (flashing while panic is on)."""
        view = self._model.view
        for name, button in self.layouts.items():
            active = name == view.layout and view.fullscreen is None
            self._drawn.bind(button, self._active if active else 0)
        if view.fullscreen is not None and view.fullscreen in view.order:  # which camera
            page = f"{view.order.index(view.fullscreen) + 1}/{len(view.order)}"
        elif view.pinned_name is not None:  # a saved layout: its name
            page = fit(view.pinned_name, 12 * CHAR_PX)
        else:
            page = f"{view.page + 1}/{view.pages}"
        self._drawn.set(self.page_label, default_value=page)
        turns = view.pages > 1 or view.pinned is not None or view.fullscreen is not None
        for button in (self.page_prev, self.page_next):
            self._drawn.set(button, enabled=turns and len(view.order) > 1)
        self._drawn.set(
            self.fullscreen, label="Exit full screen" if view.fullscreen else "Full screen"
        )
        selected = view.selected
        self._drawn.set(self.record, enabled=selected is not None)
        self._drawn.set(self.stop, enabled=selected is not None)
        title = infos[selected].title if selected in infos else None
        tour = self._model.tour.status(now)
        self._drawn.set(
            self.selection,
            default_value=tour or (f"Selected: {title}" if title else "Click a tile to select it"),
            color=theme.ACCENT if tour else theme.TEXT_DIM,
        )
        known = self._model.engine.known_cameras.get(selected) if selected else None
        steerable = known is not None and known.ptz is not None
        self._drawn.set(self.ptz, enabled=bool(steerable))
        self._drawn.set(
            self.ptz_tip,
            default_value="Pan, tilt, zoom and presets of the selected camera"
            if steerable
            else "The selected camera has no PTZ (no onvif section in its configuration)",
        )
        self._drawn.set(self.panic, label=self._controls.panic_label(now))
        flash = self._model.panic and int(now * 2) % 2 == 0
        self._drawn.bind(self.panic, self._panic_on if flash else self._panic)


def _button(label: str, callback: Any, **kw: Any) -> int:
    return int(dpg.add_button(label=label, callback=callback, **kw))
