"""Drawing helpers every renderer shares: change-only item updates, text that fits, and the
tables of the Alarms and System views.

Hundreds of items are updated every frame; ``Drawn.set`` calls Dear PyGui only for an item whose
configuration differs from the one it last gave it.
"""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

CHAR_PX = 8  # the width of one character of the console's font, near enough for fitting text


class Drawn:
    """The configuration and theme last given to each item, so unchanged ones are skipped."""

    def __init__(self) -> None:
        self._config: dict[int, dict[str, Any]] = {}
        self._themes: dict[int, int] = {}

    def set(self, item: int, **config: Any) -> None:
        """``configure_item`` only when something changed."""
        if self._config.get(item) != config:
            dpg.configure_item(item, **config)
            self._config[item] = config

    def bind(self, item: int, item_theme: int) -> None:
        """``bind_item_theme`` only when the theme changed (0: none)."""
        if self._themes.get(item) != item_theme:
            dpg.bind_item_theme(item, item_theme)
            self._themes[item] = item_theme

    def made(self, item: int, **config: Any) -> None:
        """Record the configuration an item was created with."""
        self._config[item] = config

    def forget(self, item: int) -> None:
        """The item was deleted."""
        self._config.pop(item, None)


def fit(text: str, width_px: int) -> str:
    """Cut ``text`` to about ``width_px`` pixels with an ellipsis."""
    limit = max(4, width_px // CHAR_PX)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap at ``width`` characters."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


def table(parent: int, columns: tuple[tuple[str, int], ...]) -> int:
    """A table with a header and fixed-width columns (width 0: the one that stretches)."""
    made = int(
        dpg.add_table(
            parent=parent,
            header_row=True,
            row_background=True,
            borders_innerH=True,
            policy=dpg.mvTable_SizingFixedFit,
        )
    )
    for label, width in columns:
        if width:
            dpg.add_table_column(
                label=label, parent=made, width_fixed=True, init_width_or_weight=width
            )
        else:
            dpg.add_table_column(label=label, parent=made, width_stretch=True)
    return made
