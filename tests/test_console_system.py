"""The console's System view against a real engine, a real camera and the real config file:
the storage dashboard and the worker table show what the engine reports and change with it;
retention edited in the view is saved (comments kept) and in force; a camera is stopped (asked
first while it records) and started; the logs list reads, filters and copies; the history shows
each save and its changes. The Dear PyGui item tree is built without a viewport and read back;
screenshots of each tab under Xvfb are in ``test_console.py``."""

from __future__ import annotations

import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg
import pytest

from gui.link import EngineLink
from gui.playback.model import Marks
from gui.shell import VIEW_KEYS, Console
from gui.system.camera_form import CameraForm
from gui.system.logs import PAGE, Filters, LogList
from gui.system.zones import ZoneEditor
from gui.view import ViewState
from nvr.protocol.client import EngineAddress
from nvr.protocol.runfile import read_token
from nvr.storage.catalog import Catalog
from tests.conftest import requires_rtsp, wait_for
from tests.support.cameras import RtspCamera, free_port

pytestmark = requires_rtsp


def settler(console: Console) -> Callable[..., Any]:
    """``settle(check, what, timeout)``: run the console's frames until ``check()`` holds."""

    def settle(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        def step() -> Any:
            console.update()
            return check()

        return wait_for(step, timeout, interval=0.1, what=what)

    return settle


def texts(item: int) -> list[str]:
    """Every text value under ``item``, depth first."""
    out = []
    for child in dpg.get_item_children(item, 1) or []:
        if dpg.get_item_type(child) == "mvAppItemType::mvText":
            out.append(str(dpg.get_value(child)))
        out.extend(texts(child))
    return out


def fire(item: int, value: Any) -> None:
    """Set ``item`` and run its callback the way Dear PyGui's callback queue does."""
    dpg.set_value(item, value)
    config = dpg.get_item_configuration(item)
    dpg.run_callbacks([(config["callback"], item, value, config["user_data"])])


def rows(table: int) -> list[list[str]]:
    return [texts(row) for row in dpg.get_item_children(table, 1) or []]


def test_the_system_view_shows_and_changes_the_engine(context, engine_factory, tmp_path):
    storage = tmp_path / "storage"
    dead = f"rtsp://127.0.0.1:{free_port()}/main"
    with RtspCamera() as camera:
        engine = engine_factory(
            f"# kept by hand\nstorage:\n  path: {storage}\n  min_free_bytes: 100MB\n"
            "api:\n  port: 0\ncameras:\n"
            f"  - id: door   # by the stairs\n    main: {camera.url('moving/main')}\n"
            f"    sub: {camera.url('moving/sub')}\n    record: {{segment_s: 5}}\n"
            f"  - {{id: yard, main: '{dead}'}}\n"
        )
        engine.start()
        link = EngineLink(EngineAddress(engine.api, read_token(storage)), poll_s=0.2)
        console = Console(link, ViewState(), tmp_path / "console.json", operator="ann@desk")
        console.build()
        link.start()
        system = console.system
        settle = settler(console)
        try:
            console.on_key(VIEW_KEYS[3])
            assert console.shown == console.panels.index(system)

            # Storage: the dashboard fills in from the health, and follows it.
            settle(
                lambda: any(
                    r[0] == "door" and r[1] not in ("0B", "-") for r in rows(system.storage.table)
                ),
                "door's footage shown",
                90,
            )
            disk = dpg.get_value(system.storage.disk)
            assert "free of" in disk and "reserve" in disk
            settle(lambda: "being written" in dpg.get_value(system.storage.disk), "open segment")
            door_row = next(r for r in rows(system.storage.table) if r[0] == "door")
            assert door_row[4].endswith("MB/s")  # writing now

            # Retention typed in the table: saved, in force, the comments kept.
            days, budget = system.storage.inputs["door"]
            dpg.set_value(days, "7")
            dpg.set_value(budget, "2GB")
            system.storage.apply("door")
            settle(lambda: link.snapshot().health.config.version == 2, "the retention saved")
            text = engine.config.read_text()
            assert "max_days: 7" in text and "max_bytes: 2GB" in text
            assert "# kept by hand" in text and "# by the stairs" in text
            settle(lambda: system.saver.version == 2, "the saved configuration read back")
            assert system.saver.config["cameras"][0]["retention"]["max_days"] == 7
            dpg.set_value(system.storage.inputs["door"][0], "seven")
            system.storage.apply("door")
            assert "whole number of days" in console.feedback.notice.text
            assert "whole number of days" in dpg.get_value(system.storage.answer)
            # Refused by the engine: said whole under the table, and what was typed stays.
            dpg.set_value(system.storage.inputs["door"][0], "99999")
            system.storage.apply("door")
            settle(lambda: "Not saved" in dpg.get_value(system.storage.answer), "the refusal")
            assert "36500" in dpg.get_value(system.storage.answer)
            settle(lambda: system.saver.version == 2, "the configuration read again")
            console.update()
            assert dpg.get_value(system.storage.inputs["door"][0]) == "99999"
            dpg.set_value(system.storage.inputs["door"][0], "7")

            # Upkeep: a backup written by the engine while it records, the report, the check.
            system.storage.reports = tmp_path / "reports"
            system.storage.start_backup(False)
            settle(lambda: system.storage.backup.get("state") == "done", "the backup", 60)
            archive = Path(system.storage.backup["archive"])
            with tarfile.open(archive) as tar:
                assert {"manifest.json", "catalog.db", "config/nvr.yaml"} <= set(tar.getnames())
            assert "Backup written: " + str(archive) in dpg.get_value(system.storage.upkeep)
            system.storage.report()
            settle(lambda: "Health report saved" in (console.feedback.notice.text or ""), "report")
            (page,) = (tmp_path / "reports").glob("nvr-report-*.html")
            assert "door" in page.read_text() and "<svg" in page.read_text()
            system.storage.check_catalog()
            settle(lambda: ": ok (" in dpg.get_value(system.storage.upkeep), "the catalog check")

            # Workers: live and unreachable cameras as the engine says; Stop and Start.
            system.pick(1)
            settle(
                lambda: {r[0]: r[1] for r in rows(system.workers.table)}.get("door") == "live",
                "door live in the worker table",
            )
            settle(
                lambda: "as the engine measured it (" in dpg.get_value(system.workers.chart_title),
                "the engine's hour charted",
            )
            assert dpg.get_value(system.workers.series["fps in"])[1]  # a measured point
            yard = next(r for r in rows(system.workers.table) if r[0] == "yard")
            assert yard[1].startswith(("reconnecting", "error", "starting", "restarting"))
            system.workers.set_enabled("yard", False)  # not recording: no question
            assert not system.workers.confirm.open
            settle(
                lambda: {r[0]: r[1] for r in rows(system.workers.table)}.get("yard") == "disabled",
                "yard stopped",
            )
            system.workers.set_enabled("door", False)  # recording: asked first
            assert system.workers.confirm.open
            system.workers.confirm._yes()
            settle(
                lambda: {r[0]: r[1] for r in rows(system.workers.table)}.get("door") == "disabled",
                "door stopped",
            )
            assert "enabled: false" in engine.config.read_text()
            system.workers.set_enabled("door", True)
            settle(
                lambda: {r[0]: r[1] for r in rows(system.workers.table)}.get("door") == "live",
                "door started again",
                90,
            )
            system.workers.test("door")
            settle(
                lambda: "h264 1920x1080" in (console.feedback.notice.text or ""), "stream tested"
            )

            # Logs: read, filtered by words, a line copied.
            system.pick(2)
            settle(lambda: system.logs.list.entries, "log entries")
            dpg.set_value(system.logs.text, "saved")
            system.logs._refilter()
            settle(
                lambda: system.logs.list.entries and system.logs.list.exhausted,
                "the filtered logs",
            )
            assert all("saved" in e.message for e in system.logs.list.entries)
            system.logs._clicked(None, True, 0)
            console.update()
            assert "config saved by ann@desk" in dpg.get_value(system.logs.detail)  # whole
            system.logs.copy()
            assert "config saved by ann@desk" in dpg.get_clipboard_text()

            # Config history: each save, who made it, and its changes.
            system.pick(3)
            settle(lambda: len(rows(system.history.table)) >= 5, "the history")
            newest = rows(system.history.table)[0]
            assert newest[0] == "5" and newest[2] == "ann@desk" and "start of door" in newest[3]
            system.history.show_diff(2)
            settle(lambda: "+      max_days: 7" in dpg.get_value(system.history.diff), "the diff")

            # Playback: the marked range kept from retention (K), then released.
            console.on_key(VIEW_KEYS[1])
            now_ns = time.time_ns()
            console.playback.open("door", now_ns - 30 * 10**9)
            console.playback.model.marks = Marks(now_ns - 10**12, now_ns)
            console.on_key(dpg.mvKey_K)
            settle(lambda: "recording(s) protected" in console.feedback.notice.text, "kept")
            said = int(console.feedback.notice.text.split(": ")[1].split()[0])
            assert console.feedback.notice.text == (
                f"door: {said} recording(s) protected (whole recordings)"
            )
            with Catalog(storage / "catalog.db", readonly=True) as catalog:
                kept = [r for r in catalog.recordings("door") if r.protected]
            # The segment being written is kept too, once it closes.
            assert 1 <= said <= len(kept) <= said + 1
            console.playback.protect(False)
            settle(lambda: "released" in console.feedback.notice.text, "released")

            # Restore the backup taken above: checked, put back and started again by the engine.
            console.on_key(VIEW_KEYS[3])
            system.pick(0)
            settle(lambda: system.storage._choices, "the archives listed")
            label = next(k for k, a in system.storage._choices.items() if a["path"] == str(archive))
            system.storage.ask_restore()  # nothing picked yet
            assert "Pick the backup" in console.feedback.notice.text
            dpg.set_value(system.storage.archive_combo, label)
            system.storage.ask_restore()
            assert system.storage.confirm.open
            versions = link.snapshot().health.config.version
            system.storage.confirm._yes()
            settle(lambda: "Restored " in console.feedback.notice.text, "the restore", 90)
            assert "restored at" in dpg.get_value(system.storage.upkeep)
            assert "by ann@desk" in dpg.get_value(system.storage.upkeep)
            restored = versions + 1  # the history keeps every version, and adds the restore
            settle(
                lambda: (
                    link.snapshot().health.config.version == restored
                    and system.saver.version == restored
                ),
                "the restored configuration in force and read",
            )
            assert link.snapshot().health.config.saved_by == "restore by ann@desk"
            assert "enabled: false" not in engine.config.read_text()
            assert "max_days: 7" in engine.config.read_text()
        finally:
            link.stop()
            for panel in console.panels:
                panel.close()


def test_the_log_list_pages_follows_and_keeps_its_place():
    made = iter(range(10**6))

    def page(count: int, ts: int) -> list[dict[str, Any]]:
        return [
            {
                "id": next(made),
                "ts_ns": ts - i,
                "level": "INFO",
                "camera_id": "",
                "component": "nvr.x",
                "message": f"m{ts - i}",
            }
            for i in range(count)
        ]

    logs = LogList(Filters(text="disk", level="WARNING", camera_id="-"))
    assert logs.older_query() == {"limit": PAGE, "q": "disk", "level": "WARNING", "camera_id": ""}
    logs.add_older(page(PAGE, 10**9))
    assert logs.wants_older(40) is False and not logs.exhausted
    logs.scroll(PAGE, 40)
    assert logs.top == PAGE - 40 and not logs.follow and logs.wants_older(40)
    query = logs.older_query()
    assert query is not None and query["until_ns"] == logs.entries[-1].ts_ns + 1
    logs.add_older(page(10, logs.entries[-1].ts_ns - 1))
    assert logs.exhausted and logs.older_query() is None and len(logs.entries) == PAGE + 10
    top_entry = logs.window(40)[0]
    logs.add_newer(page(3, 2 * 10**9))
    assert logs.window(40)[0] == top_entry  # not following: the rows on screen stay
    logs.scroll(-(10**6), 40)
    assert logs.top == 0 and logs.follow
    logs.add_newer(page(2, 3 * 10**9))
    assert logs.window(1)[0].message == "m3000000000"
    logs.refilter(Filters())
    assert logs.entries == [] and logs.generation == 1


def test_the_camera_editor_adds_edits_zones_and_removes_cameras(context, engine_factory, tmp_path):
    storage = tmp_path / "storage"
    with RtspCamera() as camera:
        engine = engine_factory(
            f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras:\n"
            f"  - id: door   # by the stairs\n    main: {camera.url('moving/main')}\n"
            f"    sub: {camera.url('moving/sub')}\n    record: {{segment_s: 5}}\n"
        )
        engine.start()
        link = EngineLink(EngineAddress(engine.api, read_token(storage)), poll_s=0.2)
        console = Console(link, ViewState(), tmp_path / "console.json", operator="ann@desk")
        console.build()
        link.start()
        system, editor = console.system, console.system.cameras
        health = lambda: link.snapshot().health  # noqa: E731
        settle = settler(console)
        try:
            console.on_key(VIEW_KEYS[3])
            console.on_key(dpg.mvKey_5)
            assert system.current == 4
            settle(lambda: system.saver.config and health().cameras["door"].motion, "door moving")
            editor.pick("door")
            assert dpg.get_value(editor.inputs[("main",)]) == camera.url("moving/main")

            # The preview runs the engine's detector on the live picture: the box moves.
            settle(lambda: (f := editor.preview.latest()[0]) and f.moving, "the preview moving", 30)
            for point in ((0.0, 0.0), (0.04, 0.0), (0.0, 0.04)):  # a zone in a corner
                editor.zones.press(point)
                editor.zones.release()
            editor._params()  # what a click does: the preview takes the zone
            editor.preview.set_params(editor._params())
            settle(
                lambda: (f := editor.preview.latest()[0]) and not f.moving and f.changed == 0,
                "the preview quiet outside the zone",
                30,
            )
            editor.set(("name",), "Front door")
            editor.save()
            settle(lambda: health().config.version == 2, "the editor's save in force")
            text = engine.config.read_text()
            assert (
                "# by the stairs" in text
                and "zones: [[[0.0, 0.0], [0.04, 0.0], [0.0, 0.04]]]" in text
            )
            settle(lambda: not health().cameras["door"].motion, "motion outside the zone ignored")
            assert health().cameras["door"].name == "Front door"

            # A wrong value: refused with the key named, kept beside Save; the file as it was;
            # the form still holds the edit, to be corrected and saved again.
            editor.set(("record", "segment_s"), 1.0)
            editor.save()
            settle(
                lambda: "cameras[0].record.segment_s" in dpg.get_value(editor.outcome),
                "the refusal",
            )
            assert engine.config.read_text() == text
            editor.set(("record", "segment_s"), 6.0)
            editor.save()
            settle(lambda: "Saved camera door" in dpg.get_value(editor.outcome), "saved again")
            assert "{segment_s: 6}" in engine.config.read_text()
            text = engine.config.read_text()

            # A new camera with a tested stream and a schedule; then removed, asked first.
            editor._add_dialog()
            dpg.set_value(editor.new_id, "Bad Id!")
            editor._add()
            assert "is not an id" in dpg.get_value(editor.new_id_problem)
            dpg.set_value(editor.new_id, "lobby")
            editor._add()
            assert editor.form is not None and editor.form.new
            editor.set(("main",), camera.url("still/main"))
            editor.test("main")
            settle(lambda: "h264 1920x1080" in (console.feedback.notice.text or ""), "tested")
            editor.set(("record", "mode"), "scheduled")
            editor._add_window()
            (row,) = dpg.get_item_children(editor.schedule_group, 1)
            items = dpg.get_item_children(row, 1)
            saturday = next(i for i in items if dpg.get_item_label(i) == "sat")
            fire(saturday, True)  # as Dear PyGui calls back: (sender, value, user_data)
            end = [i for i in items if dpg.get_item_type(i).endswith("mvInputText")][1]
            fire(end, "19:30")
            editor.set(("record", "pre_roll_s"), 3.0)  # whole seconds are written as such
            editor.save()
            settle(
                lambda: "lobby" in health().cameras and health().cameras["lobby"].state == "live",
                "lobby recording",
                90,
            )
            lobby = next(c for c in system.saver.config["cameras"] if c["id"] == "lobby")
            assert lobby["record"]["schedule"][0]["days"] == [
                "mon",
                "tue",
                "wed",
                "thu",
                "fri",
                "sat",
            ]
            text = engine.config.read_text()
            assert 'end: "19:30"' in text and "pre_roll_s: 3\n" in text
            settle(lambda: any(c["id"] == "lobby" for c in system.saver.config["cameras"]), "read")
            editor.pick("lobby")
            editor._remove()
            assert editor.confirm.open
            editor.confirm._yes()
            settle(lambda: "lobby" not in health().cameras, "lobby removed")
            settle(  # the form closed, then the first camera picked: never the removed one
                lambda: editor.form is None or editor.form.camera_id != "lobby",
                "the removed camera's form closed",
            )
            assert "lobby" not in engine.config.read_text()
        finally:
            link.stop()
            for panel in console.panels:
                panel.close()


def test_zones_are_drawn_with_clicks_drags_and_right_clicks():
    zones = ZoneEditor()
    for point in ((0.1, 0.1), (0.5, 0.1), (0.5, 0.5)):
        zones.press(point)
        zones.release()
    zones.press((0.5, 0.505))  # near a point: grabbed, not added
    zones.drag((0.6, 1.7))
    zones.release()
    assert zones.zones == [[(0.1, 0.1), (0.5, 0.1), (0.6, 1.0)]]
    zones.new_zone()
    zones.press((0.8, 0.8))
    assert zones.problem() == "zone 2 has 1 point(s): add points (3 at least) or delete it"
    assert zones.delete_at((0.81, 0.8)) and zones.problem() is None
    assert zones.config() == [[[0.1, 0.1], [0.5, 0.1], [0.6, 1.0]]]
    assert not zones.delete_at((0.3, 0.9))


def test_the_form_sends_only_what_changed():
    original = CameraForm.of(
        {"id": "door", "main": "rtsp://***@10.0.0.2/main", "record": {"mode": "motion"}}
    )
    form = original.with_value(("record", "segment_s"), 30.0).with_value(("sub",), "")
    assert form.edits(original) == [
        {"path": ["cameras", "door", "record", "segment_s"], "value": 30.0}
    ]
    form.zones = [[[0, 0], [1, 0], [1, 1]]]
    assert form.edits(original)[-1] == {
        "path": ["cameras", "door", "motion", "zones"],
        "value": [[[0, 0], [1, 0], [1, 1]]],
    }
    new = CameraForm.blank("lobby").with_value(("main",), "rtsp://10.0.0.9/main")
    assert new.edits(None) == [
        {"path": ["cameras", "lobby"], "value": {"id": "lobby", "main": "rtsp://10.0.0.9/main"}}
    ]
    with pytest.raises(ValueError, match="main stream URL is required"):
        CameraForm.blank("x").edits(None)
