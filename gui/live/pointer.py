"""The grid's mouse: click selects, right click opens the tile menu, double click toggles full
screen, dragging a tile onto another swaps them; the wheel zooms a tile and dragging a zoomed
tile pans it (``gui.live.zoom``); Ctrl+click turns a PTZ camera toward the point clicked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dearpygui.dearpygui as dpg

from gui.keys import ctrl_down
from gui.live.menu import TileMenu
from gui.live.model import LiveModel
from gui.view import Rect

DRAG_PX = 8  # a press and release closer than this is a click, not a drag


class GridPointer:
    """Mouse handlers for the grid drawlist ``grid`` (a hidden grid is never hovered, so a
    hidden panel ignores the mouse)."""

    def __init__(
        self,
        grid: int,
        gap: int,
        model: LiveModel,
        menu: TileMenu,
        picture_of: Callable[[str], Rect | None],
        center: Callable[[str, float, float], bool] = lambda *_: False,
    ) -> None:
        """``center(camera, x, y)``: Ctrl+click at (x, y), -1..1 from the picture's centre (y
        up); True when it was taken (a PTZ camera turned), so the click selects nothing."""
        self._grid = grid
        self._gap = gap
        self._model = model
        self._menu = menu
        self._picture_of = picture_of  # where a camera's picture is drawn (grid coordinates)
        self._center = center
        self._pan: tuple[str, float, float] | None = None  # camera, last mouse position
        self.area = Rect(0, 0, 1, 1)  # the grid's size (its own coordinates)
        self._drag_from: str | None = None
        self._drag_origin: tuple[float, float] = (0.0, 0.0)
        with dpg.handler_registry():
            dpg.add_mouse_click_handler(callback=self._on_click)
            dpg.add_mouse_double_click_handler(
                button=dpg.mvMouseButton_Left, callback=self._on_double_click
            )
            dpg.add_mouse_release_handler(button=dpg.mvMouseButton_Left, callback=self._on_release)
            dpg.add_mouse_wheel_handler(callback=self._on_wheel)

    def drop_target(self) -> str | None:
        """The camera a dragged tile would land on now, if a drag is on."""
        if self._drag_from is None:
            return None
        target = self._hover_camera()
        return target if target != self._drag_from else None

    def update(self) -> None:
        """Each frame: a drag on a zoomed tile pans it with the mouse."""
        if self._pan is None:
            return
        self._pan_to_mouse()
        if not dpg.is_mouse_button_down(dpg.mvMouseButton_Left):
            self._pan = None

    def _pan_to_mouse(self) -> None:
        """Move the panned picture with the mouse since the last look."""
        if self._pan is None:
            return
        camera_id, last_x, last_y = self._pan
        picture = self._picture_of(camera_id)
        mx, my = dpg.get_mouse_pos(local=False)
        if picture is not None:
            self._model.zoom(camera_id).pan((mx - last_x) / picture.w, (my - last_y) / picture.h)
        self._pan = (camera_id, mx, my)

    def wheel(self, camera_id: str, notches: float, gx: float, gy: float) -> None:
        """Zoom ``camera_id``'s tile by ``notches`` around grid point (``gx``, ``gy``)."""
        picture = self._picture_of(camera_id)
        if picture is None:
            return
        fx = min(1.0, max(0.0, (gx - picture.x) / picture.w))
        fy = min(1.0, max(0.0, (gy - picture.y) / picture.h))
        self._model.zoom(camera_id).wheel(notches, fx, fy)

    def _on_wheel(self, _sender: Any, notches: Any) -> None:
        camera_id = self._hover_camera()
        if camera_id is None:
            return
        mx, my = dpg.get_mouse_pos(local=False)
        gx, gy = dpg.get_item_rect_min(self._grid)
        self.wheel(camera_id, float(notches), mx - gx, my - gy)

    def _hover_camera(self) -> str | None:
        """The camera whose tile is under the mouse, if the mouse is over the grid."""
        if not dpg.is_item_hovered(self._grid):
            return None
        mx, my = dpg.get_mouse_pos(local=False)
        gx, gy = dpg.get_item_rect_min(self._grid)
        return self._model.view.camera_at(self.area, mx - gx, my - gy, gap=self._gap)

    def _on_click(self, _sender: Any, button: int) -> None:
        camera_id = self._hover_camera()
        if camera_id is None:
            return
        if button == dpg.mvMouseButton_Right:
            self._menu.open(camera_id, dpg.get_mouse_pos(local=False))
        elif button == dpg.mvMouseButton_Left:
            mx, my = dpg.get_mouse_pos(local=False)
            if ctrl_down() and self._ctrl_click(camera_id, mx, my):
                return
            self._model.select(camera_id)
            if self._model.zoom(camera_id).zoomed:  # a drag pans it: no swap
                self._pan = (camera_id, mx, my)
                return
            self._drag_from = camera_id
            self._drag_origin = (mx, my)

    def _ctrl_click(self, camera_id: str, mx: float, my: float) -> bool:
        picture = self._picture_of(camera_id)
        if picture is None:
            return False
        gx, gy = dpg.get_item_rect_min(self._grid)
        fx = (mx - gx - picture.x) / picture.w * 2 - 1
        fy = 1 - (my - gy - picture.y) / picture.h * 2
        if not (-1 <= fx <= 1 and -1 <= fy <= 1):
            return False
        return self._center(camera_id, fx, fy)

    def _on_release(self) -> None:
        self._pan_to_mouse()  # a quick drag may start and end between two frames
        self._pan = None
        source, self._drag_from = self._drag_from, None
        if source is None:
            return
        mx, my = dpg.get_mouse_pos(local=False)
        moved = abs(mx - self._drag_origin[0]) + abs(my - self._drag_origin[1])
        target = self._hover_camera()
        if target is not None and target != source and moved >= DRAG_PX:
            self._model.move(source, target)

    def _on_double_click(self) -> None:
        camera_id = self._hover_camera()
        if camera_id is not None:
            self._model.toggle_fullscreen(camera_id)
