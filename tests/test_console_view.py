"""Console view state and wording, without a window: layouts, order, selection, persistence,
and what the engine link says when there is no engine."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gui.link import EngineLink, Snapshot
from gui.present import (
    NO_ENGINE,
    Pending,
    format_bytes,
    format_duration,
    status_line,
    tile_info,
)
from gui.view import LAYOUTS, Rect, ViewState, layout_rects
from nvr.protocol.client import EngineAddress
from nvr.protocol.codec import to_json
from nvr.protocol.health import CameraStatus, Health, RecordingStatus, StorageStatus, StreamStatus
from tests.support.cameras import free_port

CAMS = [f"cam{i}" for i in range(10)]


def test_layout_rects_tile_the_area_exactly():
    area = Rect(0, 34, 1280, 660)
    for name, layout in LAYOUTS.items():
        rects = layout_rects(layout, area, gap=2)
        assert len(rects) == layout.cells
        assert rects[0].x == 0 and rects[0].y == 34
        last = rects[-1]
        assert last.x + last.w == 1280 and last.y + last.h == 34 + 660
        for i, a in enumerate(rects):  # no two cells overlap
            assert not any(
                a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h
                for b in rects[i + 1 :]
            ), name
        units = {r.w for r, span in zip(rects, layout.spans, strict=True) if span[3] == 1}
        assert max(units) - min(units) <= 1  # equal units, give or take a pixel
    large, *small = layout_rects(LAYOUTS["1+5"], area, gap=2)
    assert len(small) == 5 and large.w >= 2 * small[0].w - 2 and large.h >= 2 * small[0].h - 2
    assert len(layout_rects(LAYOUTS["1+7"], area)) == 8


def test_layouts_pages_and_visible_cells():
    view = ViewState()
    view.sync_cameras(CAMS)
    assert view.layout == "2x2" and view.visible() == CAMS[:4] and view.pages == 3
    assert view.turn_page(1) and view.visible() == CAMS[4:8]
    assert view.turn_page(1) and view.visible() == CAMS[8:] + [None, None]
    assert view.turn_page(1) and view.page == 0  # wraps
    view.set_layout("4x4")
    assert view.pages == 1 and view.visible()[:10] == CAMS and view.visible()[10:] == [None] * 6
    view.set_layout("2x4")
    assert (view.grid().rows, view.grid().cols) == (2, 4) and len(view.visible()) == 8
    view.set_layout("1+5")
    assert view.pages == 2 and view.visible() == CAMS[:6]
    with pytest.raises(ValueError, match="unknown layout"):
        view.set_layout("5x5")


def test_selection_follows_layout_changes_and_fullscreen():
    view = ViewState()
    view.sync_cameras(CAMS)
    assert view.select("cam6")
    view.set_layout("2x2")
    assert view.page == 1 and "cam6" in view.visible()  # the selected camera stays on screen
    assert view.toggle_fullscreen() and view.visible() == ["cam6"] and view.grid().cells == 1
    assert view.select_step(1) and view.fullscreen == "cam7"
    assert view.toggle_fullscreen() and view.fullscreen is None
    assert view.toggle_fullscreen("cam2") and view.selected == "cam2"
    view.set_layout("3x3")  # a layout switch leaves full screen
    assert view.fullscreen is None and view.layout == "3x3"
    assert not view.select("nope") and view.selected == "cam2"


def test_the_selection_is_always_on_screen_or_none():
    """Issue 16, defect 7: R records the selected camera, so it is never one the operator
    cannot see: a restart shows its page, turning the page away drops it."""
    saved = ViewState(layout="2x2", order=CAMS, selected="cam6", page=0).to_dict()
    view = ViewState.from_dict(saved)
    assert view.page == 1 and "cam6" in view.visible()
    assert view.turn_page(1) and view.selected is None
    assert view.select("cam9") and view.toggle_fullscreen() and view.select_step(-8)
    assert view.exit_fullscreen() and view.selected in view.visible()
    stale = ViewState(layout="2x2", order=CAMS, selected="cam9", page=0)
    assert stale.sync_cameras(CAMS) and stale.page == 2 and "cam9" in stale.visible()
    assert not ViewState.from_dict({"order": ["a"], "selected": "ghost"}).selected


def test_drag_and_drop_swaps_and_hit_testing():
    view = ViewState()
    view.sync_cameras(CAMS[:4])
    area = Rect(0, 0, 800, 400)
    assert view.camera_at(area, 10, 10) == "cam0"
    assert view.camera_at(area, 790, 390) == "cam3"
    assert view.camera_at(area, 400, 10) is None  # the gap between two tiles
    assert view.move("cam0", "cam3") and view.order == ["cam3", "cam1", "cam2", "cam0"]
    assert not view.move("cam1", "cam1") and not view.move("cam1", "ghost")


def test_camera_list_changes_keep_the_operators_order():
    view = ViewState(order=["b", "a", "gone"], selected="gone", fullscreen="gone")
    assert view.sync_cameras(["a", "b", "c"])
    assert view.order == ["b", "a", "c"] and view.selected is None and view.fullscreen is None
    assert not view.sync_cameras(["a", "b", "c"])


def test_state_survives_a_restart_and_bad_files(tmp_path: Path):
    path = tmp_path / "nvr" / "console.json"
    view = ViewState()
    view.sync_cameras(CAMS)
    view.set_layout("3x3")
    view.move("cam0", "cam5")
    view.select("cam5")
    view.toggle_fullscreen()
    view.save(path)
    again = ViewState.load(path)
    assert again == view
    path.write_text("{not json")
    assert ViewState.load(path) == ViewState()
    path.write_text(json.dumps({"layout": "9x9", "order": ["x", 3, "x"], "page": "two"}))
    odd = ViewState.load(path)
    assert odd.layout == "2x2" and odd.order == ["x"] and odd.page == 0
    assert ViewState.load(tmp_path / "missing.json") == ViewState()


def test_format_helpers():
    assert format_duration(5) == "0:05"
    assert format_duration(723) == "12:03"
    assert format_duration(3723) == "1:02:03"
    assert format_bytes(512) == "512 B" and format_bytes(78.9e9) == "78.9 GB"


def _camera(**over):
    return CameraStatus(**{"id": "lobby", "name": "Lobby", "state": "live", **over})


def test_tile_states_and_reasons():
    def info(camera, **kw):
        args = {"engine_error": None, "frame_age_s": 0.1, "fps": 15.0, "motion": False}
        args.update(kw)
        return tile_info(camera, "lobby", pending=None, **args)

    live = info(_camera())
    assert (live.state, live.state_label, live.reason, live.shows_video) == (
        "live",
        "LIVE",
        None,
        True,
    )
    assert info(_camera(), frame_age_s=None).reason == "waiting for the first picture…"
    stalled = info(_camera(), frame_age_s=8.0)
    assert stalled.state == "stalled" and stalled.reason == "no new picture for 0:08"
    down = info(_camera(state="reconnecting", error="connection refused"))
    assert down.state_label == "OFFLINE"
    assert down.reason == "camera unreachable: connection refused; reconnecting"
    restarting = info(_camera(state="restarting", last_exit="killed by SIGKILL"))
    assert restarting.reason == "worker restarting after killed by SIGKILL"
    assert info(_camera(enabled=False)).state_label == "DISABLED"
    gone = info(_camera(), engine_error="engine not reachable")
    assert gone.state == NO_ENGINE and gone.title == "Lobby" and not gone.motion
    assert info(None).state_label == "REMOVED"
    # MOTION: the ring's last frame counts only while pictures are fresh; the engine's always.
    assert info(_camera(), motion=True).motion
    assert not info(_camera(), motion=True, frame_age_s=8.0).motion  # stalled: stale frame
    assert not info(_camera(state="reconnecting"), motion=True).motion
    assert info(_camera(state="reconnecting", motion=True)).motion  # the sub still sees it
    assert not info(_camera(motion=True), engine_error="engine not reachable").motion
    # Issue 16, defect 6: the main stream lost, the sub stream playing: not "unreachable"
    # over a moving picture, but "not recording", in the alarm colour.
    sub_up = StreamStatus(connected=True, fps=15.0)
    main_down = info(_camera(state="reconnecting", error="connection refused", sub=sub_up))
    assert (main_down.state, main_down.state_label, main_down.shows_video) == (
        "main down",
        "NOT RECORDING",
        True,
    )
    assert main_down.reason == (
        "not recording: main stream unreachable (connection refused); live view from the sub stream"
    )
    assert info(_camera(state="reconnecting", sub=sub_up), frame_age_s=9.0).state == "offline"
    assert info(_camera(state="reconnecting", sub=StreamStatus())).state == "offline"
    garbage = StreamStatus(connected=True, error="cam/sub: the video does not decode (…)")
    blind = info(_camera(sub=garbage), frame_age_s=None)
    assert (blind.state, blind.state_label, blind.shows_video) == ("error", "ERROR", False)
    assert blind.reason == (
        "no live view or motion detection, recording goes on: "
        "cam/sub: the video does not decode (…)"
    )


def test_recording_indicator_pending_then_confirmed():
    now_ns = 10_000 * 10**9
    recording = RecordingStatus(active=True, type="manual", since_ns=now_ns - 65 * 10**9)
    asked = Pending(active=True, asked_at=0.0)
    common = {"engine_error": None, "frame_age_s": 0.1, "fps": 15.0, "motion": False}
    waiting = tile_info(_camera(), "lobby", pending=asked, now_ns=now_ns, **common)
    assert waiting.recording == "REC requested…" and not waiting.recording_confirmed
    done = tile_info(
        _camera(manual=True, recording=recording), "lobby", pending=asked, now_ns=now_ns, **common
    )
    assert done.recording == "REC manual 1:05" and done.recording_confirmed
    panic = tile_info(
        _camera(panic=True, recording=recording), "lobby", pending=None, now_ns=now_ns, **common
    )
    assert panic.recording == "REC PANIC 1:05" and panic.panic
    stopping = tile_info(
        _camera(manual=True, recording=recording),
        "lobby",
        pending=Pending(active=False, asked_at=0.0),
        now_ns=now_ns,
        **common,
    )
    assert stopping.recording == "stopping…" and not stopping.recording_confirmed


def test_status_line():
    now_ns = 10_000 * 10**9
    health = Health(
        status="degraded",
        problems=(
            "camera B is reconnecting",
            "cam a: sub stream does not decode; no motion detection",
        ),
        storage=StorageStatus(free_bytes=78_900_000_000, total_bytes=270_600_000_000),
        cameras={
            "a": _camera(
                name="A", recording=RecordingStatus(active=True, since_ns=now_ns - 5 * 10**9)
            ),
            "b": _camera(id="b", name="B", state="reconnecting"),
        },
    )
    line = status_line(health, None, now_ns=now_ns)
    assert line.engine == "Engine degraded · 1/2 live · 2 problems"
    assert line.engine_detail.splitlines()[1:] == [
        "- camera B is reconnecting",
        "- cam a: sub stream does not decode; no motion detection",
    ]
    assert line.recordings == "Recording 1 of 2" and line.recordings_detail == "A 0:05"
    assert line.disk == "Disk 78.9 GB free of 270.6 GB" and not line.disk_warning
    offline = status_line(None, "engine not reachable at x")
    assert offline.engine == "Engine: NOT CONNECTED" and not offline.engine_ok
    assert offline.engine_detail == "Engine: engine not reachable at x"


def test_the_link_says_why_the_engine_is_unreachable():
    api = f"http://127.0.0.1:{free_port()}"
    link = EngineLink(EngineAddress(api), poll_s=0.05)
    link.start()
    try:
        ticket = link.send("start_recording", "lobby")
        results = []
        deadline = time.monotonic() + 10
        while not (results and link.snapshot().polled_at) and time.monotonic() < deadline:
            results += link.results()
            time.sleep(0.05)
    finally:
        link.stop()
    snap = link.snapshot()
    assert not snap.connected and snap.health is None and snap.cameras == {}
    assert snap.error.startswith(f"engine not reachable at {api} (nothing is listening there)")
    assert snap.error.endswith("; retrying")
    [result] = results
    assert (result.ticket, result.ok, result.status, result.reply) == (ticket, False, None, None)
    assert result.error.startswith(f"engine not reachable at {api}")


def test_the_link_follows_an_engine_that_moved_to_another_port():
    """An engine on ``api.port: 0`` gets a new port at each start; the console's ``locate``
    (its run file) finds it, and polling goes on at the new address."""
    body = json.dumps(to_json(Health(cameras={"gate": CameraStatus(id="gate")}))).encode()

    class HealthOnly(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None: ...

    server = ThreadingHTTPServer(("127.0.0.1", 0), HealthOnly)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    moved_to = f"http://127.0.0.1:{server.server_address[1]}"
    gone = EngineAddress(f"http://127.0.0.1:{free_port()}", "old-token")
    link = EngineLink(gone, poll_s=0.05, locate=lambda: EngineAddress(moved_to, "new-token"))
    link.start()
    try:
        deadline = time.monotonic() + 10
        while not link.snapshot().connected and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        link.stop()
        server.shutdown()
        server.server_close()
    assert link.api == moved_to and list(link.snapshot().cameras) == ["gate"]


def test_digital_zoom_keeps_the_point_under_the_mouse_and_stays_inside_the_picture():
    from gui.live.zoom import MAX_ZOOM, Zoom

    zoom = Zoom()
    assert zoom.window() == (0.0, 0.0, 1.0, 1.0) and zoom.label() == ""
    zoom.wheel(3, 0.25, 0.75)  # three notches in, over the lower left quarter
    assert zoom.factor == pytest.approx(1.25**3) and zoom.label() == "ZOOM 2.0x"
    assert zoom.picture_point(0.25, 0.75) == pytest.approx((0.25, 0.75))  # stayed put
    zoom.pan(-10.0, 0.0)  # dragged far to the left: stops at the picture's right edge
    left, top, right, bottom = zoom.window()
    assert right == pytest.approx(1.0) and right - left == pytest.approx(1 / zoom.factor)
    zoom.wheel(100, 0.5, 0.5)
    assert zoom.factor == MAX_ZOOM
    zoom.wheel(-100, 0.9, 0.1)
    assert zoom.window() == pytest.approx((0.0, 0.0, 1.0, 1.0)) and not zoom.zoomed


def test_a_saved_layout_puts_its_cameras_back_in_its_cells_and_survives_a_restart(tmp_path):
    from gui.live.tours import apply_layout, save_layout

    view = ViewState()
    view.sync_cameras(CAMS)
    view.set_layout("1+5")
    view.move("cam0", "cam7")  # cam7 in the large tile
    assert save_layout(view, "  Gate   and yard ") is None
    assert save_layout(view, "   ") == "type a name for the layout first"
    view.toggle_fullscreen("cam3")
    assert "leave full screen" in (save_layout(view, "x") or "")
    view.exit_fullscreen()
    view.set_layout("2x2")
    view.move("cam7", "cam1")
    order = list(view.order)
    assert apply_layout(view, "Gate and yard")
    assert view.layout == "1+5" and view.visible()[0] == "cam7" and view.pages == 1
    assert view.order == order  # the grid's own order is left alone
    assert not apply_layout(view, "nope")
    view.turn_page(1)  # back to the pages of the order
    assert view.pinned is None and view.visible()[:6] == order[:6]
    view.set_layout("2x2")
    view.turn_page(1)
    view.turn_page(1)  # the last page: cam8, cam9 and two empty cells
    assert save_layout(view, "last page") is None
    view.turn_page(1)
    assert apply_layout(view, "last page") and view.visible()[2:] == [None, None]
    view.save(tmp_path / "state.json")
    again = ViewState.load(tmp_path / "state.json")
    assert again.saved == view.saved and again.tour == view.tour
    assert again.pinned_name == "last page" and again.visible()[2:] == [None, None]
    again.sync_cameras([c for c in CAMS if c != "cam7"])  # a camera removed since
    assert apply_layout(again, "Gate and yard") and again.visible()[0] is None  # its cell


def test_a_tour_shows_pages_cameras_or_saved_layouts_in_turn_and_pauses():
    from gui.live.tours import TourRunner, save_layout

    view = ViewState()
    view.sync_cameras(CAMS)
    tour = TourRunner(view)
    view.tour.dwell_s = 10
    assert not tour.update(0.0)  # not running
    assert tour.toggle(100.0) and tour.status(103.0) == "TOUR pages · 7 s"
    assert not tour.update(109.0) and view.page == 0
    assert tour.update(110.0) and view.page == 1
    assert tour.update(120.0) and view.page == 2
    assert not tour.toggle(121.0) and not tour.update(200.0) and view.page == 2  # paused
    view.tour.kind = "cameras"
    tour.toggle(300.0)
    tour.update(310.0)
    assert view.fullscreen is not None
    first = view.fullscreen
    tour.update(320.0)
    assert view.fullscreen != first and view.fullscreen in CAMS
    view.tour.kind = "layouts"
    view.exit_fullscreen()
    view.set_layout("2x2")
    save_layout(view, "A")
    view.set_layout("1+7")
    save_layout(view, "B")
    tour.update(330.0)
    assert view.layout == "2x2"
    tour.update(340.0)
    assert view.layout == "1+7"


def test_a_damaged_state_file_keeps_what_makes_sense(tmp_path):
    view = ViewState.from_dict(
        {
            "layout": "1+5",
            "order": CAMS,
            "saved": {
                "ok": {"layout": "2x2", "cameras": ["cam1", 3, None]},
                "bad": {"layout": "9x9"},
            },
            "tour": {"kind": "everything", "dwell_s": True, "running": "yes"},
        }
    )
    assert view.layout == "1+5" and list(view.saved) == ["ok"]
    assert view.saved["ok"].cameras == ("cam1", None, None)
    assert (view.tour.kind, view.tour.dwell_s, view.tour.running) == ("pages", 10, False)


def test_a_running_tour_waits_for_the_operator_and_full_screen_pauses_it():
    from gui.live.model import LiveModel
    from gui.panel import Feedback

    view = ViewState()
    view.sync_cameras(CAMS)
    view.tour.dwell_s = 10
    model = LiveModel(view, None, Feedback(), Snapshot(False, None, None, 0.0, 0.0))
    model.toggle_tour(100.0)
    model.tour.due_at = 110.0
    model.turn_page(1)  # the operator turned a page at about now: a whole dwell from now
    assert model.tour.due_at is not None and model.tour.due_at > 110.0
    model.toggle_fullscreen("cam3")  # a closer look: the tour pauses, and says so
    assert not view.tour.running and "Tour paused" in model.feedback.notice.text
    assert not model.tour.update(10_000.0) and view.fullscreen == "cam3"


def test_layout_names_are_whole_and_a_replaced_one_says_so():
    from gui.live.model import LiveModel
    from gui.panel import Feedback

    view = ViewState()
    view.sync_cameras(CAMS)
    model = LiveModel(view, None, Feedback(), Snapshot(False, None, None, 0.0, 0.0))
    model.save_layout("x" * 41)
    assert "at most 40 characters" in model.feedback.notice.text and not view.saved
    model.save_layout("Entrances")
    assert model.feedback.notice.text == "Layout 'Entrances' saved"
    model.save_layout(" Entrances ")
    assert model.feedback.notice.text == "Layout 'Entrances' replaced" and len(view.saved) == 1


def test_paging_a_1x1_grid_selects_the_camera_shown_and_full_screen_pages_cameras():
    view = ViewState(layout="1x1")
    view.sync_cameras(CAMS)
    view.turn_page(1)
    assert view.visible() == ["cam1"] and view.selected == "cam1"
    view.set_layout("2x2")
    view.toggle_fullscreen("cam2")
    assert view.turn_page(1) and view.fullscreen == "cam3" and view.selected == "cam3"


def test_a_starting_camera_with_pictures_flowing_is_not_shown_as_connecting():
    info = tile_info(
        CameraStatus(id="gate", state="starting"),
        "gate",
        engine_error=None,
        frame_age_s=0.2,
        fps=15,
        motion=False,
        pending=None,
    )
    assert (info.state_label, info.reason, info.shows_video) == ("STARTING", None, True)
