"""The timeline strip: one lane per camera with its recordings coloured by type, gaps, motion
markers, the cursor and the export marks, under a ruler of wall-clock times.

The lanes are drawn again only when the timeline's data, its view or its size change; the
cursor, the marks and the hover (a time and a thumbnail) move every frame. Mouse: the wheel
zooms around the pointer (30 days down to 2 seconds), a click jumps, a drag scrubs (pictures
follow from keyframes) and the release lands on the exact frame.
"""

from __future__ import annotations

import time
from typing import Any

import dearpygui.dearpygui as dpg
import numpy as np

from gui import theme
from gui.draw import Drawn
from gui.playback.model import PlaybackModel
from nvr.storage.timeline import Timeline

RULER_PX = 20
LANE_PX = 24
LANE_GAP_PX = 3
HOVER_W, HOVER_H = 160, 90
ZOOM_STEP = 0.8  # per wheel notch
TYPE_COLORS: dict[str, theme.Color] = {
    "continuous": (56, 150, 110, 255),
    "motion": (235, 140, 30, 255),
    "scheduled": (70, 120, 210, 255),
    "manual": (150, 90, 210, 255),
    "panic": (230, 50, 50, 255),
    "missing": (90, 90, 96, 255),
}
GAP_COLOR: theme.Color = (120, 30, 30, 255)
EVENT_COLOR: theme.Color = (255, 210, 60, 255)
CURSOR_COLOR: theme.Color = (255, 255, 255, 255)
MARK_COLOR: theme.Color = (64, 156, 255, 70)
_STEPS_S = (
    0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400,
    2 * 86400, 7 * 86400,
)  # fmt: skip


def strip_height(lanes: int) -> int:
    return RULER_PX + max(1, lanes) * (LANE_PX + LANE_GAP_PX) + 4


