"""The operator console window: live grid, recording controls, status bar (Dear PyGui).

One thread owns every ``dpg`` call: ``Console.run`` drives the render loop and runs the callback
queue itself (manual callback management). Each frame it reads the engine snapshot, converts the
newest ring frame of every visible tile into that tile's region of the grid's raw texture, and
updates the overlays. The texture is float32 RGBA, made once per layout, window size and camera
size; each region is the tile's picture without letterbox bars, at the tile's pixel size or the
camera's if smaller (``tile_region``). Hidden tiles are not converted. A replaced texture is
deleted a few frames after no image draws it (deleting a texture in use crashes Dear PyGui). The
conversion rate per tile is capped by the grid size (``tile_fps_cap``, on the camera's clock)
and shares a time budget per frame; the render rate follows the fastest camera on screen
(``render_rate``).

View state lives in ``gui.view.ViewState``; wording in ``gui.present``; this module only renders
them and turns clicks and keys into state changes and engine commands.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg
import numpy as np

from gui import theme
from gui.feeds import LiveFeed
from gui.link import CommandResult, EngineLink, Snapshot
from gui.present import Pending, TileInfo, format_duration, status_line, tile_info
from gui.view import LAYOUTS, Rect, ViewState, grid_rects
from native.texture import letterbox

log = logging.getLogger(__name__)

GAP_PX = 2
_SPACING_PX = 4  # vertical item spacing of the global theme (mvStyleVar_ItemSpacing)
MAX_CELLS = max(r * c for r, c in LAYOUTS.values())
RETIRE_FRAMES = 3  # frames a replaced texture is kept before deletion
CONVERT_BUDGET_S = 0.012  # conversion time per render frame before tiles take turns
SAVE_DELAY_S = 1.0
DRAG_PX = 8
# A frame captured 70% of the capped interval after the last one shown is converted: the cap
# is a ceiling, not a metronome, or a 15 fps camera with jittery timestamps would lose frames.
_CAP_SLACK = 0.7
FEEDBACK_S = 6.0  # how long a command's feedback stays in the status bar
LAYOUT_KEYS = {"1": "1x1", "2": "2x2", "3": "3x3", "4": "4x4", "8": "2x4"}


def tile_region(cell_w: int, cell_h: int, sources: list[tuple[int, int]]) -> tuple[int, int]:
    """Width and height of every tile's region of the grid texture: the picture of the grid's
    most common camera size letterboxed in the cell, no larger than that camera's picture.

    No bars: they cost uploads, and the viewport's clear colour shows there instead. No larger
    than the camera: the GPU stretches it (a 640x360 sub stream at full screen is uploaded at
    640x360, not 1920x1016), and upscaling in the kernel adds no detail. The texture is uploaded
    whole every frame, about 7 ms per million pixels under Mesa llvmpipe. A camera of another
    shape is letterboxed inside its region by the kernel.
    """
    if not sources:
        return cell_w, cell_h
    width, height = max(sources, key=lambda size: (sources.count(size), size[0] * size[1]))
    scale = min(1.0, max(width / cell_w, height / cell_h))
    _, _, w, h = letterbox(width, height, round(cell_w * scale), round(cell_h * scale))
    return max(1, w), max(1, h)


def picture_rect(rect: Rect, region: tuple[int, int]) -> Rect:
    """Where a tile's region of the grid texture is drawn in its cell: centred, aspect kept."""
    x, y, w, h = letterbox(region[0], region[1], rect.w, rect.h)
    return Rect(rect.x + x, rect.y + y, max(1, w), max(1, h))


def tile_fps_cap(tiles: int) -> float:
    """Most pictures per second a tile is converted at, by how many tiles are on screen."""
    return 60.0 if tiles <= 1 else 30.0 if tiles <= 4 else 15.0


@dataclass(slots=True)
class _Atlas:
    """One raw texture holding every tile of the grid, each in its own region.

    One texture instead of one per tile: under llvmpipe nine 640x338 textures took 33 ms a frame
    to upload and draw against 19 ms for one texture of the same pixels (each texture update
    synchronises with the renderer).
    """

    tag: int
    pixels: np.ndarray  # (h, w, 4) float32, C-contiguous, owned here for the texture's life
    key: tuple[int, int, int, int]  # rows, columns, region width and height
    regions: list[Rect]  # per cell, in texture pixels, all of the same size
    owners: list[str | None]  # the camera whose picture each region holds (None: none yet)

    def uv(self, index: int) -> tuple[tuple[float, float], tuple[float, float]]:
        r = self.regions[index]
        h, w = self.pixels.shape[:2]
        return (r.x / w, r.y / h), ((r.x + r.w) / w, (r.y + r.h) / h)


@dataclass(slots=True)
class _Cell:
    """The draw items of one grid cell (a pool of MAX_CELLS, reconfigured every frame)."""

    node: int
    background: int
    shade: int
    reason: int
    header: int
    title: int
    badge: int
    fps: int
    rec_bg: int
    rec_dot: int
    rec_text: int
    motion_bg: int
    motion_text: int
    border: int
    image: int | None = None  # draw_image of the current texture, made on first picture
    image_texture: int | None = None


