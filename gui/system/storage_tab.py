"""The System view's Storage tab: the disk line (free space, reserve, forecast; amber when space
runs short, red when retention cannot keep up), per camera its footage, days kept, oldest
recording, write rate, bytes by type and protected bytes, and its retention (days kept, byte
budget) edited in place and saved through ``save_config`` (in force at once)."""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.link import Snapshot
from gui.system.model import StorageRow, disk_line, retention_edits, storage_rows
from gui.system.tabs import ConfigSaver, level_color, table
from nvr.config import format_size

_COLUMNS = (
    ("Camera", 130),
    ("Footage", 80),
    ("Days kept", 70),
    ("Oldest", 120),
    ("Writing", 95),
    ("By type", 0),
    ("Protected", 75),
    ("Keep days", 70),
    ("Budget", 80),
    ("", 60),
)


class StorageTab:
    label = "Storage"

    def __init__(self, saver: ConfigSaver) -> None:
        self.saver = saver
        self.rows: list[StorageRow] = []
        self.inputs: dict[str, tuple[int, int]] = {}  # camera: (days, budget) inputs
        self._drawn: Any = None

    def build(self, parent: int) -> None:
        self.disk = int(dpg.add_text("", parent=parent, wrap=0))
        self.list_window = int(dpg.add_child_window(parent=parent, border=True, height=300))
        self.table = table(self.list_window, _COLUMNS)
        dpg.add_text(
            "Keep days: empty = no age limit (the reserve and budgets still apply). Budget: a size "
            "such as 200GB, empty = none. Apply saves the configuration; it is in force at once.",
            parent=parent,
            color=theme.TEXT_DIM,
            wrap=0,
        )

    def resize(self, width: int, height: int) -> None:
        dpg.configure_item(self.list_window, width=width - 8, height=max(80, height - 90))

    def update(self, engine: Snapshot) -> None:
        health = engine.health
        if health is None:
            dpg.set_value(self.disk, "The engine has not been reached yet.")
            return
        line = disk_line(health.storage)
        dpg.set_value(self.disk, ("" if engine.connected else "(engine unreachable) ") + line.text)
        dpg.configure_item(self.disk, color=level_color(line.level))
        self.rows = storage_rows(health)
        key = (tuple(self.rows), self.saver.version)
        if key == self._drawn:
            return
        self._drawn = key
        self._fill()

    def _fill(self) -> None:
        dpg.delete_item(self.table, children_only=True, slot=1)
        self.inputs = {}
        retention = {
            c["id"]: c.get("retention") or {} for c in self.saver.config.get("cameras", [])
        }
        for row in self.rows:
            with dpg.table_row(parent=self.table):
                dpg.add_text(row.camera)
                dpg.add_text(row.size)
                dpg.add_text(row.days)
                dpg.add_text(row.oldest)
                dpg.add_text(
                    row.rate, color=theme.TEXT if row.rate[0].isdigit() else theme.TEXT_DIM
                )
                dpg.add_text(row.by_type, wrap=0)
                dpg.add_text(row.protected)
                kept = retention.get(row.camera_id)
                if kept is None:  # footage of a camera no longer configured
                    dpg.add_text("-")
                    dpg.add_text("-")
                    dpg.add_text("")
                    continue
                days = dpg.add_input_text(
                    default_value=str(kept.get("max_days") or ""), width=60, hint="none"
                )
                budget = dpg.add_input_text(
                    default_value=_size_text(kept.get("max_bytes")), width=75, hint="none"
                )
                self.inputs[row.camera_id] = (int(days), int(budget))
                dpg.add_button(label="Apply", callback=lambda *_, c=row.camera_id: self.apply(c))

    def apply(self, camera_id: str) -> None:
        days, budget = self.inputs[camera_id]
        try:
            edits = retention_edits(
                self.saver.config, camera_id, dpg.get_value(days), dpg.get_value(budget)
            )
        except ValueError as err:
            self.saver.feedback.show(f"Retention not saved: {err}", error=True)
            return
        self.saver.save(edits, f"retention of {camera_id}")


def _size_text(value: Any) -> str:
    return format_size(int(value)) if value else ""
