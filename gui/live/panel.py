"""``LivePanel``: the live grid as a ``gui.panel.Panel``, putting its model and renderers
together.

Each frame it takes the engine's snapshot (following each camera's ring), converts the newest
ring frame of every tile on screen into the grid texture (``gui.live.atlas``), then updates the
tiles, the toolbar and the banners from ``gui.present.tile_info``.
"""

from __future__ import annotations

import time
from pathlib import Path

import dearpygui.dearpygui as dpg

from gui import theme
from gui.alarms.model import camera_alarms
from gui.draw import Drawn
from gui.feeds import LiveFeed
from gui.keys import EQUAL, PAGE_DOWN, PAGE_UP, ctrl_down
from gui.link import CommandResult, EngineLink, Snapshot
from gui.live.atlas import Cells, GridTexture, picture_rect
from gui.live.banners import Banners
from gui.live.menu import TileMenu
from gui.live.model import LiveModel
from gui.live.pointer import GridPointer
from gui.live.ptz import WIDTH as PTZ_WIDTH
from gui.live.ptz import PtzPanel
from gui.live.recording import RecordingControls
from gui.live.snapshot import Snapshots
from gui.live.tiles import Tiles
from gui.live.toolbar import Toolbar
from gui.panel import Feedback
from gui.present import TileInfo, tile_info
from gui.view import Rect, ViewState

WATCH_LEASE_S = 6  # how long the engine decodes a main stream per request
WATCH_RENEW_S = 2.0

GAP_PX = 2  # between tiles
LAYOUT_KEYS = {"1": "1x1", "2": "2x2", "3": "3x3", "4": "4x4", "8": "2x4", "5": "1+5", "7": "1+7"}
STEERING_KEYS = (
    dpg.mvKey_Left,
    dpg.mvKey_Right,
    dpg.mvKey_Up,
    dpg.mvKey_Down,
    EQUAL,
    dpg.mvKey_Add,
    dpg.mvKey_Minus,
    dpg.mvKey_Subtract,
)


