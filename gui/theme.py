"""Colours, sizes and Dear PyGui themes of the console: dark, dense, readable at a glance."""

from __future__ import annotations

import logging
from pathlib import Path

import dearpygui.dearpygui as dpg

log = logging.getLogger(__name__)

Color = tuple[int, int, int, int]

BACKGROUND: Color = (14, 16, 20, 255)
TILE_EMPTY: Color = (24, 27, 33, 255)
TILE_PLACEHOLDER: Color = (32, 35, 42, 255)
HEADER: Color = (0, 0, 0, 150)
TEXT: Color = (230, 232, 236, 255)
TEXT_DIM: Color = (150, 155, 165, 255)
ACCENT: Color = (64, 156, 255, 255)  # selection
DROP_TARGET: Color = (255, 255, 255, 200)
LIVE: Color = (70, 200, 110, 255)
WARN: Color = (245, 180, 50, 255)
ERROR: Color = (240, 70, 70, 255)
REC: Color = (235, 40, 40, 255)
REC_BG: Color = (130, 0, 0, 235)  # nearly opaque: a bright picture must not tint it amber
PENDING: Color = (245, 180, 50, 255)
MOTION: Color = (255, 140, 0, 255)
MOTION_BG: Color = (110, 55, 0, 190)
PANIC: Color = (255, 30, 30, 255)
PANIC_BG: Color = (150, 0, 0, 235)
SHADE: Color = (0, 0, 0, 140)
ALARM_BG: Color = (200, 20, 20, 240)
WARN_BG: Color = (120, 80, 0, 235)

STATE_COLORS: dict[str, Color] = {
    "live": LIVE,
    "waiting": LIVE,
    "stalled": WARN,
    "starting": WARN,
    "offline": ERROR,
    "main down": ERROR,
    "error": ERROR,
    "disabled": TEXT_DIM,
    "no engine": ERROR,
}

FONT_PX = 15
SMALL_PX = 13
HEADER_PX = 22  # height of a tile's title bar
TOOLBAR_PX = 34
STATUS_PX = 26
BANNER_PX = 28  # panic banner over the grid
SPACING_PX = 4  # vertical space between stacked items (mvStyleVar_ItemSpacing)

_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
)


_MONO_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
)


def load_mono_font() -> int | None:
    """A fixed-width font for lists read in columns (the logs), if one is installed."""
    path = next((p for p in _MONO_FONTS if Path(p).exists()), None)
    if path is None:
        return None
    with dpg.font_registry():
        font = dpg.add_font(path, FONT_PX - 1)
    return int(font)


def load_font() -> int | None:
    """A clear sans font with the symbols the console uses (● ■ ◀ ▶ … ·), if one is installed."""
    path = next((p for p in _FONTS if Path(p).exists()), None)
    if path is None:
        log.info("no DejaVu or Noto font installed; using Dear PyGui's built-in font")
        return None
    with dpg.font_registry():  # Dear PyGui 2.x loads the glyphs a string needs on demand
        font = dpg.add_font(path, FONT_PX)
    return int(font)


def global_theme() -> int:
    with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
        # Windows are see-through onto the viewport's clear colour (BACKGROUND): under Mesa
        # llvmpipe a full-screen fill costs milliseconds a frame, a clear almost nothing.
        dpg.add_theme_color(dpg.mvThemeCol_WindowBg, (0, 0, 0, 0))
        dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (0, 0, 0, 0))
        dpg.add_theme_color(dpg.mvThemeCol_PopupBg, (28, 31, 38, 250))
        dpg.add_theme_color(dpg.mvThemeCol_Text, TEXT)
        dpg.add_theme_color(dpg.mvThemeCol_Button, (44, 48, 58, 255))
        dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, (62, 68, 82, 255))
        dpg.add_theme_color(dpg.mvThemeCol_ButtonActive, (80, 88, 106, 255))
        dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 0, 0)
        dpg.add_theme_style(dpg.mvStyleVar_FramePadding, 8, 5)
        dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 4, SPACING_PX)
        dpg.add_theme_style(dpg.mvStyleVar_FrameRounding, 3)
        dpg.add_theme_style(dpg.mvStyleVar_WindowBorderSize, 0)
    return int(theme)


def button_theme(base: Color, hovered: Color, text: Color = TEXT) -> int:
    with dpg.theme() as theme, dpg.theme_component(dpg.mvButton):
        dpg.add_theme_color(dpg.mvThemeCol_Button, base)
        dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, hovered)
        dpg.add_theme_color(dpg.mvThemeCol_ButtonActive, hovered)
        dpg.add_theme_color(dpg.mvThemeCol_Text, text)
    return int(theme)


def popup_theme() -> int:
    with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
        dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 8, 8)
    return int(theme)
