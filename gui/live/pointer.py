"""The grid's mouse: click selects, right click opens the tile menu, double click toggles full
screen, dragging a tile onto another swaps them."""

from __future__ import annotations

from typing import Any

import dearpygui.dearpygui as dpg

from gui.live.menu import TileMenu
from gui.live.model import LiveModel
from gui.view import Rect

DRAG_PX = 8  # a press and release closer than this is a click, not a drag


class GridPointer:
    """Mouse handlers for the grid drawlist ``grid`` (a hidden grid is never hovered, so a
    hidden panel ignores the mouse)."""

    def __init__(self, grid: int, gap: int, model: LiveModel, menu: TileMenu) -> None:
        self._grid = grid
        self._gap = gap
        self._model = model
        self._menu = menu
        self.area = Rect(0, 0, 1, 1)  # the grid's size (its own coordinates)
        self._drag_from: str | None = None
        self._drag_origin: tuple[float, float] = (0.0, 0.0)
        with dpg.handler_registry():
            dpg.add_mouse_click_handler(callback=self._on_click)
            dpg.add_mouse_double_click_handler(
                button=dpg.mvMouseButton_Left, callback=self._on_double_click
            )
            dpg.add_mouse_release_handler(button=dpg.mvMouseButton_Left, callback=self._on_release)

    def drop_target(self) -> str | None:
        """The camera a dragged tile would land on now, if a drag is on."""
        if self._drag_from is None:
            return None
        target = self._hover_camera()
        return target if target != self._drag_from else None

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
            self._model.select(camera_id)
            self._drag_from = camera_id
            self._drag_origin = tuple(dpg.get_mouse_pos(local=False))  # type: ignore[assignment]

    def _on_release(self) -> None:
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
