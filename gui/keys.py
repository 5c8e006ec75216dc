"""Key codes that Dear PyGui 2 reports but names wrongly.

Its key-press handler reports ImGui's key codes (``ImGuiKey_*``). Most ``dpg.mvKey_*`` constants
match them, but ``mvKey_Prior`` and ``mvKey_Next`` (266, 267) are GLFW's codes for PageUp and
PageDown, which never arrive, and there is no constant for ``=``. Measured under Xvfb with
xdotool: PageUp 517, PageDown 518, ``=`` 602 (``+`` is Shift and ``=``).
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

PAGE_UP = 517
PAGE_DOWN = 518
EQUAL = 602


def ctrl_down() -> bool:
    """Either Ctrl key is held now."""
    return bool(dpg.is_key_down(dpg.mvKey_LControl) or dpg.is_key_down(dpg.mvKey_RControl))
