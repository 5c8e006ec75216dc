"""The System view (F4): the admin's tabs, each from the engine's own state and APIs.

1 Storage (the dashboard and retention), 2 Workers (health, charts, restart, stop/start, stream
test), 3 Logs (the engine's logs, filtered, followed live), 4 Config (history, changes,
revert), 5 Cameras (the camera editor: streams, recording, schedule, motion, zones with a live
preview). Keys 1-5 pick a tab. Changes go through the engine (``save_config``, ``restart_worker``,
``revert_config``) in the admin's name; what is shown afterwards is what the engine reports.
"""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from gui.link import CommandResult, EngineLink, Snapshot
from gui.panel import Feedback
from gui.system.cameras_tab import CamerasTab
from gui.system.history_tab import HistoryTab
from gui.system.logs_tab import LogsTab
from gui.system.storage_tab import StorageTab
from gui.system.tabs import ConfigSaver
from gui.system.workers_tab import WorkersTab

TAB_KEYS = (dpg.mvKey_1, dpg.mvKey_2, dpg.mvKey_3, dpg.mvKey_4, dpg.mvKey_5)


class SystemPanel:
    title = "System"

    def __init__(self, link: EngineLink, feedback: Feedback, user: str) -> None:
        self.link = link
        self.feedback = feedback
        self.saver = ConfigSaver(link, feedback, user)
        self.storage = StorageTab(link, self.saver)
        self.workers = WorkersTab(link, feedback, self.saver)
        self.logs = LogsTab(link, feedback)
        self.history = HistoryTab(link, feedback, self.saver)
        self.cameras = CamerasTab(link, feedback, self.saver)
        self.tabs: list[Any] = [self.storage, self.workers, self.logs, self.history, self.cameras]
        self.current = 0
        self._root = 0
        self._tab_items: list[int] = []

    def build(self, parent: int) -> None:
        self._root = parent
        with dpg.tab_bar(parent=parent, callback=self._picked) as bar:
            self.bar = int(bar)
            for n, tab in enumerate(self.tabs):
                with dpg.tab(label=f"{tab.label} ({n + 1})") as item:
                    self._tab_items.append(int(item))
                    tab.build(int(item))

    def resize(self, width: int, height: int) -> None:
        for tab in self.tabs:
            tab.resize(width, height - 36)

    def show(self, shown: bool) -> None:
        dpg.configure_item(self._root, show=shown)

    def pick(self, index: int) -> None:
        self.current = index
        dpg.set_value(self.bar, self._tab_items[index])

    def key(self, key: int) -> None:
        if any(_typing(window) for window in dpg.get_windows()):
            return  # a digit typed in a box (or a dialog's) is a digit, not a tab
        if key in TAB_KEYS:
            self.pick(TAB_KEYS.index(key))
        elif self.tabs[self.current] is self.logs:
            self.logs.key(key)

    def update(
        self, now: float, engine: Snapshot, results: list[CommandResult], minimised: bool
    ) -> float:
        version = engine.health.config.version if engine.health else 0
        self.saver.update(version, results)
        shown = bool(dpg.is_item_shown(self._root)) and not minimised
        self.workers.update(now, engine, results, shown and self.current == 1)
        self.logs.update(now, engine, shown and self.current == 2)
        self.history.update(version, shown and self.current == 3)
        self.cameras.update(engine, shown and self.current == 4)
        self.storage.update(now, engine, shown and self.current == 0)
        return 0.0

    def wanted_fps(self, now: float) -> float:
        return 0.0

    def close(self) -> None:
        self.cameras.close()

    def _picked(self, _sender: Any, item: int) -> None:
        self.current = self._tab_items.index(int(item))


# Boxes that take typing (a slider does too, while ctrl+clicked into a text box).
_INPUTS = ("mvInputText", "mvInputFloat", "mvInputInt", "mvCombo", "mvSliderFloat", "mvSliderInt")


def _typing(item: int) -> bool:
    """Whether a text or number box under ``item`` has the keyboard now."""
    for children in (dpg.get_item_children(item) or {}).values():
        for child in children:
            kind = dpg.get_item_type(child)
            if kind.endswith(_INPUTS) and dpg.is_item_active(child):
                return True
            if _typing(child):
                return True
    return False
