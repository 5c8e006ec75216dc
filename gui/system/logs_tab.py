"""The System view's Logs tab: the engine's log entries (every rotated file, from the engine's
log index), filtered by level, camera and words; following the tail live; a virtual list that
draws only the rows on screen, so 100,000 entries scroll as smoothly as 100 (wheel, PageUp,
PageDown, Home, End, or the slider), in a fixed-width font so its columns line up; a click
selects a row, shown whole under the list (a long message, a traceback), and Copy puts it on the
clipboard."""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.keys import PAGE_DOWN, PAGE_UP
from gui.link import EngineLink, Snapshot
from gui.panel import Feedback
from gui.system.logs import LEVELS, Filters, LogList

ROW_PX = 18  # one row of the fixed-width font
MAX_ROWS = 80  # row items made once; as many are shown as fit
DETAIL_PX = 84  # the selected entry, whole, under the list
FOLLOW_S = 1.0
_LEVEL_COLORS = {"WARNING": theme.WARN, "ERROR": theme.ERROR, "CRITICAL": theme.ERROR}


class LogsTab:
    label = "Logs"

    def __init__(self, link: EngineLink, feedback: Feedback) -> None:
        self.link = link
        self.feedback = feedback
        self.list = LogList()
        self.visible = 20
        self.selected: int | None = None  # an entry id
        self._pending: tuple[int, int, str] | None = None  # ticket, generation, older|newer
        self._next_follow = 0.0
        self._drawn: Any = None
        self._cameras: tuple[str, ...] = ()
        self._error: str | None = None
        self._themes: dict[theme.Color, int] = {}

    def build(self, parent: int) -> None:
        with dpg.group(horizontal=True, parent=parent):
            self.level = int(
                dpg.add_combo(
                    [lv or "every level" for lv in LEVELS],
                    default_value="every level",
                    width=120,
                    callback=self._refilter,
                )
            )
            self.camera = int(
                dpg.add_combo(
                    ["every source", "engine"],
                    default_value="every source",
                    width=140,
                    callback=self._refilter,
                )
            )
            self.text = int(
                dpg.add_input_text(
                    hint="words, then Enter", width=220, on_enter=True, callback=self._refilter
                )
            )
            self.follow = int(
                dpg.add_checkbox(label="Follow", default_value=True, callback=self._set_follow)
            )
            dpg.add_button(label="Copy line", callback=self.copy)
            self.count = int(dpg.add_text("", color=theme.TEXT_DIM))
        with dpg.group(horizontal=True, parent=parent):
            self.list_window = int(
                dpg.add_child_window(border=True, no_scrollbar=True, no_scroll_with_mouse=True)
            )
            self.slider = int(
                dpg.add_slider_int(
                    vertical=True, min_value=0, max_value=0, format="", callback=self._slid
                )
            )
        self.rows = [
            int(
                dpg.add_selectable(
                    label="",
                    parent=self.list_window,
                    span_columns=True,
                    show=False,
                    callback=self._clicked,
                    user_data=n,
                )
            )
            for n in range(MAX_ROWS)
        ]
        self.detail_window = int(dpg.add_child_window(parent=parent, border=True, height=DETAIL_PX))
        self.detail = int(
            dpg.add_text(
                "Click a line to read it whole here.",
                parent=self.detail_window,
                wrap=0,
                color=theme.TEXT_DIM,
            )
        )
        mono = theme.load_mono_font()
        if mono is not None:
            for item in (*self.rows, self.detail):
                dpg.bind_item_font(item, mono)
        with dpg.handler_registry():
            dpg.add_mouse_wheel_handler(callback=self._on_wheel)

    def resize(self, width: int, height: int) -> None:
        list_h = max(60, height - 40 - DETAIL_PX - theme.SPACING_PX)
        dpg.configure_item(self.list_window, width=width - 40, height=list_h)
        dpg.configure_item(self.detail_window, width=width - 8)
        dpg.configure_item(self.slider, height=list_h)
        self.visible = max(1, min(MAX_ROWS, (list_h - 8) // ROW_PX))
        self._drawn = None

    def update(self, now: float, engine: Snapshot, shown: bool) -> None:
        self._take_answer()
        cameras = tuple(engine.known_cameras)
        if cameras != self._cameras:
            self._cameras = cameras
            dpg.configure_item(self.camera, items=["every source", "engine", *cameras])
        if not shown:
            return
        if self._pending is None:
            if self.list.wants_older(self.visible) and self.list.older_query() is not None:
                self._ask("older", self.list.older_query() or {})
            elif self.list.follow and now >= self._next_follow and self.list.entries:
                self._next_follow = now + FOLLOW_S
                self._ask("newer", self.list.newer_query())
        self._draw()

    def key(self, key: int) -> bool:
        """PageUp, PageDown, Home, End, Up, Down scroll the list; whether the key was used."""
        moves = {
            PAGE_UP: -self.visible,
            PAGE_DOWN: self.visible,
            dpg.mvKey_Up: -1,
            dpg.mvKey_Down: 1,
            dpg.mvKey_Home: -len(self.list.entries),
            dpg.mvKey_End: len(self.list.entries),
        }
        if key not in moves:
            return False
        self.scroll(moves[key])
        return True

    def scroll(self, rows: int) -> None:
        self.list.scroll(rows, self.visible)
        dpg.set_value(self.follow, self.list.follow)

    def copy(self, *_: Any) -> None:
        entry = next((e for e in self.list.entries if e.id == self.selected), None)
        if entry is None:
            self.feedback.show("Click a log line first, then Copy", error=True)
            return
        dpg.set_clipboard_text(entry.whole())
        self.feedback.show("Log entry copied")

    def filters(self) -> Filters:
        level = dpg.get_value(self.level)
        camera = dpg.get_value(self.camera)
        return Filters(
            "" if level == "every level" else level,
            {"every source": "", "engine": "-"}.get(camera, camera),
            dpg.get_value(self.text),
        )

    # -- internals ---------------------------------------------------------------------------

    def _ask(self, direction: str, query: dict[str, Any]) -> None:
        ticket = self.link.ask(lambda client: client.logs(**query))
        self._pending = (ticket, self.list.generation, direction)

    def _take_answer(self) -> None:
        if self._pending is None:
            return
        ticket, generation, direction = self._pending
        answer = self.link.answer(ticket)
        if answer is None:
            return
        self._pending = None
        if generation != self.list.generation:
            return  # for the filters before the last change
        self._error = answer.error
        if answer.error is not None:
            self._next_follow = 0.0
            return
        if direction == "older":
            self.list.add_older(answer.value)
        else:
            self.list.add_newer(answer.value)

    def _refilter(self, *_: Any) -> None:
        self.list.refilter(self.filters())
        self.list.follow = bool(dpg.get_value(self.follow))
        self._pending = None
        self.selected = None

    def _set_follow(self, _sender: Any, value: bool) -> None:
        self.list.follow = bool(value)
        if value:
            self.list.top = 0

    def _slid(self, _sender: Any, value: int) -> None:
        top = max(0, len(self.list.entries) - self.visible) - int(value)  # the top is up
        self.scroll(top - self.list.top)

    def _on_wheel(self, _sender: Any, delta: int) -> None:
        if dpg.is_item_shown(self.list_window) and dpg.is_item_hovered(self.list_window):
            self.scroll(-int(delta) * 3)

    def _clicked(self, sender: Any, _value: Any, row: int) -> None:
        window = self.list.window(self.visible)
        self.selected = window[row].id if row < len(window) else None
        self._drawn = None

    def _draw(self) -> None:
        entries = self.list.entries
        key = (len(entries), self.list.top, self.visible, self.selected, self.list.generation)
        if key == self._drawn:
            return
        self._drawn = key
        chosen = next((e for e in entries if e.id == self.selected), None)
        dpg.set_value(
            self.detail, chosen.whole() if chosen else "Click a line to read it whole here."
        )
        dpg.configure_item(self.detail, color=theme.TEXT if chosen else theme.TEXT_DIM)
        window = self.list.window(self.visible)
        for n, item in enumerate(self.rows):
            if n < len(window):
                entry = window[n]
                dpg.configure_item(item, label=entry.line(), show=True)
                dpg.set_value(item, entry.id == self.selected)
                color = _LEVEL_COLORS.get(entry.level, theme.TEXT)
                dpg.bind_item_theme(item, self._theme(color))
            else:
                dpg.configure_item(item, show=False)
        last = max(0, len(entries) - self.visible)
        dpg.configure_item(self.slider, max_value=last)
        dpg.set_value(self.slider, last - self.list.top)
        more = "" if self.list.exhausted else "+ (older pages read as you scroll)"
        where = f"rows {self.list.top + 1}-{self.list.top + len(window)} of {len(entries)}{more}"
        if self._error:
            where += f" · cannot read the logs: {self._error}"
        dpg.set_value(self.count, where if entries else self._error or "no entry matches")

    def _theme(self, color: theme.Color) -> int:
        """One theme per text colour, made once (in this window's context)."""
        if color not in self._themes:
            with dpg.theme() as made, dpg.theme_component(dpg.mvAll):
                dpg.add_theme_color(dpg.mvThemeCol_Text, color)
                # The row under the pointer is only tinted; the one clicked stands out.
                dpg.add_theme_color(dpg.mvThemeCol_HeaderHovered, (255, 255, 255, 18))
                dpg.add_theme_color(dpg.mvThemeCol_HeaderActive, (255, 255, 255, 30))
                dpg.add_theme_color(dpg.mvThemeCol_Header, (66, 110, 170, 200))
            self._themes[color] = int(made)
        return self._themes[color]
