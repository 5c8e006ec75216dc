"""The toolbar's "Layouts ▾" popup: saved layouts (apply, delete, save the grid on screen under a
name) and the tour (what it shows, how long each, start or pause)."""

from __future__ import annotations

import time
from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.draw import fit
from gui.live.model import LiveModel
from gui.view import MAX_DWELL_S, MIN_DWELL_S, TOUR_KINDS


class LayoutsMenu:
    """Made hidden; ``open`` fills it in from the view and shows it under the mouse."""

    def __init__(self, model: LiveModel) -> None:
        self._model = model
        with dpg.window(
            popup=True, show=False, no_title_bar=True, autosize=True, no_saved_settings=True
        ) as window:
            self.window = int(window)
            dpg.add_text("Saved layouts", color=theme.TEXT_DIM)
            self.saved = int(dpg.add_group())
            with dpg.group(horizontal=True):
                self.name = int(
                    dpg.add_input_text(hint="name", width=160, on_enter=True, callback=self._save)
                )
                dpg.add_button(label="Save this grid", callback=self._save)
            dpg.add_separator()
            dpg.add_text("Tour", color=theme.TEXT_DIM)
            labels = list(TOUR_KINDS.values())
            self.kind = int(dpg.add_radio_button(labels, horizontal=True, callback=self._on_kind))
            with dpg.group(horizontal=True):
                dpg.add_text("each")
                self.dwell = int(
                    dpg.add_input_int(
                        width=90,
                        min_value=MIN_DWELL_S,
                        max_value=MAX_DWELL_S,
                        min_clamped=True,
                        max_clamped=True,
                        callback=self._on_dwell,
                    )
                )
                dpg.add_text("s")
                self.run = int(dpg.add_button(label="Start tour (T)", callback=self._toggle))
        dpg.bind_item_theme(self.window, theme.popup_theme())

    @property
    def shown(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(self, *_: Any) -> None:
        """Show it under the mouse."""
        self._fill()
        x, y = dpg.get_mouse_pos(local=False)
        dpg.configure_item(self.window, show=True, pos=[int(x), int(y) + 12])

    def _fill(self) -> None:
        """Its contents from the view (after a save or delete, in place)."""
        view = self._model.view
        dpg.delete_item(self.saved, children_only=True)
        if not view.saved:
            dpg.add_text("none yet: arrange a grid, name it, save it", parent=self.saved)
        for name, saved in sorted(view.saved.items()):
            with dpg.group(horizontal=True, parent=self.saved):
                shown = fit(f"({saved.layout}) {name}", 260).replace("##", "# #")  # ## hides
                dpg.add_button(label=shown, width=270, callback=lambda *_, n=name: self._apply(n))
                dpg.add_button(label="Delete", callback=lambda *_, n=name: self._delete(n))
        dpg.set_value(self.kind, TOUR_KINDS[view.tour.kind])
        dpg.set_value(self.dwell, view.tour.dwell_s)
        dpg.configure_item(
            self.run, label="Pause tour (T)" if view.tour.running else "Start tour (T)"
        )

    def hide(self) -> None:
        dpg.configure_item(self.window, show=False)

    def _apply(self, name: str) -> None:
        self.hide()
        self._model.apply_layout(name)

    def _delete(self, name: str) -> None:
        self._model.delete_layout(name)
        self._fill()

    def _save(self, *_: Any) -> None:
        self._model.save_layout(str(dpg.get_value(self.name)))
        dpg.set_value(self.name, "")
        self._fill()

    def _on_kind(self, _sender: Any, label: str) -> None:
        kind = next(k for k, text in TOUR_KINDS.items() if text == label)
        self._model.set_tour(kind=kind)

    def _on_dwell(self, _sender: Any, value: int) -> None:
        self._model.set_tour(dwell_s=int(value))

    def _toggle(self, *_: Any) -> None:
        self.hide()
        self._model.toggle_tour(time.monotonic())
