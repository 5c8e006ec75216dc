"""The events list: one camera's motion events (and, by filter, its gaps) on one day, newest
first, a thumbnail, time, duration and confidence per row; a click plays it.

A page of ``ROWS`` rows at a time, each with a texture of its own in a fixed pool (no item is
made or deleted while scrolling through a busy day).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import dearpygui.dearpygui as dpg
import numpy as np

from gui import theme
from gui.draw import Drawn, wrap
from gui.playback.library import DayList
from gui.playback.model import PlaybackModel

ROWS = 7
THUMB_W, THUMB_H = 96, 54
WIDTH_PX = 300
DAY_NS = 86_400 * 1_000_000_000
KINDS = ("motion", "gaps", "all")
_KIND_WORDS = {"motion": "motion events", "gaps": "gaps", "all": "events and gaps"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One row: an event or a gap."""

    start_ns: int
    end_ns: int | None
    text: str
    thumb: tuple[Any, ...] | None  # the library's thumbnail key


def entries(day: DayList, kind: str) -> list[Entry]:
    """The rows of ``day`` for the filter ``kind``, newest first."""
    rows: list[Entry] = []
    if kind in ("motion", "all"):
        for ev in day.events:
            if ev.end_ns is None:
                lasted = "going on"
            else:
                lasted = f"{(ev.end_ns - ev.start_ns) / 1e9:.0f} s  {ev.confidence * 100:.0f}%"
            text = f"{_clock(ev.start_ns)}  motion  {lasted}"
            rows.append(Entry(ev.start_ns, ev.end_ns, text, ("event", ev.id)))
    if kind in ("gaps", "all"):
        for gap in day.gaps:
            seconds = (gap.end_ns - gap.start_ns) / 1e9 if gap.end_ns is not None else None
            lasted = f"{seconds:.0f} s" if seconds is not None else "going on"
            rows.append(
                Entry(
                    gap.start_ns,
                    gap.end_ns,
                    f"{_clock(gap.start_ns)}  gap  {lasted}: {gap.cause}",
                    None,
                )
            )
    rows.sort(key=lambda e: e.start_ns, reverse=True)
    return rows


def day_start(at_ns: int) -> int:
    """Local midnight at or before ``at_ns``."""
    moment = time.localtime(at_ns // 1_000_000_000)
    midnight = time.mktime((moment.tm_year, moment.tm_mon, moment.tm_mday, 0, 0, 0, 0, 0, -1))
    return int(midnight) * 1_000_000_000


class EventsList:
    """The list in the current container."""

    def __init__(
        self,
        model: PlaybackModel,
        drawn: Drawn,
        thumbnail: Callable[[tuple[Any, ...]], np.ndarray | None],
    ) -> None:
        self.model = model
        self._drawn = drawn
        self._thumbnail = thumbnail
        self.kind = "motion"
        self.day_ns = day_start(model.cursor_ns)
        self.page = 0
        self.rows: list[Entry] = []
        self._shown_pictures: list[Any] = [None] * ROWS
        with dpg.group(horizontal=True):
            dpg.add_button(label="◀", callback=lambda *_: self.turn_day(-1))
            self.day_label = int(dpg.add_text(""))
            dpg.add_button(label="▶", callback=lambda *_: self.turn_day(1))
            self.kind_combo = int(
                dpg.add_combo(
                    list(KINDS), default_value=self.kind, width=80, callback=self._on_kind
                )
            )
        self.camera_label = int(dpg.add_text("", color=theme.TEXT_DIM))
        self.buttons: list[int] = []
        self.images: list[int] = []
        self.textures: list[int] = []
        with dpg.texture_registry():
            for _ in range(ROWS):
                blank = np.zeros((THUMB_H, THUMB_W, 4), np.float32)
                self.textures.append(int(dpg.add_dynamic_texture(THUMB_W, THUMB_H, blank.ravel())))
        for i in range(ROWS):
            with dpg.group(horizontal=True):
                self.images.append(
                    int(dpg.add_image(self.textures[i], width=THUMB_W, height=THUMB_H))
                )
                self.buttons.append(
                    int(
                        dpg.add_button(
                            label="",
                            width=WIDTH_PX - THUMB_W - 12,
                            height=THUMB_H,
                            callback=lambda *_, i=i: self.play(i),
                        )
                    )
                )
        with dpg.group(horizontal=True):
            dpg.add_button(label="Newer", callback=lambda *_: self.turn_page(-1))
            self.page_label = int(dpg.add_text(""))
            dpg.add_button(label="Older", callback=lambda *_: self.turn_page(1))

    def turn_day(self, step: int) -> None:
        self.day_ns = day_start(self.day_ns + step * DAY_NS + DAY_NS // 2)
        self.page = 0

    def turn_page(self, step: int) -> None:
        pages = max(1, -(-len(self.rows) // ROWS))
        self.page = min(pages - 1, max(0, self.page + step))

    def play(self, index: int) -> None:
        i = self.page * ROWS + index
        if i < len(self.rows):
            self.model.seek(self.rows[i].start_ns)
            self.model.playing = True

    def _on_kind(self, _sender: Any, value: str) -> None:
        self.kind = value
        self.page = 0

    def update(self, day: DayList | None, camera_name: str | None) -> None:
        self.rows = entries(day, self.kind) if day is not None else []
        self._drawn.set(
            self.day_label,
            default_value=time.strftime(
                "%a %d %b %Y", time.localtime(self.day_ns // 1_000_000_000)
            ),
        )
        self._drawn.set(
            self.camera_label,
            default_value=f"{camera_name}: {len(self.rows)} {_KIND_WORDS[self.kind]}"
            if camera_name
            else "Add a camera to see its events",
        )
        pages = max(1, -(-len(self.rows) // ROWS))
        self.page = min(self.page, pages - 1)
        self._drawn.set(self.page_label, default_value=f"{self.page + 1}/{pages}")
        for k in range(ROWS):
            i = self.page * ROWS + k
            entry = self.rows[i] if i < len(self.rows) else None
            self._drawn.set(
                self.buttons[k],
                label="\n".join(wrap(entry.text, 22)[:3]) if entry else "",
                show=entry is not None,
            )
            picture = self._thumbnail(entry.thumb) if entry is not None and entry.thumb else None
            self._drawn.set(self.images[k], show=entry is not None)
            if picture is not self._shown_pictures[k]:
                self._shown_pictures[k] = picture
                pixels: np.ndarray = np.zeros((THUMB_H, THUMB_W, 4), np.float32)
                if picture is not None:
                    pixels = cv2.resize(picture, (THUMB_W, THUMB_H), interpolation=cv2.INTER_AREA)
                dpg.set_value(self.textures[k], np.ascontiguousarray(pixels, np.float32).ravel())


def _clock(ns: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ns // 1_000_000_000))