class FrameStats:
    """Frame-time breakdown over the last few hundred frames, in milliseconds."""

    def __init__(self, size: int = 600) -> None:
        self.frame_ms: deque[float] = deque(maxlen=size)
        self.convert_ms: deque[float] = deque(maxlen=size)
        self.update_ms: deque[float] = deque(maxlen=size)
        self.render_ms: deque[float] = deque(maxlen=size)
        self.stamps: deque[float] = deque(maxlen=size)

    def add(self, now: float, convert_s: float, update_s: float, render_s: float) -> None:
        self.stamps.append(now)
        self.convert_ms.append(convert_s * 1000)
        self.update_ms.append(update_s * 1000)
        self.render_ms.append(render_s * 1000)
        self.frame_ms.append((convert_s + update_s + render_s) * 1000)

    def fps(self) -> float:
        if len(self.stamps) < 2 or self.stamps[-1] == self.stamps[0]:
            return 0.0
        return (len(self.stamps) - 1) / (self.stamps[-1] - self.stamps[0])

    def summary(self) -> dict[str, float]:
        """Frame time median and p95; the parts as means (conversions come in bursts)."""

        def mean(values: deque[float]) -> float:
            return round(statistics.fmean(values), 2) if values else 0.0

        frame = sorted(self.frame_ms)
        return {
            "fps": round(self.fps(), 1),
            "frame_ms": round(statistics.median(frame), 2) if frame else 0.0,
            "frame_p95_ms": round(frame[int(0.95 * (len(frame) - 1))], 2) if frame else 0.0,
            "convert_ms": mean(self.convert_ms),
            "update_ms": mean(self.update_ms),
            "render_ms": mean(self.render_ms),
        }

    def clear(self) -> None:
        for values in (self.frame_ms, self.convert_ms, self.update_ms, self.render_ms, self.stamps):
            values.clear()