class Strip:
    """The strip's drawlist in the current container, and its mouse handlers."""

    def __init__(self, model: PlaybackModel, drawn: Drawn, thumbnail: Any) -> None:
        self.model = model
        self._drawn = drawn
        self._thumbnail = thumbnail  # (camera, ns) -> RGBA picture or None (asks for it)
        self.width, self.height = 1, strip_height(1)
        self.drawlist = int(dpg.add_drawlist(width=1, height=self.height))
        self._static = int(dpg.add_draw_node(parent=self.drawlist))
        self._marks = int(
            dpg.draw_rectangle(
                (0, 0), (0, 0), parent=self.drawlist, fill=MARK_COLOR, color=(0, 0, 0, 0)
            )
        )
        self._cursor = int(
            dpg.draw_line((0, 0), (0, 0), parent=self.drawlist, color=CURSOR_COLOR, thickness=2)
        )
        self._hover_line = int(
            dpg.draw_line((0, 0), (0, 0), parent=self.drawlist, color=(255, 255, 255, 90))
        )
        self._hover_back = int(
            dpg.draw_rectangle(
                (0, 0), (0, 0), parent=self.drawlist, fill=(14, 16, 20, 230), color=(0, 0, 0, 0)
            )
        )
        self._hover_text = int(
            dpg.draw_text((0, 0), "", parent=self.drawlist, color=theme.TEXT, size=theme.SMALL_PX)
        )
        with dpg.texture_registry():
            pixels = np.zeros((HOVER_H, HOVER_W, 4), np.float32)
            self.preview_texture = int(dpg.add_dynamic_texture(HOVER_W, HOVER_H, pixels.ravel()))
        # Where the hovered time's thumbnail goes (x in the strip), or None: the panel draws it
        # over the bottom of the pictures (a drawlist clips what is drawn outside it).
        self.preview_x: float | None = None
        self._drawn_key: tuple[Any, ...] | None = None
        self._growing: dict[str, tuple[int, int, str]] = {}
        self._pressed = False
        self._hover_picture: Any = None
        self.hover_ns: int | None = None
        with dpg.handler_registry():
            dpg.add_mouse_wheel_handler(callback=self._on_wheel)
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Left, callback=self._on_press)
            dpg.add_mouse_release_handler(button=dpg.mvMouseButton_Left, callback=self._on_release)

    # -- geometry ------------------------------------------------------------------------------

    def resize(self, width: int, lanes: int) -> None:
        height = strip_height(lanes)
        if (width, height) != (self.width, self.height):
            self.width, self.height = max(1, width), height
            dpg.configure_item(self.drawlist, width=self.width, height=self.height)

    def x_of(self, ns: int) -> float:
        start, end = self.model.window
        return (ns - start) / max(1, end - start) * self.width

    def ns_at(self, x: float) -> int:
        start, end = self.model.window
        return start + int(min(max(x, 0.0), self.width) / self.width * (end - start))

    def _mouse_x(self) -> float | None:
        """The pointer's x in the strip when it is over it, else None."""
        if not dpg.is_item_hovered(self.drawlist):
            return None
        mx, _ = dpg.get_mouse_pos(local=False)
        return mx - dpg.get_item_rect_min(self.drawlist)[0]

    # -- drawing -------------------------------------------------------------------------------

    def update(
        self,
        data: Timeline | None,
        names: dict[str, str],
        growing: dict[str, tuple[int, int, str]] | None = None,
    ) -> None:
        """Draw again what changed; ``growing``: each camera's segment being written."""
        model = self.model
        self._growing = growing or {}
        key = (
            id(data),
            model.window,
            self.width,
            self.height,
            tuple(model.cameras),
            str(self._growing),
        )
        if key != self._drawn_key:
            self._drawn_key = key
            dpg.delete_item(self._static, children_only=True)
            self._draw_ruler()
            for lane, camera_id in enumerate(model.cameras):
                self._draw_lane(lane, camera_id, data, names.get(camera_id, camera_id))
        if self._pressed:
            x = self._mouse_x_anywhere()
            model.scrub(self.ns_at(x))
        cx = self.x_of(model.cursor_ns)
        self._drawn.set(self._cursor, p1=(cx, 0), p2=(cx, self.height))
        marks = model.marks
        if marks.start_ns is not None:
            a = self.x_of(marks.start_ns)
            b = self.x_of(marks.end_ns) if marks.end_ns is not None else a + 2
            self._drawn.set(
                self._marks, pmin=(a, RULER_PX), pmax=(max(a + 2, b), self.height), show=True
            )
        else:
            self._drawn.set(self._marks, show=False)
        self._draw_hover()

    def _draw_ruler(self) -> None:
        start, end = self.model.window
        span_s = (end - start) / 1e9
        step = next((s for s in _STEPS_S if s / span_s * self.width >= 90), _STEPS_S[-1])
        step_ns = int(step * 1e9)
        offset = time.localtime(start // 1_000_000_000).tm_gmtoff * 1_000_000_000
        first = ((start + offset) // step_ns + 1) * step_ns - offset
        fmt = "%H:%M:%S" if step < 60 else "%H:%M" if step < 86400 else "%a %d %b"
        parent = self._static
        dpg.draw_rectangle(
            (0, 0),
            (self.width, RULER_PX),
            parent=parent,
            fill=(20, 22, 27, 255),
            color=(0, 0, 0, 0),
        )
        t = first
        while t < end:
            x = self.x_of(t)
            label = time.strftime(fmt, time.localtime(t // 1_000_000_000))
            if step < 1:
                label += f".{t // 100_000_000 % 10}"
            elif step >= 3600 and time.localtime(t // 1_000_000_000).tm_hour == 0 and step < 86400:
                label = time.strftime("%d %b", time.localtime(t // 1_000_000_000))
            dpg.draw_line(
                (x, RULER_PX - 5), (x, self.height), parent=parent, color=(60, 64, 74, 255)
            )
            dpg.draw_text(
                (x + 3, 2), label, parent=parent, color=theme.TEXT_DIM, size=theme.SMALL_PX
            )
            t += step_ns

    def _draw_lane(self, lane: int, camera_id: str, data: Timeline | None, name: str) -> None:
        parent = self._static
        top = RULER_PX + lane * (LANE_PX + LANE_GAP_PX) + 2
        bottom = top + LANE_PX
        dpg.draw_rectangle(
            (0, top),
            (self.width, bottom),
            parent=parent,
            fill=(26, 29, 35, 255),
            color=(0, 0, 0, 0),
        )
        cam = data.cameras.get(camera_id) if data is not None else None
        if cam is not None:
            if cam.spans is not None:
                for start, end, kind in cam.spans:
                    self._bar(
                        start,
                        end,
                        top + 4,
                        bottom - 4,
                        TYPE_COLORS.get(kind, TYPE_COLORS["continuous"]),
                    )
            else:
                assert data is not None
                for i, share in enumerate(cam.recorded):
                    if share <= 0:
                        continue
                    start = data.buckets_start_ns + i * data.bucket_ns
                    color = TYPE_COLORS.get(cam.kind[i] or "continuous", TYPE_COLORS["continuous"])
                    height = max(4, int((LANE_PX - 8) * share))  # a minute a month: seen
                    self._bar(
                        start, start + data.bucket_ns, bottom - 4 - height, bottom - 4, color, 2
                    )
            for gap_start, gap_end, _kind, _cause in cam.gaps:
                stop = gap_end if gap_end is not None else self.model.window[1]
                if stop > gap_start:
                    self._bar(gap_start, stop, top + 1, top + 4, GAP_COLOR)
            if cam.events is not None:
                for _id, start, _end, _conf in cam.events:
                    x = self.x_of(start)
                    dpg.draw_line(
                        (x, top), (x, bottom), parent=parent, color=EVENT_COLOR, thickness=1
                    )
            elif data is not None:
                for i, count in enumerate(cam.event_counts):
                    if count:
                        x = self.x_of(data.buckets_start_ns + i * data.bucket_ns)
                        dpg.draw_line(
                            (x, bottom - 3),
                            (x, bottom),
                            parent=parent,
                            color=EVENT_COLOR,
                            thickness=2,
                        )
        if camera_id in self._growing:  # being written: plays up to its last fragment
            start, end, kind = self._growing[camera_id]
            color = TYPE_COLORS.get(kind, TYPE_COLORS["continuous"])
            self._bar(start, end, top + 4, bottom - 4, (*color[:3], 150))
        label_w = 8 + len(name) * 7
        dpg.draw_rectangle(
            (0, top), (label_w, bottom), parent=parent, fill=(14, 16, 20, 200), color=(0, 0, 0, 0)
        )
        dpg.draw_text((4, top + 4), name, parent=parent, color=theme.TEXT, size=theme.SMALL_PX)

    def _bar(
        self,
        start: int,
        end: int,
        top: float,
        bottom: float,
        color: theme.Color,
        min_px: float = 1,
    ) -> None:
        """A bar from ``start`` to ``end`` (at least ``min_px`` wide), if it is in view."""
        a, b = max(0.0, self.x_of(start)), min(float(self.width), self.x_of(end))
        if b > a - 1 and b >= 0 and a <= self.width:
            dpg.draw_rectangle(
                (a, top),
                (max(a + min_px, b), bottom),
                parent=self._static,
                fill=color,
                color=(0, 0, 0, 0),
            )

    def _draw_hover(self) -> None:
        x = self._mouse_x()
        if x is None:
            self.hover_ns = None
            self.preview_x = None
            for item in (self._hover_line, self._hover_back, self._hover_text):
                self._drawn.set(item, show=False)
            return
        at = self.ns_at(x)
        self.hover_ns = at
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at // 1_000_000_000))
        lane = self._lane_at()
        tx = min(max(2.0, x + 6), self.width - 150)
        self._drawn.set(self._hover_line, p1=(x, 0), p2=(x, self.height), show=True)
        self._drawn.set(
            self._hover_back, pmin=(tx - 3, 1), pmax=(tx + 150, RULER_PX - 1), show=True
        )
        self._drawn.set(self._hover_text, pos=(tx, 3), text=stamp, show=True)
        picture = self._thumbnail(lane, at) if lane is not None else None
        if picture is not None and picture is not self._hover_picture:
            self._hover_picture = picture
            _fit_into(picture, self.preview_texture)
        self.preview_x = x if picture is not None else None

    def _lane_at(self) -> str | None:
        _, my = dpg.get_mouse_pos(local=False)
        y = my - dpg.get_item_rect_min(self.drawlist)[1] - RULER_PX
        lane = int(y // (LANE_PX + LANE_GAP_PX))
        cameras = self.model.cameras
        return cameras[lane] if 0 <= lane < len(cameras) else (cameras[0] if cameras else None)

    def _mouse_x_anywhere(self) -> float:
        mx, _ = dpg.get_mouse_pos(local=False)
        return mx - dpg.get_item_rect_min(self.drawlist)[0]

    # -- mouse ---------------------------------------------------------------------------------

    def _on_wheel(self, _sender: Any, delta: float) -> None:
        x = self._mouse_x()
        if x is None:
            return
        self.model.zoom(ZOOM_STEP ** float(delta), self.ns_at(x))

    def _on_press(self) -> None:
        x = self._mouse_x()
        if x is None:
            return
        self._pressed = True
        self.model.scrub(self.ns_at(x))

    def _on_release(self) -> None:
        if not self._pressed:
            return
        self._pressed = False
        self.model.release(self.ns_at(self._mouse_x_anywhere()))


def _fit_into(picture: np.ndarray, texture: int) -> None:
    """Copy a thumbnail into the hover texture (stretched to it: thumbnails are 16:9)."""
    import cv2

    pixels = cv2.resize(picture, (HOVER_W, HOVER_H), interpolation=cv2.INTER_AREA)
    dpg.set_value(texture, np.ascontiguousarray(pixels, np.float32).ravel())
