"""The System view's Storage tab: the disk line (free space, reserve, forecast; amber when space
runs short, red when retention cannot keep up), per camera its footage, days kept, oldest
recording, write rate, bytes by type and protected bytes, and its retention (days kept, byte
budget) edited in place and saved through ``save_config`` (in force at once). Below, the upkeep:
Back up now (the engine writes the archive under its storage while it records), the health
report (saved on this computer, in ``~/nvr-reports``), and the catalog check with its last
result."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.link import EngineLink, Snapshot
from gui.system.model import StorageRow, disk_line, retention_edits, size, storage_rows
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

    def __init__(self, link: EngineLink, saver: ConfigSaver) -> None:
        self.link = link
        self.saver = saver
        self.reports = Path.home() / "nvr-reports"
        self.backup: dict[str, Any] = {}  # the engine's backup job, as last read
        self._asking: dict[int, str] = {}  # ticket: backup | status | report
        self._next_status = 0.0
        self.rows: list[StorageRow] = []
        self.inputs: dict[str, tuple[int, int]] = {}  # camera: (days, budget) inputs
        self.cells: dict[str, list[int]] = {}  # camera: its figures' text items
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
        with dpg.group(horizontal=True, parent=parent):
            dpg.add_button(label="Back up now", callback=lambda: self.start_backup(False))
            dpg.add_button(label="Health report", callback=self.report)
            dpg.add_button(label="Check catalog", callback=self.check_catalog)
            self.upkeep = int(dpg.add_text("", wrap=0))
        dpg.add_text(
            "To restore a backup: stop the engine, then run  nvr restore -c CONFIG ARCHIVE  "
            "(it checks the archive first; the replaced catalog and config are kept).",
            parent=parent,
            color=theme.TEXT_DIM,
            wrap=0,
        )

    def resize(self, width: int, height: int) -> None:
        dpg.configure_item(self.list_window, width=width - 8, height=max(80, height - 145))

    def start_backup(self, with_recordings: bool) -> None:
        self._asking[self.link.ask(lambda client: client.backup(with_recordings))] = "backup"
        self.saver.feedback.show("Backup asked of the engine…")

    def report(self, *_: Any) -> None:
        self._asking[self.link.ask(lambda client: client.report())] = "report"
        self.saver.feedback.show("Writing the health report…")

    def check_catalog(self, *_: Any) -> None:
        self.link.send("maintain_catalog")
        self.saver.feedback.show("Catalog check asked; the result shows here when done")

    def _answers(self, now: float) -> None:
        for ticket, what in list(self._asking.items()):
            answer = self.link.answer(ticket)
            if answer is None:
                continue
            del self._asking[ticket]
            if answer.error is not None:
                self.saver.feedback.show(f"The {what} failed: {answer.error}", error=True)
            elif what == "report":
                self.reports.mkdir(parents=True, exist_ok=True)
                out = self.reports / time.strftime("nvr-report-%Y%m%d-%H%M%S.html")
                out.write_bytes(answer.value)
                self.saver.feedback.show(f"Health report saved: {out}")
            elif what == "backup":
                self.backup = answer.value
                self._next_status = now + 1.0
            else:
                self.backup = answer.value["job"]
        running = self.backup.get("state") == "running"
        if running and now >= self._next_status and "status" not in self._asking.values():
            self._next_status = now + 1.0
            self._asking[self.link.ask(lambda client: client.backups())] = "status"

    def _upkeep_line(self, engine: Snapshot) -> tuple[str, str]:
        parts, level = [], "ok"
        job = self.backup
        if job.get("state") == "running":
            parts.append(f"Backing up: {job.get('progress', '')}")
        elif job.get("state") == "done":
            parts.append(
                f"Backup written: {job['archive']} ({size(job.get('bytes'))}, "
                f"{job.get('seconds', 0):.1f} s)"
            )
        elif job.get("state") == "failed":
            parts.append(f"Backup failed: {job.get('error')}")
            level = "error"
        check = engine.health.catalog_check if engine.health else None
        if check is None:
            parts.append("catalog not checked yet")
        elif check.ok:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(check.at_ns / 1e9))
            parts.append(f"catalog checked {when}: ok ({check.seconds:.1f} s)")
        else:
            parts.append("catalog check found: " + "; ".join(check.problems))
            level = "error"
        return " · ".join(parts), level

    def update(self, now: float, engine: Snapshot, shown: bool) -> None:
        self._answers(now)  # a backup or a report asked for is taken whichever tab is shown
        if not shown:
            return
        text, level = self._upkeep_line(engine)
        dpg.set_value(self.upkeep, text)
        dpg.configure_item(self.upkeep, color=level_color(level))
        health = engine.health
        if health is None:
            dpg.set_value(self.disk, "The engine has not been reached yet.")
            return
        line = disk_line(health.storage)
        dpg.set_value(self.disk, ("" if engine.connected else "(engine unreachable) ") + line.text)
        dpg.configure_item(self.disk, color=level_color(line.level))
        self.rows = storage_rows(health)
        # Rebuilt only when the cameras or the configuration change: the figures are set in
        # place, so what the admin is typing in a row's boxes stays.
        key = (tuple(r.camera_id for r in self.rows), self.saver.version)
        if key != self._drawn:
            self._drawn = key
            self._fill()
        for row in self.rows:
            cells = self.cells.get(row.camera_id)
            if cells is None:
                continue
            values = (row.camera, row.size, row.days, row.oldest, row.rate, row.by_type)
            for item, value in zip(cells, (*values, row.protected), strict=True):
                dpg.set_value(item, value)
            writing = row.rate[0].isdigit()
            dpg.configure_item(cells[4], color=theme.TEXT if writing else theme.TEXT_DIM)

    def _fill(self) -> None:
        dpg.delete_item(self.table, children_only=True, slot=1)
        self.inputs, self.cells = {}, {}
        retention = {
            c["id"]: c.get("retention") or {} for c in self.saver.config.get("cameras", [])
        }
        for row in self.rows:
            with dpg.table_row(parent=self.table):
                self.cells[row.camera_id] = [
                    int(dpg.add_text("", wrap=0 if n == 5 else -1)) for n in range(7)
                ]
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