class LivePanel:
    """The live grid: toolbar above, tiles below. ``model`` and ``recording`` are plain; the
    renderers are made by ``build``."""

    title = "Live"
    toolbar: Toolbar
    grid: int  # the drawlist the tiles and banners are drawn in
    texture: GridTexture
    tiles: Tiles
    banners: Banners
    menu: TileMenu
    pointer: GridPointer

    def __init__(
        self, link: EngineLink, view: ViewState, state_path: Path | None, feedback: Feedback
    ) -> None:
        self.model = LiveModel(view, state_path, feedback, link.snapshot())
        self.recording = RecordingControls(link, self.model)
        self.snapshots = Snapshots(link, feedback)
        self.ptz = PtzPanel(link.send)
        self.link = link
        self._watching: str | None = None  # the camera whose main stream the engine decodes
        self._watch_renew_at = 0.0
        self.feeds: dict[str, LiveFeed] = {}
        self._drawn = Drawn()
        self._root = 0
        self._shown = True
        self._area = Rect(0, 0, 1, 1)  # the grid, in its own coordinates
        self._was_minimised = False  # minimised since the last conversion

    def build(self, parent: int) -> None:
        self._root = parent
        with (
            dpg.child_window(
                parent=parent,
                height=theme.TOOLBAR_PX - theme.SPACING_PX,
                border=False,
                no_scrollbar=True,
            ),
            dpg.group(horizontal=True),
        ):
            self.toolbar = Toolbar(self.model, self.recording, self._drawn, self.toggle_ptz)
        self.grid = int(dpg.add_drawlist(width=1, height=1, parent=parent))
        self.ptz.build()
        self.texture = GridTexture()
        self.tiles = Tiles(self.grid, self._drawn)
        self.banners = Banners(self.grid, self._drawn)
        self.menu = TileMenu(self.model, self.recording, self.snapshot)
        self.pointer = GridPointer(
            self.grid, GAP_PX, self.model, self.menu, self.picture_of, self.center
        )

    def resize(self, width: int, height: int) -> None:
        """The toolbar has a fixed height; the grid takes the rest, its top-left corner at
        (0, ``theme.TOOLBAR_PX``) in the panel."""
        self._area = Rect(0, 0, max(1, width), max(1, height - theme.TOOLBAR_PX))
        self.pointer.area = self._area
        dpg.configure_item(self.grid, width=self._area.w, height=self._area.h)

    def show(self, shown: bool) -> None:
        self._shown = shown
        dpg.configure_item(self._root, show=shown)
        if not shown:
            self.menu.hide()

    def update(
        self, now: float, engine: Snapshot, results: list[CommandResult], minimised: bool
    ) -> float:
        self.recording.apply(results)
        self.model.sync(engine)
        self.model.tour_update(now)
        alone = self.model.view.alone() if self._shown else None
        for camera_id in self.model.view.order:
            feed = self.feeds.get(camera_id)
            if feed is None:
                feed = self.feeds[camera_id] = LiveFeed(camera_id)
            camera = engine.cameras.get(camera_id)
            ring = camera.ring if camera is not None else None
            if camera is not None and camera_id == alone and camera.main_ring:
                ring = camera.main_ring  # full resolution while shown alone
            feed.follow(ring if engine.connected else feed.ring_name, now)
        self._watch_main(alone, engine, now)
        self.snapshots.update(now, engine)
        cells = self.tile_rects() if self._shown else []  # hidden: no texture to upload
        if minimised:
            convert_s = 0.0
            self._was_minimised = True
        else:
            if self._was_minimised:  # frames published while minimised were not lost: not counted
                for feed in self.feeds.values():
                    feed.invalidate()
                self._was_minimised = False
            convert_s = self.texture.convert(cells, self.model.view.grid(), self.feeds, now)
        infos = self.tile_infos(now)
        view = self.model.view
        blink = int(now * 2) % 2 == 0
        self.pointer.update()
        drop_target = self.pointer.drop_target()
        self.tiles.draw(
            cells,
            infos,
            self.texture.atlas,
            self.feeds,
            view.selected,
            drop_target,
            blink,
            self.model.zooms,
        )
        self.toolbar.update(infos, now)
        self._steer(engine, results, now)
        error = None if engine.connected else engine.error or "connecting to the engine…"
        self.banners.draw(self._area, self.model.panic, error, now)
        self.texture.end_frame()
        self.model.save_if_due(now)
        return convert_s

    def toggle_ptz(self) -> None:
        """The toolbar's PTZ button: the panel for the selected camera, or closed."""
        self.ptz.wanted = not self.ptz.wanted

    def center(self, camera_id: str, x: float, y: float) -> bool:
        """Ctrl+click on a PTZ camera's picture: turn it toward that point."""
        camera = self.model.engine.known_cameras.get(camera_id)
        if camera is None or camera.ptz is None:
            return False
        if not camera.ptz.relative:
            self.model.feedback.show(
                f"{camera.name or camera_id} takes no relative moves: no click-to-center",
                error=True,
            )
            return True
        self.ptz.center(camera_id, x, y)
        return True

    def _steer(self, engine: Snapshot, results: list[CommandResult], now: float) -> None:
        """The PTZ panel: open for a camera with PTZ shown alone, or when asked for."""
        view = self.model.view
        selected = view.selected
        camera = engine.known_cameras.get(selected) if selected else None
        wanted = self.ptz.wanted or (selected is not None and view.alone() == selected)
        keys = not self.menu_open
        where = (max(0, self._area.w - PTZ_WIDTH - 12), theme.TOOLBAR_PX + theme.HEADER_PX + 8)
        self.ptz.update(camera, wanted and self._shown, results, keys, now, where)

    def _picture(self, camera_id: str, feed: LiveFeed | None) -> str:
        """Which stream the tile shows, at what size: "1920x1080 main" or "640x360 sub"."""
        size = feed.source_size() if feed is not None else None
        if feed is None or size is None:
            return ""
        camera = self.model.engine.known_cameras.get(camera_id)
        main = camera is not None and (feed.ring_name == camera.main_ring or camera.sub is None)
        return f"{size[0]}x{size[1]} {'main' if main else 'sub'}"

    def _watch_main(self, alone: str | None, engine: Snapshot, now: float) -> None:
        """Keep the engine decoding the main stream of the camera shown alone (a lease renewed
        every ``WATCH_RENEW_S``; it lapses by itself when the console stops asking)."""
        if alone is None or not engine.connected:
            self._watching = None
            return
        if alone != self._watching or now >= self._watch_renew_at:
            self.link.send("watch_main", alone, seconds=WATCH_LEASE_S)
            self._watching, self._watch_renew_at = alone, now + WATCH_RENEW_S

    def key(self, key: int) -> None:
        """1 2 3 4 8 layouts; F or Enter full screen; Esc back; Tab/arrows select (Up/Down a
        row); R record; S stop; J snapshot; Z zoom back to 1x; T tour; PageUp/PageDown pages.
        While the PTZ panel is open the arrows and +/- steer (held) and Ctrl+1..9 recall
        presets. Ignored while a menu is open (Esc closes it)."""
        menus = (self.menu, self.toolbar.menu)
        if self.menu_open:  # other keys wait for it to close (a name may be typed in one)
            if key == dpg.mvKey_Escape:
                for menu in menus:
                    menu.hide()
            return
        model = self.model
        steering = self.ptz.camera is not None
        digits = [getattr(dpg, f"mvKey_{n}") for n in range(1, 10)]
        if steering and key in digits and ctrl_down():
            self.ptz.recall(digits.index(key) + 1)  # Ctrl+1..9: a preset
            return
        if steering and key in STEERING_KEYS:
            return  # held, read every frame by the PTZ panel
        layouts = {getattr(dpg, f"mvKey_{k}"): layout for k, layout in LAYOUT_KEYS.items()}
        if key in layouts:
            model.set_layout(layouts[key])
        elif key in (dpg.mvKey_F, dpg.mvKey_Return):
            model.toggle_fullscreen()
        elif key == dpg.mvKey_Escape:
            model.exit_fullscreen()
        elif key in (dpg.mvKey_Tab, dpg.mvKey_Right, dpg.mvKey_Left):
            model.select_step(-1 if key == dpg.mvKey_Left else 1)
        elif key in (dpg.mvKey_Up, dpg.mvKey_Down):  # a row up or down the grid
            columns = model.view.grid().cols
            model.select_step(-columns if key == dpg.mvKey_Up else columns)
        elif key == PAGE_DOWN:
            model.turn_page(1)
        elif key == PAGE_UP:
            model.turn_page(-1)
        elif key == dpg.mvKey_T:
            model.toggle_tour(time.monotonic())
        elif key in (dpg.mvKey_R, dpg.mvKey_S, dpg.mvKey_J, dpg.mvKey_Z):
            selected = model.view.selected
            if selected is None:
                model.feedback.show("Select a camera first: click its tile", error=True)
            elif key in (dpg.mvKey_R, dpg.mvKey_S):
                self.recording.set_recording(selected, key == dpg.mvKey_R)
            elif key == dpg.mvKey_J:
                self.snapshot(selected)
            else:
                model.reset_zoom(selected)

    def snapshot(self, camera_id: str) -> None:
        """Save the camera's picture at full resolution (``gui.live.snapshot``)."""
        self.snapshots.take(camera_id, self.model.name(camera_id), time.monotonic())

    @property
    def menu_open(self) -> bool:
        """A menu of the grid is open, or a preset name is typed: keys are typing or choosing
        in it."""
        return self.menu.shown or self.toolbar.menu.shown or self.ptz.typing

    def wanted_fps(self, now: float) -> float:
        """Twice the frame rate of the fastest camera on screen, so none of its frames is
        skipped."""
        visible = self.model.view.visible()
        return 2.0 * max((self.feeds[c].fps(now) for c in visible if c in self.feeds), default=0.0)

    def close(self) -> None:
        """Save the layout and let go of the rings."""
        self.model.save_state()
        for feed in self.feeds.values():
            feed.release()

    def picture_of(self, camera_id: str) -> Rect | None:
        """Where ``camera_id``'s picture is drawn now (grid coordinates); None: not on screen."""
        atlas = self.texture.atlas
        for index, (cell_camera, rect) in enumerate(self.tile_rects()):
            if cell_camera != camera_id:
                continue
            if atlas is not None and atlas.owners[index] == camera_id:
                region = atlas.regions[index]
                return picture_rect(rect, (region.w, region.h))
            return rect
        return None

    def tile_rects(self) -> Cells:
        """(camera, rectangle in grid coordinates) of each cell on screen."""
        view = self.model.view
        return list(zip(view.visible(), view.rects(self._area, GAP_PX), strict=True))

    def tile_infos(self, now: float | None = None) -> dict[str, TileInfo]:
        """What every camera's tile says now (all cameras, visible or not)."""
        now = time.monotonic() if now is None else now
        engine = self.model.engine
        cameras = engine.known_cameras
        engine_error = None if engine.connected else (engine.error or "connecting")
        alarms = camera_alarms(self.link.alarms().current) if engine.connected else {}
        alone = self.model.view.alone()
        infos = {}
        for camera_id in self.model.view.order:
            feed = self.feeds.get(camera_id)
            shown_at = feed.last_frame_at if feed else 0.0
            infos[camera_id] = tile_info(
                cameras.get(camera_id),
                camera_id,
                engine_error=engine_error,
                frame_age_s=(now - shown_at) if shown_at else None,
                fps=feed.fps(now) if feed else 0.0,
                motion=bool(feed and feed.motion and feed.ring is not None),
                pending=self.recording.pending.get(camera_id),
                alarm=alarms.get(camera_id),
                picture=self._picture(camera_id, feed) if camera_id == alone else "",
            )
        return infos
