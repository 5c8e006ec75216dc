"""The grid's cells: each camera's picture (its region of the grid texture) and what is drawn
over it (title bar, state, reason, recording, motion, border), from ``gui.present.TileInfo``."""

from __future__ import annotations

from dataclasses import dataclass

import dearpygui.dearpygui as dpg

from gui import theme
from gui.draw import CHAR_PX, Drawn, fit, wrap
from gui.feeds import LiveFeed
from gui.live.atlas import Atlas, Cells, picture_rect
from gui.live.zoom import Zoom
from gui.present import MAIN_DOWN, STALLED, TileInfo
from gui.view import LAYOUTS, Rect

MAX_CELLS = max(layout.cells for layout in LAYOUTS.values())


@dataclass(frozen=True, slots=True)
class Border:
    """How a tile's border is drawn: colour, line width and inset from the cell's edge."""

    color: theme.Color
    thickness: int
    inset: int


EMPTY_BORDER = Border(theme.TILE_PLACEHOLDER, 1, 0)
DROP_BORDER = Border(theme.DROP_TARGET, 3, 1)
PANIC_BORDER = Border(theme.PANIC, 3, 1)
SELECTED_BORDER = Border(theme.ACCENT, 2, 1)


def border_style(*, empty: bool, drop_target: bool, panic: bool, selected: bool) -> Border | None:
    """A tile's border, by what the operator must see first: an empty cell's outline, the drop
    target of a drag, panic, the selection; None: no border."""
    if empty:
        return EMPTY_BORDER
    if drop_target:
        return DROP_BORDER
    if panic:
        return PANIC_BORDER
    if selected:
        return SELECTED_BORDER
    return None


@dataclass(slots=True)
class TileCell:
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
    mode_bg: int
    mode: int
    alarm_bg: int
    alarm_text: int
    border: int
    image: int | None = None  # draw_image of the current texture, made on first picture
    image_texture: int | None = None


def _make_cell(grid: int) -> TileCell:
    clear = (0, 0, 0, 0)
    with dpg.draw_node(parent=grid, show=False) as node:
        return TileCell(
            node=node,
            background=dpg.draw_rectangle(
                (0, 0), (1, 1), color=theme.TILE_EMPTY, fill=theme.TILE_EMPTY
            ),
            shade=dpg.draw_rectangle((0, 0), (1, 1), color=clear, fill=theme.SHADE, show=False),
            reason=dpg.draw_text((0, 0), "", color=theme.TEXT, size=theme.FONT_PX),
            header=dpg.draw_rectangle((0, 0), (1, 1), color=clear, fill=theme.HEADER),
            title=dpg.draw_text((0, 0), "", color=theme.TEXT, size=theme.FONT_PX),
            badge=dpg.draw_text((0, 0), "", color=theme.LIVE, size=theme.SMALL_PX),
            fps=dpg.draw_text((0, 0), "", color=theme.TEXT_DIM, size=theme.SMALL_PX),
            rec_bg=dpg.draw_rectangle((0, 0), (1, 1), color=clear, fill=theme.REC_BG, rounding=3),
            rec_dot=dpg.draw_circle((0, 0), 5, color=theme.REC, fill=theme.REC),
            rec_text=dpg.draw_text((0, 0), "", color=theme.TEXT, size=theme.SMALL_PX),
            motion_bg=dpg.draw_rectangle(
                (0, 0), (1, 1), color=clear, fill=theme.MOTION_BG, rounding=3
            ),
            motion_text=dpg.draw_text((0, 0), "MOTION", color=theme.MOTION, size=theme.SMALL_PX),
            mode_bg=dpg.draw_rectangle(
                (0, 0), (1, 1), color=clear, fill=theme.HEADER, rounding=3, show=False
            ),
            mode=dpg.draw_text((0, 0), "", color=theme.TEXT_DIM, size=theme.SMALL_PX),
            alarm_bg=dpg.draw_rectangle(
                (0, 0), (1, 1), color=clear, fill=theme.ALARM_BG, rounding=3, show=False
            ),
            alarm_text=dpg.draw_text((0, 0), "", color=theme.TEXT, size=theme.SMALL_PX),
            border=dpg.draw_rectangle((0, 0), (1, 1), color=theme.ACCENT, thickness=2),
        )


