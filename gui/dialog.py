"""The console's confirmation dialog: one modal question with a yes button, asked before what
cannot be taken back (stopping a recording camera, a restore, deleting a preset)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dearpygui.dearpygui as dpg


class Confirm:
    """One modal question with a yes button that runs ``action``."""

    def __init__(self) -> None:
        self.window = int(
            dpg.add_window(
                modal=True,
                show=False,
                no_title_bar=True,
                autosize=True,
                no_saved_settings=True,
            )
        )
        self.text = int(dpg.add_text("", parent=self.window, wrap=420))
        with dpg.group(horizontal=True, parent=self.window):
            self.yes = int(dpg.add_button(label="Yes", callback=self._yes))
            dpg.add_button(label="Cancel", callback=self.hide)
        self._action: Callable[[], None] | None = None

    def ask(self, question: str, yes: str, action: Callable[[], None]) -> None:
        dpg.set_value(self.text, question)
        dpg.configure_item(self.yes, label=yes)
        self._action = action
        dpg.configure_item(self.window, show=True)

    @property
    def open(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def hide(self, *_: Any) -> None:
        dpg.configure_item(self.window, show=False)
        self._action = None

    def _yes(self, *_: Any) -> None:
        action = self._action
        self.hide()
        if action is not None:
            action()
