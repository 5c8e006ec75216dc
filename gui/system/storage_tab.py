"""The System view's Storage tab: the disk line (free space, reserve, forecast; amber when space
runs short, red when retention cannot keep up), per camera its footage, days kept, oldest
recording, write rate, bytes by type and protected bytes, and its retention (days kept, byte
budget) edited in place and saved through ``save_config`` (in force at once). Below, the upkeep:
Back up now (the engine writes the archive under its storage while it records), the health
report (saved on this computer, in ``~/nvr-reports``), the catalog check with its last result,
and Restore: an archive of the engine's backups folder, put back by the engine itself after a
confirmation (it checks the archive while it records, then stops for a few seconds, puts it back
and starts again; the upkeep line follows it through)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.dialog import Confirm
from gui.draw import fit, table
from gui.link import EngineLink, Snapshot
from gui.system.model import StorageRow, disk_line, retention_edits, size, storage_rows
from gui.system.tabs import ConfigSaver, level_color
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
        self.restore: dict[str, Any] = {}  # its restore job, as last read
        self.archives: list[dict[str, Any]] = []  # the archives in its backups folder
        self._choices: dict[str, dict[str, Any]] = {}  # combo label: archive
        self._asking: dict[int, str] = {}  # ticket: backup | restore | status | report
        self._next_status = 0.0
        self.rows: list[StorageRow] = []
        self.inputs: dict[str, tuple[int, int]] = {}  # camera: (days, budget) inputs
        self.cells: dict[str, list[int]] = {}  # camera: its figures' text items
        self._built: dict[str, tuple[str, str]] = {}  # camera: the texts its inputs began with
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
        self.answer = int(dpg.add_text("", parent=parent, wrap=0))  # the last Apply's answer
        with dpg.group(horizontal=True, parent=parent):
            dpg.add_button(label="Back up now", callback=lambda: self.start_backup(False))
            dpg.add_button(label="Health report", callback=self.report)
            dpg.add_button(label="Check catalog", callback=self.check_catalog)
            self.upkeep = int(dpg.add_text("", wrap=0))
        with dpg.group(horizontal=True, parent=parent):
            dpg.add_text("Backups:")
            self.archive_combo = int(dpg.add_combo([], width=420))
            dpg.add_button(label="Restore...", callback=self.ask_restore)
            dpg.add_text(
                "(the engine's backups; another archive: stop the engine, then  nvr restore -c "
                "CONFIG ARCHIVE)",
                color=theme.TEXT_DIM,
                wrap=0,
            )
        self.confirm = Confirm()

    def resize(self, width: int, height: int) -> None:
        dpg.configure_item(self.list_window, width=width - 8, height=max(80, height - 192))

    def start_backup(self, with_recordings: bool) -> None:
        self._asking[self.link.ask(lambda client: client.backup(with_recordings))] = "backup"
        self.saver.feedback.show("Backup asked of the engine…")

    def report(self, *_: Any) -> None:
        self._asking[self.link.ask(lambda client: client.report())] = "report"
        self.saver.feedback.show("Writing the health report…")

    def check_catalog(self, *_: Any) -> None:
        self.link.send("maintain_catalog")
        self.saver.feedback.show("Catalog check asked; the result shows here when done")

    def ask_restore(self, *_: Any) -> None:
        archive = self._choices.get(dpg.get_value(self.archive_combo))
        if archive is None:
            self.saver.feedback.show("Pick the backup to restore first", error=True)
            return
        storage = Path(archive["path"]).parent.parent
        self.confirm.ask(
            f"Restore {archive['name']} ({size(archive['bytes'])})?\n\n"
            "The engine checks the archive first, while it records. If it is sound, the engine "
            "stops recording for a few seconds, puts the archive's catalog and configuration in "
            f"place (the current ones are kept in {storage}/before-restore-<time>/) and starts "
            "again. Footage recorded since the backup stays and is indexed again; settings "
            "changed since are undone.",
            "Restore",
            lambda: self.start_restore(archive["name"]),
        )

    def start_restore(self, name: str) -> None:
        ticket = self.link.ask(lambda client: client.restore(name, self.saver.user))
        self._asking[ticket] = "restore"
        self.saver.feedback.show(f"Restore of {name} asked of the engine…")

    def _answers(self, now: float, shown: bool) -> None:
        for ticket, what in list(self._asking.items()):
            answer = self.link.answer(ticket)
            if answer is None:
                continue
            del self._asking[ticket]
            if answer.error is not None:
                self.saver.feedback.show(f"The {what} failed: {answer.error}", error=True)
            elif what == "restore":
                self.restore = answer.value
                self._next_status = now + 1.0
            elif what == "report":
                self.reports.mkdir(parents=True, exist_ok=True)
                out = self.reports / time.strftime("nvr-report-%Y%m%d-%H%M%S.html")
                out.write_bytes(answer.value)
                self.saver.feedback.show(f"Health report saved: {out}")
            elif what == "backup":
                self.backup = answer.value
                self._next_status = now + 1.0
            else:
                self._status(answer.value)
        # Followed every second while a job runs, every 10 s while the tab is shown.
        busy = self.backup.get("state") == "running" or self._restoring
        due = now >= self._next_status and "status" not in self._asking.values()
        if due and (busy or shown):
            self._next_status = now + (1.0 if busy else 10.0)
            self._asking[self.link.ask(lambda client: client.backups())] = "status"

    @property
    def _restoring(self) -> bool:
        return self.restore.get("state") in ("checking", "restoring")

    def _status(self, value: dict[str, Any]) -> None:
        """The jobs and archives the engine reported; the restore's end said once."""
        was_restoring = self._restoring
        self.backup, self.restore = value["job"], value.get("restore", {})
        if was_restoring and self.restore.get("state") == "done":
            self.saver.feedback.show(
                f"Restored {self.restore['archive']}: the engine runs on it again; the replaced "
                f"catalog and configuration are in {self.restore['kept']}"
            )
        elif was_restoring and self.restore.get("state") == "failed":
            self.saver.feedback.show(
                f"Restore of {self.restore['archive']} failed: {self.restore['error']}", error=True
            )
        archives = value.get("archives", [])
        if archives != self.archives:
            self.archives = archives
            self._choices = {
                f"{a['name']}  ({size(a['bytes'])})": a for a in archives if "name" in a
            }
            dpg.configure_item(self.archive_combo, items=list(self._choices))

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
        restore = self.restore
        if self._restoring:
            parts.append(f"Restoring {restore['archive']}: {restore.get('progress', '')}")
            level = "warn"
        elif restore.get("state") in ("done", "failed"):
            when = time.strftime("%H:%M", time.localtime(restore["finished_ns"] / 1e9))
            if restore["state"] == "done":
                parts.append(f"{restore['archive']} restored at {when} by {restore['by']}")
            else:
                parts.append(
                    f"Restore of {restore['archive']} refused at {when}: {restore['error']}"
                )
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
        self._answers(now, shown)  # what was asked is taken whichever tab is shown
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
            name = fit(row.camera, _COLUMNS[0][1])
            values = (name, row.size, row.days, row.oldest, row.rate, row.by_type)
            for item, value in zip(cells, (*values, row.protected), strict=True):
                dpg.set_value(item, value)
            writing = row.rate[0].isdigit()
            dpg.configure_item(cells[4], color=theme.TEXT if writing else theme.TEXT_DIM)

    def _fill(self) -> None:
        # What the admin typed and did not get saved (refused, or still typing) survives.
        typed = {
            cam: (dpg.get_value(days), dpg.get_value(budget))
            for cam, (days, budget) in self.inputs.items()
            if (dpg.get_value(days), dpg.get_value(budget)) != self._built.get(cam)
        }
        dpg.delete_item(self.table, children_only=True, slot=1)
        self.inputs, self.cells, self._built = {}, {}, {}
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
                built = (str(kept.get("max_days") or ""), _size_text(kept.get("max_bytes")))
                self._built[row.camera_id] = built
                shown = typed.get(row.camera_id, built)
                days = dpg.add_input_text(default_value=shown[0], width=60, hint="none")
                budget = dpg.add_input_text(default_value=shown[1], width=75, hint="none")
                self.inputs[row.camera_id] = (int(days), int(budget))
                dpg.add_button(label="Apply", callback=lambda *_, c=row.camera_id: self.apply(c))

    def apply(self, camera_id: str) -> None:
        days, budget = self.inputs[camera_id]
        try:
            edits = retention_edits(
                self.saver.config, camera_id, dpg.get_value(days), dpg.get_value(budget)
            )
        except ValueError as err:
            self._answered(False, f"Retention not saved: {err}")
            return
        self.saver.save(edits, f"retention of {camera_id}", self._answered)

    def _answered(self, ok: bool, text: str) -> None:
        """A retention save's answer, whole, under the table (and in the status bar)."""
        if not ok:
            self.saver.feedback.show(text, error=True)
        dpg.set_value(self.answer, text)
        dpg.configure_item(self.answer, color=theme.TEXT if ok else theme.ERROR)


def _size_text(value: Any) -> str:
    return format_size(int(value)) if value else ""
