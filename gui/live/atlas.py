"""The grid texture: one float32 RGBA raw texture holding every tile's picture, each in its own
region, written in place by the scale kernel (``docs/console.md`` measures why).

The texture is made once per layout, grid size and camera size; each region is the tile's
picture without letterbox bars, at the tile's pixel size or the camera's if smaller
(``tile_region``). Hidden tiles are not converted. A replaced texture is deleted ``RETIRE_FRAMES``
frames later, once no image draws it (deleting a texture in use crashes Dear PyGui). The
conversion rate per tile is capped by the grid size (``tile_fps_cap``, on the camera's clock)
and shares a time budget per frame.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import dearpygui.dearpygui as dpg
import numpy as np

from gui.feeds import Feed
from gui.view import Layout, Rect, layout_rects
from native.texture import letterbox

RETIRE_FRAMES = 3  # frames a replaced texture is kept before deletion
CONVERT_BUDGET_S = 0.012  # conversion time per render frame before tiles take turns
# A frame captured 70% of the capped interval after the last one shown is converted: the cap
# is a ceiling, not a metronome, or a 15 fps camera with jittery timestamps would lose frames.
_CAP_SLACK = 0.7

Cells = list[tuple[str | None, Rect]]  # (camera or None, rectangle) of each cell on screen


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
class Atlas:
    """One raw texture holding every tile of the grid, each in its own region.

    One texture instead of one per tile: under llvmpipe nine 640x338 textures took 33 ms a frame
    to upload and draw against 19 ms for one texture of the same pixels (each texture update
    synchronises with the renderer).
    """

    tag: int
    pixels: np.ndarray  # (h, w, 4) float32, C-contiguous, owned here for the texture's life
    key: tuple[Layout, int, int]  # the layout, and the width and height of one unit's region
    regions: list[Rect]  # per cell, in texture pixels, all of the same size
    owners: list[str | None]  # the camera whose picture each region holds (None: none yet)

    def uv(self, index: int) -> tuple[tuple[float, float], tuple[float, float]]:
        r = self.regions[index]
        h, w = self.pixels.shape[:2]
        return (r.x / w, r.y / h), ((r.x + r.w) / w, (r.y + r.h) / h)


class GridTexture:
    """The grid's current ``Atlas`` in a texture registry of its own, and the replaced ones until
    they can be deleted. Made inside a Dear PyGui context."""

    def __init__(self) -> None:
        self.registry = int(dpg.add_texture_registry())
        self.atlas: Atlas | None = None
        self._retired: list[tuple[int, int]] = []  # (texture tag, frame it was replaced in)
        self._frame = 0
        self._turn = 0

    def convert(self, cells: Cells, grid: Layout, feeds: Mapping[str, Feed], now: float) -> float:
        """Convert new frames of the cameras on screen into their regions, taking turns once the
        frame's budget is spent; returns the seconds spent."""
        shown = [(i, c) for i, (c, _) in enumerate(cells) if c is not None]
        if not shown:  # no texture at all: Dear PyGui would upload it every frame for nothing
            self._replace(None)
            return 0.0
        atlas = self._fit(cells, grid, feeds)
        cap = tile_fps_cap(len(shown))
        spent = 0.0
        start = self._turn % len(shown)
        for k in range(len(shown)):
            index, camera_id = shown[(start + k) % len(shown)]
            feed = feeds[camera_id]
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

    def end_frame(self) -> None:
        """Delete replaced textures once no image can still draw them (call once a frame, after
        the images were updated)."""
        keep = []
        for tag, retired_at in self._retired:
            if self._frame - retired_at >= RETIRE_FRAMES:
                dpg.delete_item(tag)
            else:
                keep.append((tag, retired_at))
        self._retired = keep
        self._frame += 1

    def _fit(self, cells: Cells, grid: Layout, feeds: Mapping[str, Feed]) -> Atlas:
        """The atlas for this layout, grid size and cameras' picture size (made again when one
        changes). Regions follow the layout's units: a large tile gets a large region."""
        rows, cols = grid.rows, grid.cols
        sources = [
            size
            for camera_id, _ in cells
            if camera_id is not None and (size := feeds[camera_id].source_size()) is not None
        ]
        unit = [
            rect for (_, rect), span in zip(cells, grid.spans, strict=False) if span[2:] == (1, 1)
        ]
        unit_w, unit_h = (unit[0].w, unit[0].h) if unit else (cells[0][1].w, cells[0][1].h)
        if not unit:  # one cell of several units (no layout has one yet): its unit's share
            unit_w, unit_h = unit_w // grid.spans[0][3], unit_h // grid.spans[0][2]
        width, height = tile_region(max(1, unit_w), max(1, unit_h), sources)
        key = (grid, width, height)
        if self.atlas is not None and self.atlas.key == key:
            return self.atlas
        pixels = np.zeros((rows * height, cols * width, 4), np.float32)
        pixels[..., 3] = 1.0
        tag = dpg.add_raw_texture(
            cols * width,
            rows * height,
            pixels,
            format=dpg.mvFormat_Float_rgba,
            parent=self.registry,
        )
        regions = layout_rects(grid, Rect(0, 0, cols * width, rows * height), gap=0)
        atlas = Atlas(int(tag), pixels, key, regions, [None] * len(regions))
        self._replace(atlas)
        return atlas

    def _replace(self, atlas: Atlas | None) -> None:
        if self.atlas is not None:
            self._retired.append((self.atlas.tag, self._frame))
        self.atlas = atlas