class Tiles:
    """Draws the cells on screen into the grid's drawlist; the pool is made once, here."""

    def __init__(self, grid: int, drawn: Drawn) -> None:
        self._drawn = drawn
        self.cells = [_make_cell(grid) for _ in range(MAX_CELLS)]

    def draw(
        self,
        cells: Cells,
        infos: dict[str, TileInfo],
        atlas: Atlas | None,
        feeds: dict[str, LiveFeed],
        selected: str | None,
        drop_target: str | None,
        blink: bool,
        zooms: dict[str, Zoom],
    ) -> None:
        """Every cell of ``cells`` (camera, rectangle in grid pixels); the rest of the pool is
        hidden. ``drop_target`` is the camera a dragged tile would land on."""
        for index, cell in enumerate(self.cells):
            if index >= len(cells):
                self._drop_image(cell)
                self._drawn.set(cell.node, show=False)
                continue
            camera_id, rect = cells[index]
            self._drawn.set(cell.node, show=True)
            if camera_id is None:
                self._draw_empty(cell, rect)
                continue
            info = infos[camera_id]
            has_picture = (
                atlas is not None
                and atlas.owners[index] == camera_id
                and feeds[camera_id].frames_shown > 0
                and not feeds[camera_id].needs_redraw
            )
            zoom = zooms.get(camera_id)
            window = zoom.window() if zoom is not None else (0.0, 0.0, 1.0, 1.0)
            self._draw_picture(cell, rect, atlas if has_picture else None, index, info, window)
            self._draw_header(cell, rect, info)
            self._draw_recording(cell, info, rect.x, rect.y + rect.h, rect.w, blink)
            self._draw_motion(cell, info, rect.x + rect.w, rect.y + rect.h)
            self._draw_mode_and_alarm(cell, info, rect, blink, zoom.label() if zoom else "")
            border = border_style(
                empty=False,
                drop_target=camera_id == drop_target,
                panic=info.panic,
                selected=camera_id == selected,
            )
            self._draw_border(cell, rect, border)

    def _draw_empty(self, cell: TileCell, rect: Rect) -> None:
        """An empty cell is the bare background, outlined, with "empty" in its corner."""
        self._drop_image(cell)
        for item in (cell.background, cell.shade, cell.header, cell.title, cell.badge, cell.fps):
            self._drawn.set(item, show=False)
        for item in (cell.rec_bg, cell.rec_dot, cell.rec_text, cell.motion_bg, cell.motion_text):
            self._drawn.set(item, show=False)
        for item in (cell.mode_bg, cell.mode, cell.alarm_bg, cell.alarm_text):
            self._drawn.set(item, show=False)
        self._draw_border(
            cell,
            rect,
            border_style(empty=True, drop_target=False, panic=False, selected=False),
        )
        self._drawn.set(
            cell.reason,
            show=True,
            pos=(rect.x + 10, rect.y + 10),
            text="empty",
            color=theme.TEXT_DIM,
        )

    def _draw_border(self, cell: TileCell, rect: Rect, border: Border | None) -> None:
        """The one place a tile's border is drawn."""
        if border is None:
            self._drawn.set(cell.border, show=False)
            return
        inset = border.inset
        self._drawn.set(
            cell.border,
            show=True,
            pmin=(rect.x + inset, rect.y + inset),
            pmax=(rect.x + rect.w - inset, rect.y + rect.h - inset),
            color=border.color,
            thickness=border.thickness,
        )

    def _draw_picture(
        self,
        cell: TileCell,
        rect: Rect,
        atlas: Atlas | None,
        index: int,
        info: TileInfo,
        window: tuple[float, float, float, float],
    ) -> None:
        """The ``window`` (fractions of the picture: the digital zoom) of the camera's region of
        ``atlas`` (None: no picture of it yet), shaded with the reason over it when it is not
        live."""
        x0, y0, x1, y1 = rect.x, rect.y, rect.x + rect.w, rect.y + rect.h
        if atlas is not None:
            region = atlas.regions[index]
            shown = picture_rect(rect, (region.w, region.h))
            (u0, v0), (u1, v1) = atlas.uv(index)
            left, top, right, bottom = window
            corners = {
                "pmin": (shown.x, shown.y),
                "pmax": (shown.x + shown.w, shown.y + shown.h),
                "uv_min": (u0 + left * (u1 - u0), v0 + top * (v1 - v0)),
                "uv_max": (u0 + right * (u1 - u0), v0 + bottom * (v1 - v0)),
            }
            if cell.image is None or cell.image_texture != atlas.tag:
                # An image's texture is fixed when it is made: replace the draw item.
                self._drop_image(cell)
                cell.image = int(
                    dpg.draw_image(atlas.tag, **corners, parent=cell.node, before=cell.shade)
                )
                cell.image_texture = atlas.tag
                self._drawn.made(cell.image, **corners)
            self._drawn.set(cell.image, **corners)
        else:
            self._drop_image(cell)
        has_picture = atlas is not None
        live = info.shows_video and info.state not in (STALLED, MAIN_DOWN)
        self._drawn.set(cell.shade, show=has_picture and not live, pmin=(x0, y0), pmax=(x1, y1))
        # The reason goes between the mode line and the bottom badges, as many lines as fit.
        band_top = y0 + theme.HEADER_PX + 26
        fits = min(4, (y1 - 30 - band_top) // 20)
        if info.reason and not live and fits > 0:
            lines = wrap(info.reason, max(8, (x1 - x0 - 24) // CHAR_PX))[:fits]
            self._drawn.set(
                cell.reason,
                show=True,
                pos=(x0 + 12, max(band_top, (band_top + y1 - 30) // 2 - 10 * len(lines))),
                text="\n".join(lines),
                color=theme.TEXT,
            )
        else:
            self._drawn.set(cell.reason, show=False)
        # Under llvmpipe every filled pixel costs: no background under a picture.
        self._drawn.set(
            cell.background,
            show=not has_picture,
            pmin=(x0, y0),
            pmax=(x1, y1),
            fill=theme.TILE_PLACEHOLDER,
        )

    def _draw_header(self, cell: TileCell, rect: Rect, info: TileInfo) -> None:
        """The title bar: name, state badge, fps."""
        x0, y0, x1 = rect.x, rect.y, rect.x + rect.w
        label_px = CHAR_PX * len(info.state_label)
        self._drawn.set(cell.header, show=True, pmin=(x0, y0), pmax=(x1, y0 + theme.HEADER_PX))
        self._drawn.set(
            cell.title, show=True, pos=(x0 + 6, y0 + 3), text=fit(info.title, rect.w - 130)
        )
        self._drawn.set(
            cell.badge,
            show=True,
            pos=(x1 - 8 - label_px, y0 + 4),
            text=info.state_label,
            color=theme.STATE_COLORS.get(info.state, theme.TEXT_DIM),
        )
        fps_text = f"{info.fps:.0f} fps" if info.shows_video else ""
        if info.picture and fps_text:
            fps_text = f"{info.picture} · {fps_text}"
        fps_px = CHAR_PX * len(fps_text) + 14
        self._drawn.set(
            cell.fps, show=bool(fps_text), pos=(x1 - fps_px - label_px, y0 + 4), text=fps_text
        )

    def _drop_image(self, cell: TileCell) -> None:
        """Delete the cell's image item (before its texture may be deleted)."""
        if cell.image is not None:
            dpg.delete_item(cell.image)
            self._drawn.forget(cell.image)
        cell.image = None
        cell.image_texture = None

    def _draw_recording(
        self, cell: TileCell, info: TileInfo, x0: int, y1: int, width_px: int, blink: bool
    ) -> None:
        if info.recording is None:
            for item in (cell.rec_bg, cell.rec_dot, cell.rec_text):
                self._drawn.set(item, show=False)
            return
        # Left of the MOTION badge (76 px at the right) on a narrow tile: cut, never under it.
        text = fit(info.recording, width_px - 38 - (84 if info.motion else 0))
        width = 26 + CHAR_PX * len(text)
        top = y1 - 26
        color = theme.REC if info.recording_confirmed else theme.PENDING
        self._drawn.set(cell.rec_bg, show=True, pmin=(x0 + 6, top), pmax=(x0 + 6 + width, y1 - 6))
        dot_on = info.recording_confirmed or blink
        self._drawn.set(
            cell.rec_dot, show=dot_on, center=(x0 + 17, top + 10), color=color, fill=color
        )
        self._drawn.set(cell.rec_text, show=True, pos=(x0 + 27, top + 3), text=text)

    def _draw_motion(self, cell: TileCell, info: TileInfo, x1: int, y1: int) -> None:
        show = info.motion
        self._drawn.set(cell.motion_bg, show=show, pmin=(x1 - 76, y1 - 26), pmax=(x1 - 6, y1 - 6))
        self._drawn.set(cell.motion_text, show=show, pos=(x1 - 69, y1 - 23))

    def _draw_mode_and_alarm(
        self, cell: TileCell, info: TileInfo, rect: Rect, blink: bool, zoom: str
    ) -> None:
        """Under the title bar: the recording mode (and the digital zoom) at the left, the
        camera's alarm at the right (red, flashing, until acknowledged; amber while it lasts
        after)."""
        top = rect.y + theme.HEADER_PX + 4
        alarm = fit(info.alarm, rect.w // 2) if info.alarm else ""
        alarm_px = CHAR_PX * len(alarm) + 12 if alarm else 0
        room = rect.w - 16 - (alarm_px + 8 if alarm else 0)  # the alarm chip has the right
        mode = " · ".join(text for text in (zoom, info.mode) if text)
        mode = fit(mode, room - 8) if room >= 6 * CHAR_PX else ""
        mode_px = CHAR_PX * len(mode) + 8
        self._drawn.set(
            cell.mode_bg,
            show=bool(mode),
            pmin=(rect.x + 4, top - 2),
            pmax=(rect.x + 4 + mode_px, top + 17),
        )
        self._drawn.set(cell.mode, show=bool(mode), pos=(rect.x + 8, top), text=mode)
        if not alarm:
            self._drawn.set(cell.alarm_bg, show=False)
            self._drawn.set(cell.alarm_text, show=False)
            return
        x1 = rect.x + rect.w - 6
        fill = (theme.ALARM_BG if blink else theme.REC_BG) if info.alarm_urgent else theme.WARN_BG
        self._drawn.set(
            cell.alarm_bg, show=True, pmin=(x1 - alarm_px, top - 2), pmax=(x1, top + 17), fill=fill
        )
        self._drawn.set(cell.alarm_text, show=True, pos=(x1 - alarm_px + 6, top), text=alarm)
