"""The System view's Config tab: every configuration the engine put in force (who saved it,
when, why), the changes each made (a diff against the version before it, credentials
redacted), and Revert, which puts an earlier version back as a new one after asking."""

from __future__ import annotations

import time
from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.dialog import Confirm
from gui.draw import table
from gui.link import EngineLink
from gui.panel import Feedback
from gui.system.tabs import ConfigSaver

_COLUMNS = (("Version", 60), ("Saved", 150), ("By", 170), ("Note", 0), ("", 160))


class HistoryTab:
    label = "Config"

    def __init__(self, link: EngineLink, feedback: Feedback, saver: ConfigSaver) -> None:
        self.link = link
        self.feedback = feedback
        self.saver = saver
        self.versions: list[dict[str, Any]] = []
        self.shown_version: int | None = None  # whose diff is shown
        self._read_at_version = -1
        self._listing: int | None = None
        self._diffing: int | None = None
        self._followed_newest = True  # the diff shown is the newest version's: follow it

    def build(self, parent: int) -> None:
        self.heading = int(dpg.add_text("", parent=parent))
        self.list_window = int(dpg.add_child_window(parent=parent, border=True, height=200))
        self.table = table(self.list_window, _COLUMNS)
        self.diff_title = int(dpg.add_text("", parent=parent, color=theme.TEXT_DIM))
        self.diff = int(
            dpg.add_input_text(parent=parent, multiline=True, readonly=True, width=-1, height=200)
        )
        self.confirm = Confirm()

    def resize(self, width: int, height: int) -> None:
        list_h = max(80, (height - 70) // 2)
        dpg.configure_item(self.list_window, width=width - 8, height=list_h)
        dpg.configure_item(self.diff, height=max(60, height - list_h - 70))

    def update(self, version_in_force: int, shown: bool) -> None:
        if self._listing is not None:
            answer = self.link.answer(self._listing)
            if answer is not None:
                self._listing = None
                if answer.error is None:
                    self.versions = answer.value
                    self._fill()
                else:
                    dpg.set_value(self.heading, f"Cannot read the history: {answer.error}")
        elif shown and version_in_force != self._read_at_version:
            self._read_at_version = version_in_force
            self._listing = self.link.ask(lambda client: client.config_history(200))
        if self._diffing is not None:
            answer = self.link.answer(self._diffing)
            if answer is not None:
                self._diffing = None
                text = answer.value if answer.error is None else f"Cannot read it: {answer.error}"
                dpg.set_value(self.diff, text or "(no change in the text)")
        dpg.set_value(
            self.heading,
            f"Configuration history: version {version_in_force or '-'} is in force"
            if self._listing is None
            else "Reading the configuration history…",
        )

    def show_diff(self, version: int) -> None:
        self.shown_version = version
        self._followed_newest = bool(self.versions) and version == self.versions[0]["version"]
        before = version - 1
        if before < 1:
            dpg.set_value(self.diff_title, f"Version {version}: the first one recorded")
            self._diffing = self.link.ask(lambda client: client.config_version(version)["text"])
            return
        dpg.set_value(self.diff_title, f"Changes from version {before} to version {version}")
        self._diffing = self.link.ask(lambda client: client.config_diff(before, version))

    def ask_revert(self, version: int) -> None:
        self.confirm.ask(
            f"Put version {version} back? Every change made since is undone (Changes on the "
            "newer versions shows them); cameras whose streams change restart. It becomes a new "
            "version: nothing is lost, the current one stays in the history.",
            f"Revert to {version}",
            lambda: self.saver.revert(version),
        )

    def _fill(self) -> None:
        dpg.delete_item(self.table, children_only=True, slot=1)
        newest = self.versions[0]["version"] if self.versions else None
        for v in self.versions:
            number = v["version"]
            with dpg.table_row(parent=self.table):
                dpg.add_text(str(number), color=theme.LIVE if number == newest else theme.TEXT)
                dpg.add_text(
                    time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v["saved_ns"] / 1e9))
                )
                dpg.add_text(v["saved_by"])
                dpg.add_text(v["note"] or "-", wrap=0)
                with dpg.group(horizontal=True):
                    dpg.add_button(label="Changes", callback=lambda *_, n=number: self.show_diff(n))
                    if number != newest:
                        dpg.add_button(
                            label="Revert", callback=lambda *_, n=number: self.ask_revert(n)
                        )
        if self.versions and (self.shown_version is None or self._followed_newest):
            self.show_diff(self.versions[0]["version"])  # a new version: its changes