class Console:
    """The console window. Build with ``build()`` inside a DPG context; ``run()`` does it all."""

    def __init__(
        self,
        link: EngineLink,
        view: ViewState,
        state_path: Path | None = None,
        size: tuple[int, int] = (1280, 720),
        max_fps: float = 60.0,
    ) -> None:
        self.link = link
        self.view = view
        self.state_path = state_path
        self.size = size
        self.max_fps = max_fps
        self.feeds: dict[str, LiveFeed] = {}
        self.pending: dict[str, Pending] = {}
        self.panic_pending: Pending | None = None
        self.snapshot: Snapshot = link.snapshot()
        self.stats = FrameStats()
        self.feedback: tuple[str, bool, float] | None = None  # text, is_error, shown at
        self.frame_no = 0
        self._atlas: _Atlas | None = None
        self._retired: list[tuple[int, int]] = []  # (texture tag, frame number retired)
        self._cells: list[_Cell] = []
        self._drawn: dict[int, dict[str, Any]] = {}
        self._bound: dict[int, int] = {}
        self._dirty_at: float | None = None
        self._turn = 0
        self._drag_from: str | None = None
        self._drag_origin: tuple[float, float] = (0.0, 0.0)
        self._menu_camera: str | None = None
        self._grid_area = Rect(0, 0, 1, 1)
        self._quit = False
        self.minimised = False  # the window is iconified: nothing is converted
        self._was_minimised = False  # minimised since the last conversion
        self._panic_seen_at: float | None = None  # when this console first saw panic on
        self._font: int | None = None
        self.items: dict[str, int] = {}

    # --- build ------------------------------------------------------------------------------

    def build(self) -> None:
        """Create every item (fonts, themes, window, toolbar, grid, status bar, menus)."""
        dpg.configure_app(manual_callback_management=True)
        self._font = theme.load_font()
        if self._font is not None:
            dpg.bind_font(self._font)
        dpg.bind_theme(theme.global_theme())
        self._themes = {
            "active": theme.button_theme((38, 92, 170, 255), (54, 116, 204, 255)),
            "record": theme.button_theme((120, 24, 24, 255), (160, 36, 36, 255)),
            "panic": theme.button_theme((150, 0, 0, 255), (200, 0, 0, 255)),
            "panic_on": theme.button_theme(theme.PANIC, (255, 80, 80, 255), (255, 255, 255, 255)),
        }
        self.items["textures"] = dpg.add_texture_registry()
        # Everything is placed at fixed rows sized to the viewport: nothing may scroll it away.
        # Not a primary window: Dear PyGui paints a primary window's background opaque whatever
        # the theme says, a full-screen fill that cost 10 ms a frame under Mesa llvmpipe. This
        # window is sized to the viewport instead (``_layout_items``) and has no background.
        with dpg.window(
            pos=(0, 0),
            no_title_bar=True,
            no_move=True,
            no_resize=True,
            no_collapse=True,
            no_background=True,
            no_bring_to_front_on_focus=True,
            no_saved_settings=True,
            no_scrollbar=True,
            no_scroll_with_mouse=True,
        ) as window:
            self.items["window"] = window
            self._build_toolbar()
            self.items["grid"] = dpg.add_drawlist(width=1, height=1)
            self._build_cells()
            self._build_status_bar()
        self._build_menu()
        with dpg.handler_registry():
            dpg.add_mouse_click_handler(callback=self._on_mouse_click)
            dpg.add_mouse_double_click_handler(
                button=dpg.mvMouseButton_Left, callback=self._on_mouse_double_click
            )
            dpg.add_mouse_release_handler(
                button=dpg.mvMouseButton_Left, callback=self._on_mouse_release
            )
            dpg.add_key_press_handler(callback=self._on_key)
        self._layout_items(*self.size)

    def _button(self, label: str, callback: Any, user_data: Any = None, **kw: Any) -> int:
        return int(dpg.add_button(label=label, callback=callback, user_data=user_data, **kw))

    def _build_toolbar(self) -> None:
        with (
            dpg.child_window(
                height=theme.TOOLBAR_PX - _SPACING_PX, border=False, no_scrollbar=True
            ),
            dpg.group(horizontal=True) as bar,
        ):
            self.items["toolbar"] = bar
            dpg.add_spacer(width=4)
            for name in LAYOUTS:
                self.items[f"layout_{name}"] = self._button(name, self._cb_layout, name, width=44)
            dpg.add_spacer(width=10)
            self.items["page_prev"] = self._button("◀", self._cb_page, -1)
            self.items["page_label"] = dpg.add_text("1/1")
            self.items["page_next"] = self._button("▶", self._cb_page, 1)
            dpg.add_spacer(width=10)
            self.items["fullscreen"] = self._button("Full screen", self._cb_fullscreen)
            dpg.add_spacer(width=10)
            self.items["record"] = self._button("● Record", self._cb_record_selected, True)
            self.items["stop"] = self._button("■ Stop", self._cb_record_selected, False)
            dpg.bind_item_theme(self.items["record"], self._themes["record"])
            dpg.add_spacer(width=10)
            self.items["record_all"] = self._button("● Record all", self._cb_record_all, True)
            self.items["stop_all"] = self._button("■ Stop all", self._cb_record_all, False)
            dpg.bind_item_theme(self.items["record_all"], self._themes["record"])
            dpg.add_spacer(width=10)
            self.items["panic"] = self._button("PANIC", self._cb_panic, width=120)
            dpg.bind_item_theme(self.items["panic"], self._themes["panic"])
            dpg.add_spacer(width=10)
            self.items["selection"] = dpg.add_text("", color=theme.TEXT_DIM)

    def _build_cells(self) -> None:
        grid = self.items["grid"]
        for _ in range(MAX_CELLS):
            with dpg.draw_node(parent=grid, show=False) as node:
                cell = _Cell(
                    node=node,
                    background=dpg.draw_rectangle(
                        (0, 0), (1, 1), color=theme.TILE_EMPTY, fill=theme.TILE_EMPTY
                    ),
                    shade=dpg.draw_rectangle(
                        (0, 0), (1, 1), color=(0, 0, 0, 0), fill=theme.SHADE, show=False
                    ),
                    reason=dpg.draw_text((0, 0), "", color=theme.TEXT, size=theme.FONT_PX),
                    header=dpg.draw_rectangle(
                        (0, 0), (1, 1), color=(0, 0, 0, 0), fill=theme.HEADER
                    ),
                    title=dpg.draw_text((0, 0), "", color=theme.TEXT, size=theme.FONT_PX),
                    badge=dpg.draw_text((0, 0), "", color=theme.LIVE, size=theme.SMALL_PX),
                    fps=dpg.draw_text((0, 0), "", color=theme.TEXT_DIM, size=theme.SMALL_PX),
                    rec_bg=dpg.draw_rectangle(
                        (0, 0), (1, 1), color=(0, 0, 0, 0), fill=theme.REC_BG, rounding=3
                    ),
                    rec_dot=dpg.draw_circle((0, 0), 5, color=theme.REC, fill=theme.REC),
                    rec_text=dpg.draw_text((0, 0), "", color=theme.TEXT, size=theme.SMALL_PX),
                    motion_bg=dpg.draw_rectangle(
                        (0, 0), (1, 1), color=(0, 0, 0, 0), fill=theme.MOTION_BG, rounding=3
                    ),
                    motion_text=dpg.draw_text(
                        (0, 0), "MOTION", color=theme.MOTION, size=theme.SMALL_PX
                    ),
                    border=dpg.draw_rectangle((0, 0), (1, 1), color=theme.ACCENT, thickness=2),
                )
            self._cells.append(cell)
        self.items["banner_bg"] = dpg.draw_rectangle(
            (0, 0), (1, 1), color=theme.PANIC, fill=theme.PANIC_BG, parent=grid, show=False
        )
        self.items["banner_text"] = dpg.draw_text(
            (0, 0), "", color=(255, 255, 255, 255), size=theme.FONT_PX + 2, parent=grid, show=False
        )
        self.items["panic_frame"] = dpg.draw_rectangle(
            (0, 0), (1, 1), color=theme.PANIC, thickness=4, parent=grid, show=False
        )
        self.items["engine_bg"] = dpg.draw_rectangle(
            (0, 0), (1, 1), color=theme.ERROR, fill=(60, 10, 10, 235), parent=grid, show=False
        )
        self.items["engine_text"] = dpg.draw_text(
            (0, 0), "", color=(255, 255, 255, 255), size=theme.FONT_PX, parent=grid, show=False
        )

    def _build_status_bar(self) -> None:
        with (
            dpg.child_window(height=theme.STATUS_PX - _SPACING_PX, border=False, no_scrollbar=True),
            dpg.group(horizontal=True) as bar,
        ):
            self.items["status"] = bar
            dpg.add_spacer(width=4)
            self.items["status_engine"] = dpg.add_text("Engine: connecting…")
            dpg.add_text("|", color=theme.TEXT_DIM)
            self.items["status_recordings"] = dpg.add_text("Recording: none")
            dpg.add_text("|", color=theme.TEXT_DIM)
            self.items["status_disk"] = dpg.add_text("Disk: unknown")
            dpg.add_text("|", color=theme.TEXT_DIM)
            self.items["status_feedback"] = dpg.add_text("")
            self.items["status_perf"] = dpg.add_text("", color=theme.TEXT_DIM)

    def _build_menu(self) -> None:
        with dpg.window(
            popup=True, show=False, no_title_bar=True, autosize=True, no_saved_settings=True
        ) as menu:
            self.items["menu"] = menu
            self.items["menu_title"] = dpg.add_text("")
            dpg.add_separator()
            self.items["menu_record"] = dpg.add_menu_item(
                label="Start recording", callback=self._cb_menu_record
            )
            self.items["menu_fullscreen"] = dpg.add_menu_item(
                label="Full screen", callback=self._cb_menu_fullscreen
            )
        dpg.bind_item_theme(menu, theme.popup_theme())

    # --- geometry ---------------------------------------------------------------------------

    def _layout_items(self, width: int, height: int) -> None:
        """Size the window to the viewport, and the grid to it between the toolbar and the
        status bar.

        The toolbar, the grid and the status bar are stacked with fixed heights, so the grid's
        top-left corner is at (0, ``theme.TOOLBAR_PX``) in the window: tile rectangles in window
        pixels are ``view.rects(grid_area)`` moved down by that much.
        """
        grid_h = max(1, height - theme.TOOLBAR_PX - theme.STATUS_PX)
        self.size = (width, height)
        self._grid_area = Rect(0, 0, max(1, width), grid_h)
        dpg.configure_item(self.items["window"], width=max(1, width), height=max(1, height))
        dpg.configure_item(self.items["grid"], width=max(1, width), height=grid_h)

    @property
    def grid_area(self) -> Rect:
        return self._grid_area

    def tile_rects(self) -> list[tuple[str | None, Rect]]:
        """(camera, rectangle in grid coordinates) of each cell on screen."""
        return list(zip(self.view.visible(), self.view.rects(self._grid_area, GAP_PX), strict=True))

    # --- the frame --------------------------------------------------------------------------

    def update(self, now: float | None = None) -> float:
        """Everything one frame needs before Dear PyGui renders it; returns conversion seconds."""
        now = time.monotonic() if now is None else now
        self.frame_no += 1
        self._apply_results(self.link.results())
        self.snapshot = self.link.snapshot()
        cameras = self.snapshot.cameras
        if self.snapshot.health is not None and self.view.sync_cameras(
            list((self.snapshot.health.get("cameras") or {}).keys())
        ):
            self._state_changed()
        for camera_id in self.view.order:
            feed = self.feeds.get(camera_id)
            if feed is None:
                feed = self.feeds[camera_id] = LiveFeed(camera_id)
            camera = cameras.get(camera_id) or {}
            feed.follow(camera.get("ring") if self.snapshot.connected else feed.ring_name, now)
        if self.minimised:
            convert_s = 0.0
            self._was_minimised = True
        else:
            if self._was_minimised:  # frames published while minimised were not lost: not counted
                for feed in self.feeds.values():
                    feed.invalidate()
                self._was_minimised = False
            convert_s = self._convert_visible(now)
        self._draw_tiles(now)
        self._draw_chrome(now)
        self._retire_textures()
        if self._dirty_at is not None and now - self._dirty_at > SAVE_DELAY_S:
            self.save_state()
        return convert_s

    def _convert_visible(self, now: float) -> float:
        """Convert new frames of visible tiles, taking turns once the frame's budget is spent."""
        cells = self.tile_rects()
        shown = [(i, c) for i, (c, _) in enumerate(cells) if c is not None]
        if not shown:  # no texture at all: Dear PyGui would upload it every frame for nothing
            if self._atlas is not None:
                self._retired.append((self._atlas.tag, self.frame_no))
                self._atlas = None
            return 0.0
        atlas = self._atlas_for(cells)
        cap = tile_fps_cap(len(shown))
        spent = 0.0
        start = self._turn % len(shown)
        for k in range(len(shown)):
            index, camera_id = shown[(start + k) % len(shown)]
            feed = self.feeds[camera_id]
            if atlas.owners[index] != camera_id:
                atlas.owners[index] = camera_id
                feed.invalidate()
            if spent > CONVERT_BUDGET_S:
                self._turn = (start + k) % len(shown)
                break
            region = atlas.regions[index]
            started = time.perf_counter()
            feed.convert_into(
                atlas.pixels[region.y : region.y + region.h, region.x : region.x + region.w],
                now,
                min_interval_s=_CAP_SLACK / cap,
            )
            spent += time.perf_counter() - started
        return spent

    def _atlas_for(self, cells: list[tuple[str | None, Rect]]) -> _Atlas:
        """The grid's texture for the current layout, grid size and cameras' picture size (made
        again when one changes)."""
        rows, cols = self.view.grid()
        sources = [
            size
            for camera_id, _ in cells
            if camera_id is not None and (size := self.feeds[camera_id].source_size()) is not None
        ]
        width, height = tile_region(cells[0][1].w, cells[0][1].h, sources)
        key = (rows, cols, width, height)
        if self._atlas is not None and self._atlas.key == key:
            return self._atlas
        pixels = np.zeros((rows * height, cols * width, 4), np.float32)
        pixels[..., 3] = 1.0
        tag = dpg.add_raw_texture(
            cols * width,
            rows * height,
            pixels,
            format=dpg.mvFormat_Float_rgba,
            parent=self.items["textures"],
        )
        if self._atlas is not None:
            self._retired.append((self._atlas.tag, self.frame_no))
        regions = grid_rects(rows, cols, Rect(0, 0, cols * width, rows * height), gap=0)
        self._atlas = _Atlas(int(tag), pixels, key, regions, [None] * len(regions))
        return self._atlas

    def _retire_textures(self) -> None:
        """Delete replaced grid textures once no image can still draw them."""
        keep = []
        for tag, retired_at in self._retired:
            if self.frame_no - retired_at >= RETIRE_FRAMES:
                dpg.delete_item(tag)
            else:
                keep.append((tag, retired_at))
        self._retired = keep

    def tile_infos(self, now: float | None = None) -> dict[str, TileInfo]:
        """What every camera's tile says now (all cameras, visible or not)."""
        now = time.monotonic() if now is None else now
        cameras = self.snapshot.known_cameras
        engine_error = None if self.snapshot.connected else (self.snapshot.error or "connecting")
        infos = {}
        for camera_id in self.view.order:
            feed = self.feeds.get(camera_id)
            shown_at = feed.last_frame_at if feed else 0.0
            infos[camera_id] = tile_info(
                cameras.get(camera_id),
                camera_id,
                engine_error=engine_error,
                frame_age_s=(now - shown_at) if shown_at else None,
                fps=feed.fps(now) if feed else 0.0,
                motion=bool(feed and feed.motion and feed.ring is not None),
                pending=self.pending.get(camera_id),
            )
        return infos

    def _set(self, item: int, **config: Any) -> None:
        """``configure_item`` only when something changed (hundreds of items per frame)."""
        if self._drawn.get(item) != config:
            dpg.configure_item(item, **config)
            self._drawn[item] = config

    def _bind(self, item: int, item_theme: int) -> None:
        if self._bound.get(item) != item_theme:
            dpg.bind_item_theme(item, item_theme)
            self._bound[item] = item_theme

    def _draw_tiles(self, now: float) -> None:
        infos = self.tile_infos(now)
        cells = self.tile_rects()
        blink = int(now * 2) % 2 == 0
        for index, cell in enumerate(self._cells):
            if index >= len(cells):
                self._drop_image(cell)
                self._set(cell.node, show=False)
                continue
            camera_id, rect = cells[index]
            self._set(cell.node, show=True)
            x0, y0, x1, y1 = rect.x, rect.y, rect.x + rect.w, rect.y + rect.h
            self._set(cell.background, show=False)  # an empty cell is the bare background
            if camera_id is None:
                self._drop_image(cell)
                for item in (cell.shade, cell.header, cell.title, cell.badge, cell.fps):
                    self._set(item, show=False)
                for item in (cell.rec_bg, cell.rec_dot, cell.rec_text, cell.motion_bg):
                    self._set(item, show=False)
                self._set(cell.motion_text, show=False)
                self._set(
                    cell.border,
                    show=True,
                    pmin=(x0, y0),
                    pmax=(x1, y1),
                    color=theme.TILE_PLACEHOLDER,
                    thickness=1,
                )
                self._set(
                    cell.reason,
                    show=True,
                    pos=(x0 + 10, y0 + 10),
                    text="empty",
                    color=theme.TEXT_DIM,
                )
                continue
            info = infos[camera_id]
            self._draw_picture(cell, index, camera_id, info, rect)
            # title bar: name, state badge, fps
            self._set(cell.header, show=True, pmin=(x0, y0), pmax=(x1, y0 + theme.HEADER_PX))
            self._set(
                cell.title, show=True, pos=(x0 + 6, y0 + 3), text=_fit(info.title, rect.w - 130)
            )
            badge_color = theme.STATE_COLORS.get(info.state, theme.TEXT_DIM)
            self._set(
                cell.badge,
                show=True,
                pos=(x1 - 8 - 8 * len(info.state_label), y0 + 4),
                text=info.state_label,
                color=badge_color,
            )
            fps_text = f"{info.fps:.0f} fps" if info.shows_video else ""
            self._set(
                cell.fps,
                show=bool(fps_text),
                pos=(x1 - 60 - 8 * len(info.state_label), y0 + 4),
                text=fps_text,
            )
            self._draw_recording(cell, info, x0, y1, blink)
            self._draw_motion(cell, info, x1, y1)
            selected = camera_id == self.view.selected
            target = (
                self._drag_from is not None
                and self._drag_from != camera_id
                and self._hover_camera() == camera_id
            )
            if target:
                self._set(
                    cell.border,
                    show=True,
                    pmin=(x0 + 1, y0 + 1),
                    pmax=(x1 - 1, y1 - 1),
                    color=theme.DROP_TARGET,
                    thickness=3,
                )
            elif info.panic:
                self._set(
                    cell.border,
                    show=True,
                    pmin=(x0 + 1, y0 + 1),
                    pmax=(x1 - 1, y1 - 1),
                    color=theme.PANIC,
                    thickness=3,
                )
            elif selected:
                self._set(
                    cell.border,
                    show=True,
                    pmin=(x0 + 1, y0 + 1),
                    pmax=(x1 - 1, y1 - 1),
                    color=theme.ACCENT,
                    thickness=2,
                )
            else:
                self._set(cell.border, show=False)

    def _draw_picture(
        self, cell: _Cell, index: int, camera_id: str, info: TileInfo, rect: Rect
    ) -> None:
        x0, y0, x1, y1 = rect.x, rect.y, rect.x + rect.w, rect.y + rect.h
        atlas = self._atlas
        feed = self.feeds[camera_id]
        has_picture = (
            atlas is not None
            and atlas.owners[index] == camera_id
            and feed.frames_shown > 0
            and not feed.needs_redraw
        )
        if has_picture and atlas is not None:
            region = atlas.regions[index]
            shown = picture_rect(rect, (region.w, region.h))
            corners = {"pmin": (shown.x, shown.y), "pmax": (shown.x + shown.w, shown.y + shown.h)}
            if cell.image is None or cell.image_texture != atlas.tag:
                # An image's texture is fixed when it is made: replace the draw item.
                self._drop_image(cell)
                uv_min, uv_max = atlas.uv(index)
                cell.image = int(
                    dpg.draw_image(
                        atlas.tag,
                        **corners,
                        uv_min=uv_min,
                        uv_max=uv_max,
                        parent=cell.node,
                        before=cell.shade,
                    )
                )
                cell.image_texture = atlas.tag
                self._drawn[cell.image] = corners
            self._set(cell.image, **corners)
        else:
            self._drop_image(cell)
        live = info.shows_video and info.state != "stalled"
        self._set(cell.shade, show=has_picture and not live, pmin=(x0, y0), pmax=(x1, y1))
        if info.reason and not live:
            lines = _wrap(info.reason, max(8, (x1 - x0 - 24) // 8))[:4]
            text_y = (y0 + y1) // 2 - 10 * len(lines)
            self._set(
                cell.reason,
                show=True,
                pos=(x0 + 12, text_y),
                text="\n".join(lines),
                color=theme.TEXT,
            )
        else:
            self._set(cell.reason, show=False)
        # Under llvmpipe every filled pixel costs: no background under a picture.
        self._set(
            cell.background,
            show=not has_picture,
            pmin=(x0, y0),
            pmax=(x1, y1),
            fill=theme.TILE_PLACEHOLDER,
        )

    def _drop_image(self, cell: _Cell) -> None:
        """Delete the cell's image item (before its texture may be deleted)."""
        if cell.image is not None:
            dpg.delete_item(cell.image)
            self._drawn.pop(cell.image, None)
        cell.image = None
        cell.image_texture = None

    def _draw_recording(self, cell: _Cell, info: TileInfo, x0: int, y1: int, blink: bool) -> None:
        if info.recording is None:
            for item in (cell.rec_bg, cell.rec_dot, cell.rec_text):
                self._set(item, show=False)
            return
        width = 26 + 8 * len(info.recording)
        top = y1 - 26
        color = theme.REC if info.recording_confirmed else theme.PENDING
        self._set(cell.rec_bg, show=True, pmin=(x0 + 6, top), pmax=(x0 + 6 + width, y1 - 6))
        dot_on = info.recording_confirmed or blink
        self._set(cell.rec_dot, show=dot_on, center=(x0 + 17, top + 10), color=color, fill=color)
        self._set(cell.rec_text, show=True, pos=(x0 + 27, top + 3), text=info.recording)

    def _draw_motion(self, cell: _Cell, info: TileInfo, x1: int, y1: int) -> None:
        show = info.motion
        self._set(cell.motion_bg, show=show, pmin=(x1 - 76, y1 - 26), pmax=(x1 - 6, y1 - 6))
        self._set(cell.motion_text, show=show, pos=(x1 - 69, y1 - 23))

    def _draw_chrome(self, now: float) -> None:
        """Toolbar states, panic banner, engine banner and status bar."""
        for name in LAYOUTS:
            active = name == self.view.layout and self.view.fullscreen is None
            self._set(self.items[f"layout_{name}"], label=name)
            self._bind(self.items[f"layout_{name}"], self._themes["active"] if active else 0)
        pages = self.view.pages
        self._set(self.items["page_label"], default_value=f"{self.view.page + 1}/{pages}")
        for key in ("page_prev", "page_next"):
            self._set(self.items[key], enabled=pages > 1 and self.view.fullscreen is None)
        self._set(
            self.items["fullscreen"],
            label="Exit full screen" if self.view.fullscreen else "Full screen",
        )
        selected = self.view.selected
        self._set(self.items["record"], enabled=selected is not None)
        self._set(self.items["stop"], enabled=selected is not None)
        infos = self.tile_infos(now) if selected else {}
        sel_name = infos[selected].title if selected in infos else None
        self._set(
            self.items["selection"],
            default_value=f"Selected: {sel_name}" if sel_name else "Click a tile to select it",
        )

        health = self.snapshot.health if self.snapshot.connected else None
        panic = bool(health and health.get("panic"))
        if self.panic_pending is not None and (
            panic == self.panic_pending.active or now - self.panic_pending.asked_at > 12
        ):
            self.panic_pending = None
        waiting = self.panic_pending is not None
        label = "CLEAR PANIC" if panic else "PANIC"
        if waiting and self.panic_pending is not None:
            label = "PANIC…" if self.panic_pending.active else "CLEARING…"
        self._set(self.items["panic"], label=label)
        flash = panic and int(now * 2) % 2 == 0
        self._bind(self.items["panic"], self._themes["panic_on" if flash else "panic"])

        area = self._grid_area
        self._set(self.items["panic_frame"], show=panic, pmin=(2, 2), pmax=(area.w - 2, area.h - 2))
        if panic and self._panic_seen_at is None:
            self._panic_seen_at = now
        elif not panic:
            self._panic_seen_at = None
        if panic and self._panic_seen_at is not None:
            running = format_duration(now - self._panic_seen_at)
            text = (
                f"PANIC RECORDING: every camera is recording ({running}). Press CLEAR PANIC to end."
            )
            top = area.h - theme.BANNER_PX - 40
            self._set(
                self.items["banner_bg"],
                show=True,
                pmin=(area.w // 2 - 330, top),
                pmax=(area.w // 2 + 330, top + theme.BANNER_PX),
            )
            self._set(
                self.items["banner_text"], show=True, pos=(area.w // 2 - 320, top + 4), text=text
            )
        else:
            self._set(self.items["banner_bg"], show=False)
            self._set(self.items["banner_text"], show=False)

        offline = not self.snapshot.connected
        if offline:
            text = self.snapshot.error or "connecting to the engine…"
            lines = _wrap(text, max(20, (area.w - 80) // 8))[:3]
            top = area.h // 2 - 10 * len(lines) - 14
            self._set(
                self.items["engine_bg"],
                show=True,
                pmin=(20, top),
                pmax=(area.w - 20, top + 28 + 20 * len(lines)),
            )
            self._set(
                self.items["engine_text"], show=True, pos=(32, top + 12), text="\n".join(lines)
            )
        else:
            self._set(self.items["engine_bg"], show=False)
            self._set(self.items["engine_text"], show=False)

        status = status_line(health, None if self.snapshot.connected else self.snapshot.error)
        self._set(
            self.items["status_engine"],
            default_value=_fit(status.engine, 60 * 8) if not offline else "Engine: NOT CONNECTED",
            color=theme.LIVE if status.engine_ok else theme.ERROR if offline else theme.WARN,
        )
        self._set(self.items["status_recordings"], default_value=_fit(status.recordings, 50 * 8))
        self._set(
            self.items["status_disk"],
            default_value=status.disk,
            color=theme.WARN if status.disk_warning else theme.TEXT,
        )
        if self.feedback is not None and now - self.feedback[2] > FEEDBACK_S:
            self.feedback = None
        text, is_error = (
            (self.feedback[0] + " |", self.feedback[1]) if self.feedback else ("", False)
        )
        self._set(
            self.items["status_feedback"],
            default_value=text,
            color=theme.ERROR if is_error else theme.TEXT,
        )
        summary = self.stats.summary()
        self._set(
            self.items["status_perf"],
            default_value=f"UI {summary['fps']:.0f} fps, {summary['frame_ms']:.1f} ms",
        )

    # --- actions (what callbacks, keys and tests call) --------------------------------------

    def set_layout(self, name: str) -> None:
        if self.view.set_layout(name):
            self._state_changed()

    def select(self, camera_id: str | None) -> None:
        if self.view.select(camera_id):
            self._state_changed()

    def toggle_fullscreen(self, camera_id: str | None = None) -> None:
        if self.view.toggle_fullscreen(camera_id):
            self._state_changed()

    def move(self, source: str, target: str) -> None:
        if self.view.move(source, target):
            self._state_changed()
            self.show_feedback(f"moved {source} to {target}'s place")

    def turn_page(self, step: int) -> None:
        if self.view.turn_page(step):
            self._state_changed()

    def set_recording(self, camera_id: str, active: bool) -> None:
        """Start or stop manual recording on one camera ("*": every camera)."""
        now = time.monotonic()
        targets = self.view.order if camera_id == "*" else [camera_id]
        for target in targets:
            self.pending[target] = Pending(active, now)
        self.link.send("start_recording" if active else "stop_recording", camera_id)
        who = "every camera" if camera_id == "*" else self._name(camera_id)
        self.show_feedback(f"{'starting' if active else 'stopping'} recording on {who}…")

    def set_panic(self, active: bool) -> None:
        self.panic_pending = Pending(active, time.monotonic())
        self.link.send("panic", "*", active=active)
        self.show_feedback("PANIC: recording every camera…" if active else "clearing panic…")

    def show_feedback(self, text: str, error: bool = False) -> None:
        self.feedback = (text, error, time.monotonic())

    def _name(self, camera_id: str) -> str:
        camera = self.snapshot.cameras.get(camera_id) or {}
        return str(camera.get("name") or camera_id)

    def _apply_results(self, results: list[CommandResult]) -> None:
        for result in results:
            who = "every camera" if result.camera_id == "*" else self._name(result.camera_id)
            if result.command == "panic":
                if not result.ok:
                    self.panic_pending = None
                    self.show_feedback(
                        f"panic not confirmed: {result.error or _detail(result)}", True
                    )
                else:
                    self.show_feedback(
                        f"panic {'on' if result.params.get('active', True) else 'cleared'}, "
                        f"confirmed in {result.elapsed_ms:.0f} ms"
                    )
                continue
            targets = self.view.order if result.camera_id == "*" else [result.camera_id]
            verb = "started" if result.command == "start_recording" else "stopped"
            if result.ok:
                # Confirmed: the engine's next health poll (already requested) shows the state.
                for target in targets:
                    self.pending.pop(target, None)
                self.show_feedback(
                    f"recording {verb} on {who}, confirmed in {result.elapsed_ms:.0f} ms"
                )
            else:
                for target in targets:
                    self.pending.pop(target, None)
                self.show_feedback(
                    f"recording not {verb} on {who}: {result.error or _detail(result)}", True
                )

    def _state_changed(self) -> None:
        self._dirty_at = time.monotonic()

    def save_state(self) -> None:
        self._dirty_at = None
        if self.state_path is None:
            return
        try:
            self.view.save(self.state_path)
        except OSError as err:
            log.warning("cannot save the console layout to %s: %s", self.state_path, err)

    # --- DPG callbacks (thin adapters) ------------------------------------------------------

    def _cb_layout(self, _sender: Any, _data: Any, name: str) -> None:
        self.set_layout(name)

    def _cb_page(self, _sender: Any, _data: Any, step: int) -> None:
        self.turn_page(step)

    def _cb_fullscreen(self, *_: Any) -> None:
        self.toggle_fullscreen()

    def _cb_record_selected(self, _sender: Any, _data: Any, active: bool) -> None:
        if self.view.selected is None:
            self.show_feedback("select a camera first (click its tile)", True)
            return
        self.set_recording(self.view.selected, active)

    def _cb_record_all(self, _sender: Any, _data: Any, active: bool) -> None:
        self.set_recording("*", active)

    def _cb_panic(self, *_: Any) -> None:
        health = self.snapshot.health if self.snapshot.connected else None
        self.set_panic(not bool(health and health.get("panic")))

    def _cb_menu_record(self, *_: Any) -> None:
        dpg.configure_item(self.items["menu"], show=False)
        if self._menu_camera is not None:
            camera = self.snapshot.cameras.get(self._menu_camera) or {}
            self.set_recording(self._menu_camera, not bool(camera.get("manual")))

    def _cb_menu_fullscreen(self, *_: Any) -> None:
        dpg.configure_item(self.items["menu"], show=False)
        if self._menu_camera is not None:
            if self.view.fullscreen is not None:
                self.view.exit_fullscreen()
                self._state_changed()
            else:
                self.toggle_fullscreen(self._menu_camera)

    def open_menu(self, camera_id: str, pos: tuple[float, float]) -> None:
        """The tile's context menu: start/stop recording, full screen."""
        self._menu_camera = camera_id
        self.select(camera_id)
        camera = self.snapshot.cameras.get(camera_id) or {}
        manual = bool(camera.get("manual"))
        dpg.set_value(self.items["menu_title"], self._name(camera_id))
        dpg.configure_item(
            self.items["menu_record"], label="Stop recording" if manual else "● Start recording"
        )
        dpg.configure_item(
            self.items["menu_fullscreen"],
            label="Back to the grid" if self.view.fullscreen else "Full screen",
        )
        dpg.configure_item(self.items["menu"], show=True, pos=[int(pos[0]), int(pos[1])])

    def _grid_point(self) -> tuple[float, float] | None:
        """The mouse in grid coordinates, if it is over the grid."""
        if not dpg.is_item_hovered(self.items["grid"]):
            return None
        mx, my = dpg.get_mouse_pos(local=False)
        gx, gy = dpg.get_item_rect_min(self.items["grid"])
        return mx - gx, my - gy

    def _hover_camera(self) -> str | None:
        point = self._grid_point()
        return None if point is None else self.view.camera_at(self._grid_area, *point, gap=GAP_PX)

    def _on_mouse_click(self, _sender: Any, button: int, *_: Any) -> None:
        camera_id = self._hover_camera()
        if camera_id is None:
            return
        if button == dpg.mvMouseButton_Right:
            self.open_menu(camera_id, dpg.get_mouse_pos(local=False))
        elif button == dpg.mvMouseButton_Left:
            self.select(camera_id)
            self._drag_from = camera_id
            self._drag_origin = tuple(dpg.get_mouse_pos(local=False))  # type: ignore[assignment]

    def _on_mouse_release(self, *_: Any) -> None:
        source, self._drag_from = self._drag_from, None
        if source is None:
            return
        mx, my = dpg.get_mouse_pos(local=False)
        moved = abs(mx - self._drag_origin[0]) + abs(my - self._drag_origin[1])
        target = self._hover_camera()
        if target is not None and target != source and moved >= DRAG_PX:
            self.move(source, target)

    def _on_mouse_double_click(self, *_: Any) -> None:
        camera_id = self._hover_camera()
        if camera_id is not None:
            self.toggle_fullscreen(camera_id)

    def on_key(self, key: int) -> None:
        """Keys: 1 2 3 4 8 layouts; F or Enter full screen; Esc back; Tab/arrows select; R record;
        S stop; PageUp/PageDown pages."""
        names = {getattr(dpg, f"mvKey_{k}"): layout for k, layout in LAYOUT_KEYS.items()}
        if key in names:
            self.set_layout(names[key])
        elif key in (dpg.mvKey_F, dpg.mvKey_Return):
            self.toggle_fullscreen()
        elif key == dpg.mvKey_Escape:
            if self.view.exit_fullscreen():
                self._state_changed()
        elif key in (dpg.mvKey_Tab, dpg.mvKey_Right, dpg.mvKey_Left):
            if self.view.select_step(-1 if key == dpg.mvKey_Left else 1):
                self._state_changed()
        elif key == dpg.mvKey_Next:
            self.turn_page(1)
        elif key == dpg.mvKey_Prior:
            self.turn_page(-1)
        elif key in (dpg.mvKey_R, dpg.mvKey_S) and self.view.selected is not None:
            self.set_recording(self.view.selected, key == dpg.mvKey_R)

    def _on_key(self, _sender: Any, key: int, *_: Any) -> None:
        if dpg.is_item_shown(self.items["menu"]):
            return
        self.on_key(key)

    # --- the loop ---------------------------------------------------------------------------

    def render_frame(self) -> None:
        """One full frame: update, render, run queued callbacks; feeds the frame-time stats."""
        t0 = time.perf_counter()
        width, height = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        self.minimised = width <= 0 or height <= 0
        if (width, height) != self.size and not self.minimised:
            self._layout_items(width, height)
        convert_s = self.update()
        t1 = time.perf_counter()
        dpg.render_dearpygui_frame()
        t2 = time.perf_counter()
        jobs = dpg.get_callback_queue()
        if jobs:
            dpg.run_callbacks(jobs)
        self.stats.add(time.monotonic(), convert_s, (t1 - t0 - convert_s), t2 - t1)

    def quit(self) -> None:
        self._quit = True

    def run(self, title: str = "NVR console") -> None:
        """Open the viewport and render until the window closes (or ``quit``)."""
        try:
            self.open(title)
            self.loop()
        finally:
            self.close()

    def open(self, title: str = "NVR console") -> None:
        """Create the context, the items and the viewport; start the engine link."""
        dpg.create_context()
        self.build()
        dpg.create_viewport(
            title=title, width=self.size[0], height=self.size[1], x_pos=0, y_pos=0, vsync=False
        )
        dpg.set_viewport_clear_color(list(theme.BACKGROUND))
        dpg.setup_dearpygui()
        dpg.show_viewport()
        self.link.start()

    def render_rate(self, now: float) -> float:
        """Frames a second to render: 30, or twice the fastest camera on screen (so no frame
        of a 30 fps camera is skipped), never above ``max_fps``; 5 while minimised."""
        if self.minimised:
            return 5.0
        fastest = max(
            (self.feeds[c].fps(now) for c in self.view.visible() if c in self.feeds), default=0.0
        )
        return min(self.max_fps, max(30.0, 2.0 * fastest))

    def loop(self, seconds: float | None = None) -> None:
        """Render (at ``render_rate``) until the window closes, ``quit`` or ``seconds``."""
        next_at = time.monotonic()
        until = None if seconds is None else next_at + seconds
        while dpg.is_dearpygui_running() and not self._quit:
            if until is not None and time.monotonic() >= until:
                return
            self.render_frame()
            next_at += 1.0 / self.render_rate(time.monotonic())
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()

    def close(self) -> None:
        """Stop the link, save the layout, let go of the rings, destroy the context."""
        self.link.stop()
        self.save_state()
        for feed in self.feeds.values():
            feed.release()
        dpg.destroy_context()


def _detail(result: CommandResult) -> str:
    detail = result.body.get("detail") or result.body.get("error")
    return str(detail) if detail else f"HTTP {result.status}"


def _fit(text: str, width_px: int) -> str:
    """Cut ``text`` to about ``width_px`` pixels (8 px per character) with an ellipsis."""
    limit = max(4, width_px // 8)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap at ``width`` characters."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines
