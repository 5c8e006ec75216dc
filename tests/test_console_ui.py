"""The console's Dear PyGui item tree without a viewport: build it, feed it, click it, read it.

A real frame ring in shared memory carries real frames; the engine side is a fixed, typed
``Health`` (the engine itself is exercised under Xvfb in ``test_console.py``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg
import numpy as np
import pytest

from gui import theme
from gui.feeds import LiveFeed
from gui.kernel import warm
from gui.link import Alarms, CommandResult, Snapshot
from gui.live.atlas import RETIRE_FRAMES, picture_rect, tile_fps_cap, tile_region
from gui.live.tiles import (
    DROP_BORDER,
    EMPTY_BORDER,
    PANIC_BORDER,
    SELECTED_BORDER,
    border_style,
)
from gui.shell import Console
from gui.view import Rect, ViewState
from native.texture import letterbox
from nvr.frames.ring import FrameRing
from nvr.protocol.commands import CommandReply
from nvr.protocol.health import CameraStatus, Health, RecordingStatus, StorageStatus, StreamStatus


class FixedLink:
    """The console's engine link, answering from a health the test controls."""

    def __init__(self, health: Health | None) -> None:
        self.health = health
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.pending_results: list[CommandResult] = []
        self.alarm_list = Alarms(known=True)

    def snapshot(self) -> Snapshot:
        if self.health is None:
            return Snapshot(False, None, "engine not reachable at http://127.0.0.1:1", 0.0, 1.0)
        return Snapshot(True, self.health, None, 1.0, 1.0)

    def send(self, command: str, camera_id: str = "*", **params: Any) -> int:
        self.sent.append((command, camera_id, params))
        return len(self.sent)

    def results(self) -> list[CommandResult]:
        out, self.pending_results = self.pending_results, []
        return out

    def alarms(self) -> Alarms:
        return self.alarm_list

    def ask(self, query: Any) -> int:  # queries (the System view's) are never answered here
        return 0

    def answer(self, ticket: int) -> None:
        return None

    def start(self) -> None: ...

    def stop(self) -> None: ...


def camera(cid: str, ring: str | None, **over: Any) -> CameraStatus:
    return CameraStatus(**{"id": cid, "name": cid.title(), "state": "live", "ring": ring, **over})


def health(cameras: list[CameraStatus], panic: bool = False) -> Health:
    return Health(
        status="ok",
        panic=panic,
        storage=StorageStatus(free_bytes=5_000_000_000, total_bytes=10_000_000_000),
        cameras={c.id: c for c in cameras},
    )


def textured_frame(width: int, height: int, shift: int) -> tuple[np.ndarray, ...]:
    ys, xs = np.mgrid[0:height, 0:width]
    y = ((xs * 3 + ys * 2 + shift * 7) % 220 + 16).astype(np.uint8)
    u = np.full(((height + 1) // 2, (width + 1) // 2), 90, np.uint8)
    v = np.full_like(u, 170)
    return y, u, v


@pytest.fixture
def rings() -> Iterator[dict[str, FrameRing]]:
    warm()
    made = {
        cid: FrameRing.create(f"nvrtest{os.getpid() % 10000}_{cid}", 640, 360)
        for cid in ("lobby", "yard")
    }
    try:
        yield made
    finally:
        for ring in made.values():
            ring.close()
            ring.unlink()


_built: list[Console] = []


@pytest.fixture(autouse=True)
def _consoles_let_go_of_rings() -> Iterator[None]:
    """Each console a test builds lets go of the rings it attached, as on exit (a ring dropped
    with its views alive cannot be unmapped: 'cannot close exported pointers exist')."""
    yield
    while _built:
        _built.pop().live.close()


def make_console(link: FixedLink, tmp_path: Path) -> Console:
    console = Console(link, ViewState(), tmp_path / "console.json", size=(1280, 720))  # type: ignore[arg-type]
    console.build()
    _built.append(console)
    return console


def test_tiles_show_ring_frames_in_textures_of_their_size(context, rings, tmp_path):
    for i, ring in enumerate(rings.values()):
        ring.publish(*textured_frame(640, 360, i), capture_ns=time.time_ns())
    link = FixedLink(health([camera(c, r.name) for c, r in rings.items()]))
    console = make_console(link, tmp_path)
    console.update()
    view = console.live.model.view
    assert view.order == ["lobby", "yard"] and view.layout == "2x2"
    live = console.live
    atlas = live.texture.atlas
    cell = live.tile_rects()[0][1]
    # Each region is the tile's picture at the tile's pixel size, without letterbox bars.
    _, _, width, height = letterbox(640, 360, cell.w, cell.h)
    assert atlas.pixels.shape == (2 * height, 2 * width, 4) and atlas.pixels.dtype == np.float32
    assert atlas.pixels.flags.c_contiguous
    assert dpg.get_item_configuration(atlas.tag)["width"] == 2 * width
    for index, (cid, rect) in enumerate(live.tile_rects()):
        region = atlas.regions[index]
        assert (region.w, region.h) == (width, height)
        pixels = atlas.pixels[region.y : region.y + region.h, region.x : region.x + region.w]
        if cid is None:
            continue
        assert atlas.owners[index] == cid
        assert pixels[..., :3].std() > 0.05  # real picture, not a flat fill
        assert pixels[0, :, :3].std() > 0.05 and pixels[:, 0, :3].std() > 0.05  # no bars
        assert np.all(pixels[..., 3] == 1.0)
        image = live.tiles.cells[index].image
        config = dpg.get_item_configuration(image)
        assert config["texture_tag"] == atlas.tag
        # drawn centred in the cell, at its own size
        x, y = rect.x + (rect.w - width) // 2, rect.y + (rect.h - height) // 2
        assert config["pmin"][:2] == [x, y] and config["pmax"][:2] == [x + width, y + height]
    assert live.feeds["lobby"].frames_shown == 1
    # Same frame again: nothing converted; a new frame: converted once.
    console.update()
    assert live.feeds["lobby"].frames_shown == 1
    rings["lobby"].publish(*textured_frame(640, 360, 5), capture_ns=time.time_ns() + 10**9)
    console.update()
    assert live.feeds["lobby"].frames_shown == 2
    info = live.tile_infos()["lobby"]
    assert info.state == "live" and info.title == "Lobby"


def test_layout_buttons_keys_fullscreen_and_texture_retirement(context, rings, tmp_path):
    for ring in rings.values():
        ring.publish(*textured_frame(640, 360, 0), capture_ns=time.time_ns())
    console = make_console(
        FixedLink(health([camera(c, r.name) for c, r in rings.items()])), tmp_path
    )
    console.update()
    live = console.live
    view = live.model.view
    button = live.toolbar.layouts["3x3"]
    dpg.get_item_callback(button)(button, None, dpg.get_item_user_data(button))
    assert view.layout == "3x3"
    console.update()
    shown = [dpg.get_item_configuration(c.node)["show"] for c in live.tiles.cells]
    assert shown.count(True) == 9
    console.on_key(dpg.mvKey_1)
    assert view.layout == "1x1"
    for _ in range(RETIRE_FRAMES + 1):
        console.update()
    # One grid texture at a time: the 3x3 one was deleted once no image drew it.
    textures = dpg.get_item_children(live.texture.registry, 1)
    assert textures == [live.texture.atlas.tag]
    assert live.texture.atlas.owners == ["lobby"]
    console.on_key(dpg.mvKey_2)
    live.model.select("yard")
    fullscreen = live.toolbar.fullscreen
    dpg.get_item_callback(fullscreen)(fullscreen, None, None)
    console.update()
    assert view.fullscreen == "yard"
    assert dpg.get_item_configuration(live.toolbar.fullscreen)["label"] == "Exit full screen"
    assert [c for c, _ in live.tile_rects()] == ["yard"]
    full = live.texture.atlas.pixels  # the camera's picture, stretched to full screen by the GPU
    assert full.shape == (360, 640, 4)
    live.menu.open("lobby", (100, 100))  # the tile menu: Esc closes it, nothing else happens
    assert live.menu.shown and view.selected == "lobby"
    console.on_key(dpg.mvKey_Escape)
    assert not live.menu.shown and view.fullscreen == "yard"
    live.model.select("yard")
    console.on_key(dpg.mvKey_Escape)
    live.model.save_state()
    saved = ViewState.load(tmp_path / "console.json")
    assert saved.layout == "2x2" and saved.selected == "yard" and saved.fullscreen is None


def test_record_button_gives_feedback_then_confirms(context, rings, tmp_path):
    cams = [camera(c, r.name) for c, r in rings.items()]
    link = FixedLink(health(cams))
    console = make_console(link, tmp_path)
    console.update()
    live = console.live
    record = live.toolbar.record
    dpg.get_item_callback(record)(record, None, True)  # nothing selected
    assert link.sent == [] and "select a camera" in console.feedback.notice.text
    live.model.select("lobby")
    dpg.get_item_callback(record)(record, None, True)
    assert link.sent == [("start_recording", "lobby", {})]
    console.update()
    info = live.tile_infos()["lobby"]
    assert info.recording == "REC requested…" and not info.recording_confirmed
    assert "starting recording on Lobby" in dpg.get_value(console.status.feedback)
    # The engine acknowledges, and its next health shows the manual recording.
    link.pending_results.append(
        CommandResult(
            1, "start_recording", "lobby", {}, True, 200, CommandReply(ok=True), None, 42.0
        )
    )
    cams[0] = dataclasses.replace(
        cams[0],
        manual=True,
        recording=RecordingStatus(active=True, type="manual", since_ns=time.time_ns() - 3 * 10**9),
    )
    link.health = health(cams)
    console.update()
    info = live.tile_infos()["lobby"]
    assert info.recording == "REC manual 0:03" and info.recording_confirmed
    assert "confirmed in 42 ms" in dpg.get_value(console.status.feedback)
    assert dpg.get_value(console.status.recordings) == "Recording 1 of 2"
    assert dpg.get_value(console.status.recordings_tip).startswith("Lobby 0:03")
    # A refused command is reported, not silently dropped.
    live.recording.set_recording("yard", True)
    link.pending_results.append(
        CommandResult(
            2,
            "start_recording",
            "yard",
            {},
            False,
            404,
            CommandReply(ok=False, error="unknown camera"),
            "unknown camera",
            3.0,
        )
    )
    console.update()
    notice = console.feedback.notice
    assert notice.error and "recording not started on Yard: unknown camera" in notice.text


def test_panic_button_and_banner(context, rings, tmp_path):
    cams = [camera(c, r.name) for c, r in rings.items()]
    link = FixedLink(health(cams))
    console = make_console(link, tmp_path)
    console.update()
    panic = console.live.toolbar.panic
    dpg.get_item_callback(panic)(panic, None, None)
    assert link.sent == [("panic", "*", {"active": True})]
    console.update()
    assert dpg.get_item_configuration(panic)["label"] == "PANIC…"
    link.health = health(
        [
            dataclasses.replace(
                c,
                panic=True,
                recording=RecordingStatus(active=True, type="panic", since_ns=time.time_ns()),
            )
            for c in cams
        ],
        panic=True,
    )
    console.update()
    assert dpg.get_item_configuration(panic)["label"] == "CLEAR PANIC"
    assert dpg.get_item_configuration(console.live.banners.panic_text)["show"]
    assert dpg.get_item_configuration(console.live.banners.panic_frame)["show"]
    assert all(
        i.panic and i.recording.startswith("REC PANIC") for i in console.live.tile_infos().values()
    )
    dpg.get_item_callback(panic)(panic, None, None)
    assert link.sent[-1] == ("panic", "*", {"active": False})


def test_engine_away_shows_a_banner_and_keeps_the_last_picture(context, rings, tmp_path):
    for ring in rings.values():
        ring.publish(*textured_frame(640, 360, 0), capture_ns=time.time_ns())
    link = FixedLink(health([camera(c, r.name) for c, r in rings.items()]))
    console = make_console(link, tmp_path)
    console.update()
    link.health = None
    console.update()
    live = console.live
    text = dpg.get_item_configuration(live.banners.engine_text)
    assert text["show"] and "engine not reachable" in text["text"]
    assert dpg.get_value(console.status.engine) == "Engine: NOT CONNECTED"
    assert all(i.state == "no engine" for i in live.tile_infos().values())
    assert live.texture.atlas.pixels[..., :3].std() > 0.05  # last pictures kept
    assert live.tiles.cells[0].image is not None
    for layout in ("1x1", "2x2", "3x3", "4x4"):  # the banner covers no tile's title bar
        live.model.view.set_layout(layout)
        console.update()
        banner = dpg.get_item_configuration(live.banners.engine_bg)
        top, bottom = banner["pmin"][1], banner["pmax"][1]
        for _, rect in live.tile_rects():
            header = (rect.y, rect.y + theme.HEADER_PX)
            assert header[1] <= top or header[0] >= bottom, (layout, rect, top)


def test_offline_camera_shows_its_reason(context, rings, tmp_path):
    cams = [
        camera("lobby", rings["lobby"].name),
        camera("yard", None, state="reconnecting", error="connection refused"),
    ]
    console = make_console(FixedLink(health(cams)), tmp_path)
    console.update()
    cell = console.live.tiles.cells[1]
    reason = dpg.get_item_configuration(cell.reason)
    assert reason["show"] and "camera unreachable: connection refused" in reason["text"].replace(
        "\n", " "
    )
    assert dpg.get_item_configuration(cell.badge)["text"] == "OFFLINE"


def test_conversion_rate_adapts_to_the_grid():
    assert tile_fps_cap(1) == 60 and tile_fps_cap(4) == 30 and tile_fps_cap(16) == 15


def test_rate_cap_runs_on_the_cameras_clock(rings):
    """A 15 fps camera under a 15 fps cap shows every frame, however late the render loop
    comes; a 30 fps camera shows every other one; only frames lost to a late loop count as
    skipped, not those the cap leaves out or those published while the tile was hidden."""
    ring = rings["lobby"]
    feed = LiveFeed("lobby")
    feed.follow(ring.name, 0.0)
    tile = np.zeros((270, 480, 4), np.float32)
    cap_s = 0.7 / tile_fps_cap(9)
    camera_ns = time.time_ns()
    loop_s = 0.0

    def play(period_ms: float, frames: int, every: int = 1) -> None:
        """Publish ``frames`` ``period_ms`` apart on the camera's clock (the render loop's clock
        keeps pace), converting after each ``every``-th."""
        nonlocal camera_ns, loop_s
        for i in range(frames):
            camera_ns += int(period_ms * 1e6)
            loop_s += period_ms / 1000
            ring.publish(*textured_frame(640, 360, i), capture_ns=camera_ns)
            if (i + 1) % every == 0:
                feed.convert_into(tile, loop_s, min_interval_s=cap_s)

    play(1000 / 15, 30)
    assert (feed.frames_shown, feed.frames_skipped) == (30, 0)
    play(1000 / 15, 30, every=2)  # the loop came too late for every other frame
    assert (feed.frames_shown, feed.frames_skipped) == (45, 15)
    play(1000 / 30, 30)
    assert (feed.frames_shown, feed.frames_skipped) == (60, 15)  # capped, not lost
    play(1000 / 30, 30, every=3)  # 10 shown where the cap would have shown 15
    assert (feed.frames_shown, feed.frames_skipped) == (70, 20)
    play(1000 / 15, 30, every=10)  # a loop ten frames late: 3 shown, 27 lost
    assert (feed.frames_shown, feed.frames_skipped) == (73, 47)
    play(1000 / 15, 20, every=100)  # hidden: nothing converted ...
    feed.invalidate()  # ... then on screen again: the newest frame at once, nothing lost
    feed.convert_into(tile, loop_s, min_interval_s=cap_s)
    assert (feed.frames_shown, feed.frames_skipped) == (74, 47)
    feed.release()


def test_a_camera_whose_timestamps_stand_still_is_still_shown(rings):
    """The render loop's clock is the cap's backstop: repeated capture times do not freeze."""
    ring = rings["lobby"]
    feed = LiveFeed("lobby")
    feed.follow(ring.name, 0.0)
    tile = np.zeros((270, 480, 4), np.float32)
    stamp = time.time_ns()
    for i in range(10):
        ring.publish(*textured_frame(640, 360, i), capture_ns=stamp)
        feed.convert_into(tile, i / 15, min_interval_s=0.7 / 15)
    assert feed.frames_shown == 10
    feed.release()


def test_tile_regions_are_pictures_no_larger_than_the_cameras():
    assert tile_region(638, 336, [(640, 360)]) == (597, 336)  # a 3x3 tile, bars left out
    assert tile_region(478, 252, [(640, 360)]) == (448, 252)
    assert tile_region(1920, 1016, []) == (1920, 1016)  # no picture yet
    assert tile_region(1920, 1016, [(640, 360)]) == (640, 360)  # the GPU stretches it
    assert tile_region(1920, 1016, [(640, 360), (1280, 720)]) == (1280, 720)
    # the most common shape decides; a 4:3 camera is pillarboxed inside its region
    assert tile_region(638, 336, [(640, 480), (640, 360), (640, 360)]) == (597, 336)
    assert tile_region(638, 336, [(640, 480)]) == (448, 336)
    assert picture_rect(Rect(10, 20, 638, 336), (597, 336)) == Rect(30, 20, 597, 336)
    assert picture_rect(Rect(0, 0, 1920, 1016), (640, 360)) == Rect(57, 0, 1806, 1016)


def test_a_minimised_window_converts_nothing(context, rings, tmp_path):
    for ring in rings.values():
        ring.publish(*textured_frame(640, 360, 0), capture_ns=time.time_ns())
    console = make_console(
        FixedLink(health([camera(c, r.name) for c, r in rings.items()])), tmp_path
    )
    feeds = console.live.feeds
    console.minimised = True
    console.update()
    assert all(f.frames_shown == 0 for f in feeds.values())
    assert console.render_rate(time.monotonic()) == 5.0
    console.minimised = False
    console.update()
    assert all(f.frames_shown == 1 for f in feeds.values())
    console.minimised = True
    for i in range(5):  # published while minimised: not shown, and not counted as skipped
        for ring in rings.values():
            ring.publish(*textured_frame(640, 360, i), capture_ns=time.time_ns() + i * 10**8)
        console.update()
    console.minimised = False
    console.update()
    assert all((f.frames_shown, f.frames_skipped) == (2, 0) for f in feeds.values())


def test_no_camera_on_screen_means_no_texture(context, rings, tmp_path):
    for ring in rings.values():
        ring.publish(*textured_frame(640, 360, 0), capture_ns=time.time_ns())
    link = FixedLink(health([camera(c, r.name) for c, r in rings.items()]))
    console = make_console(link, tmp_path)
    console.update()
    texture = console.live.texture
    assert texture.atlas is not None
    link.health = health([])
    for _ in range(RETIRE_FRAMES + 1):
        console.update()
    assert texture.atlas is None
    assert dpg.get_item_children(texture.registry, 1) == []
    assert all(cell.image is None for cell in console.live.tiles.cells)


def test_a_tile_has_one_border_by_what_matters_most():
    def style(**over: bool):
        return border_style(
            **{"empty": False, "drop_target": False, "panic": False, "selected": False, **over}
        )

    assert style(empty=True) == EMPTY_BORDER
    assert style(drop_target=True, panic=True, selected=True) == DROP_BORDER
    assert style(panic=True, selected=True) == PANIC_BORDER
    assert style(selected=True) == SELECTED_BORDER
    assert style() is None


def test_a_hidden_panel_keeps_no_texture_and_shows_again(context, rings, tmp_path):
    for ring in rings.values():
        ring.publish(*textured_frame(640, 360, 0), capture_ns=time.time_ns())
    link = FixedLink(health([camera(c, r.name) for c, r in rings.items()]))
    console = make_console(link, tmp_path)
    live = console.live
    console.update()
    assert (
        console.panels == [live, console.playback, console.alarms, console.system]
        and live.texture.atlas is not None
    )
    console.on_key(dpg.mvKey_F2)  # to Playback: the live grid is hidden
    for i in range(RETIRE_FRAMES + 1):  # frames published while hidden: not shown, not skipped
        for ring in rings.values():
            ring.publish(*textured_frame(640, 360, i), capture_ns=time.time_ns() + i * 10**8)
        console.update()
    assert live.texture.atlas is None
    assert dpg.get_item_children(live.texture.registry, 1) == []
    assert not any(dpg.get_item_configuration(c.node)["show"] for c in live.tiles.cells)
    console.on_key(dpg.mvKey_F1)  # back to the live grid: its pictures again, nothing skipped
    console.update()
    assert live.texture.atlas.owners[:2] == ["lobby", "yard"]
    assert all((f.frames_shown, f.frames_skipped) == (2, 0) for f in live.feeds.values())
    assert all(live.tiles.cells[i].image is not None for i in range(2))


def test_a_camera_shown_alone_is_shown_from_its_main_stream_while_the_engine_decodes_it(
    context, rings, tmp_path
):
    main = FrameRing.create(f"nvrtest{os.getpid() % 10000}_main", 1280, 720)
    try:
        main.publish(*textured_frame(1280, 720, 0), capture_ns=time.time_ns())
        for ring in rings.values():
            ring.publish(*textured_frame(640, 360, 0), capture_ns=time.time_ns())
        sub = StreamStatus(connected=True)
        cams = [camera(c, r.name, sub=sub) for c, r in rings.items()]
        link = FixedLink(health(cams))
        console = make_console(link, tmp_path)
        live = console.live
        console.update(now=100.0)
        assert not any(c == "watch_main" for c, _, _ in link.sent)  # a grid: sub streams only
        live.model.view.toggle_fullscreen("lobby")
        console.update(now=100.1)
        assert link.sent[-1] == ("watch_main", "lobby", {"seconds": 6})
        assert live.feeds["lobby"].ring_name == rings["lobby"].name  # not decoded yet
        cams[0] = dataclasses.replace(cams[0], main_ring=main.name)
        link.health = health(cams)
        console.update(now=100.2)
        assert live.feeds["lobby"].ring_name == main.name
        assert live.tile_infos(100.2)["lobby"].picture == "1280x720 main"
        console.update(now=101.0)
        assert len([c for c, _, _ in link.sent if c == "watch_main"]) == 1  # renewed every 2 s
        console.update(now=102.2)
        assert len([c for c, _, _ in link.sent if c == "watch_main"]) == 2
        live.model.view.toggle_fullscreen()  # back to the grid: the sub stream at once
        console.update(now=102.3)
        assert live.feeds["lobby"].ring_name == rings["lobby"].name
        console.update(now=105.0)
        assert len([c for c, _, _ in link.sent if c == "watch_main"]) == 2  # left to lapse
    finally:
        main.close()
        main.unlink()


def test_a_snapshot_saves_the_full_resolution_picture_named_after_camera_and_time(
    context, rings, tmp_path
):
    import cv2

    main = FrameRing.create(f"nvrtest{os.getpid() % 10000}_snap", 1280, 720)
    try:
        capture_ns = time.time_ns()
        main.publish(*textured_frame(1280, 720, 0), capture_ns=capture_ns)
        for ring in rings.values():
            ring.publish(*textured_frame(640, 360, 0), capture_ns=capture_ns)
        sub = StreamStatus(connected=True)
        cams = [camera(c, r.name, sub=sub) for c, r in rings.items()]
        link = FixedLink(health(cams))
        console = make_console(link, tmp_path)
        live = console.live
        live.snapshots.folder = tmp_path / "snaps"
        console.update()
        live.model.select("lobby")
        console.on_key(dpg.mvKey_J)
        assert link.sent[-1][:2] == ("watch_main", "lobby")  # the worker decodes it meanwhile
        console.update()
        assert live.snapshots.pending  # no main-stream ring yet: waits for it
        cams[0] = dataclasses.replace(cams[0], main_ring=main.name)
        link.health = health(cams)
        deadline = time.monotonic() + 10
        while not live.snapshots.saved and time.monotonic() < deadline:
            console.update()
            time.sleep(0.05)
        (path,) = live.snapshots.saved
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(capture_ns / 1e9))
        assert path.name == f"Lobby_{stamp}.{capture_ns // 1_000_000 % 1000:03d}.jpg"
        assert cv2.imread(str(path)).shape == (720, 1280, 3)
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        console.update()
        assert "Snapshot saved" in console.feedback.notice.text
        assert "1280x720, main stream" in console.feedback.notice.text

        # Yard's main stream never comes: its sub stream's picture, said so, after the wait.
        live.snapshots.take("yard", "Yard", now=0.0)
        deadline = time.monotonic() + 10
        while len(live.snapshots.saved) < 2 and time.monotonic() < deadline:
            console.update()
            time.sleep(0.05)
        assert len(live.snapshots.saved) == 2
        console.update()
        assert "640x360, sub stream: the main stream was not decoded in time" in (
            console.feedback.notice.text
        )
    finally:
        main.close()
        main.unlink()


def test_the_wheel_zooms_a_tile_a_drag_pans_it_and_z_resets_it(context, rings, tmp_path):
    for ring in rings.values():
        ring.publish(*textured_frame(640, 360, 0), capture_ns=time.time_ns())
    link = FixedLink(health([camera(c, r.name) for c, r in rings.items()]))
    console = make_console(link, tmp_path)
    live = console.live
    console.update()
    lobby, yard = live.tiles.cells[0], live.tiles.cells[1]
    whole = dpg.get_item_configuration(lobby.image)
    yard_before = dpg.get_item_configuration(yard.image)["uv_min"]
    picture = live.picture_of("lobby")
    live.pointer.wheel("lobby", 4, picture.x + picture.w / 2, picture.y + picture.h / 2)
    console.update()
    zoomed = dpg.get_item_configuration(lobby.image)

    def span(config: dict) -> float:
        return config["uv_max"][0] - config["uv_min"][0]

    assert span(zoomed) == pytest.approx(span(whole) / 1.25**4, rel=1e-3)
    assert dpg.get_item_configuration(lobby.mode)["text"].startswith("ZOOM 2.4x")
    assert dpg.get_item_configuration(yard.image)["uv_min"] == yard_before  # only that tile
    live.model.zoom("lobby").pan(0.1, 0.0)  # dragged right: the picture follows the mouse
    console.update()
    assert dpg.get_item_configuration(lobby.image)["uv_min"][0] < zoomed["uv_min"][0]
    live.model.select("lobby")
    console.on_key(dpg.mvKey_Z)
    console.update()
    assert dpg.get_item_configuration(lobby.image)["uv_min"] == whole["uv_min"]
    assert "ZOOM" not in dpg.get_item_configuration(lobby.mode)["text"]


def test_one_large_tile_gets_a_large_region_of_the_grid_texture(context, rings, tmp_path):
    for ring in rings.values():
        ring.publish(*textured_frame(640, 360, 0), capture_ns=time.time_ns())
    link = FixedLink(health([camera(c, r.name) for c, r in rings.items()]))
    console = make_console(link, tmp_path)
    live = console.live
    console.on_key(dpg.mvKey_5)  # 1+5
    console.update()
    assert live.model.view.layout == "1+5"
    large, small = live.texture.atlas.regions[:2]
    assert (large.w, large.h) == (2 * small.w, 2 * small.h)
    assert live.texture.atlas.owners[:2] == ["lobby", "yard"]
    big = live.picture_of("lobby")
    assert big.w > 1.9 * live.picture_of("yard").w


def test_a_acknowledges_the_alarms_on_screen_only_and_never_a_stale_list(context, tmp_path):
    from nvr.protocol.alarms import Alarm

    link = FixedLink(health([camera("lobby", None)]))
    waiting = Alarm(7, "offline", "lobby", "Lobby is offline", time.time_ns())
    seen = Alarm(8, "motion", "lobby", "Motion on Lobby", time.time_ns(), acked_ns=1)
    link.alarm_list = Alarms((waiting, seen), (), True)
    console = make_console(link, tmp_path)
    console.on_key(dpg.mvKey_F3)
    console.update()
    console.on_key(dpg.mvKey_A)
    assert link.sent[-1][0] == "ack_alarm" and link.sent[-1][2]["alarm_id"] == [7]
    console.on_key(dpg.mvKey_C)  # nothing ended on screen: nothing sent
    assert len(link.sent) == 1 and "No alarm on screen to clear" in console.feedback.notice.text
    link.alarm_list = Alarms((waiting,), (), False)  # the engine cannot be read: out of date
    console.update()
    console.on_key(dpg.mvKey_A)
    assert len(link.sent) == 1 and "out of date" in console.feedback.notice.text


@pytest.mark.parametrize("size", [(1280, 720), (640, 480)])
def test_labels_fit_small_tiles_without_running_under_each_other(context, rings, tmp_path, size):
    from nvr.protocol.alarms import Alarm

    for ring in rings.values():
        ring.publish(*textured_frame(640, 360, 0), capture_ns=time.time_ns())
    long = dict(
        mode="scheduled",
        armed=False,
        motion_alarm=True,
        motion=True,
        manual=True,
        recording=RecordingStatus(active=True, type="manual", since_ns=time.time_ns()),
    )
    cams = [camera(c, r.name, name="A rather long camera name", **long) for c, r in rings.items()]
    cams.append(camera("gone", None, state="reconnecting", error="connection refused " * 5))
    link = FixedLink(health(cams))
    link.alarm_list = Alarms(
        (Alarm(1, "not_recording", "lobby", "x", time.time_ns()),), (), known=True
    )
    console = Console(link, ViewState(), tmp_path / "c.json", size=size)  # type: ignore[arg-type]
    console.build()
    live = console.live
    for layout in ("4x4", "1+7", "2x2"):
        live.model.set_layout(layout)
        console.update()
        for cell, (camera_id, rect) in zip(live.tiles.cells, live.tile_rects(), strict=False):
            if camera_id is None:
                continue
            config = dpg.get_item_configuration
            right = rect.x + rect.w
            mode_bg, alarm_bg = config(cell.mode_bg), config(cell.alarm_bg)
            if mode_bg["show"]:
                assert mode_bg["pmax"][0] <= right, (layout, size, camera_id)
                if alarm_bg["show"]:
                    assert mode_bg["pmax"][0] < alarm_bg["pmin"][0], (layout, size)
            rec_bg, motion_bg = config(cell.rec_bg), config(cell.motion_bg)
            if rec_bg["show"] and motion_bg["show"]:
                assert rec_bg["pmax"][0] < motion_bg["pmin"][0], (layout, size)
            reason = config(cell.reason)
            if reason["show"]:  # below the title bar and the mode line
                assert reason["pos"][1] >= rect.y + theme.HEADER_PX + 20, (layout, size)
