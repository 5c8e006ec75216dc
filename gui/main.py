"""``nvr console``'s window: check there is a display, open the console on the engine at an API
address (the CLI finds it with ``nvr.protocol.client.find_engine``), render until it is closed."""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

from nvr.errors import NvrError
from nvr.protocol.client import EngineAddress

log = logging.getLogger(__name__)


def display_problem() -> str | None:
    """Why no window can be opened here, or None (checked first: GLFW aborts the process)."""
    display = os.environ.get("DISPLAY", "")
    if not display and not os.environ.get("WAYLAND_DISPLAY"):
        return (
            "no display to open the console on (DISPLAY is not set); run it on the machine's "
            "desktop, through `ssh -X`, or under Xvfb (xvfb-run nvr console)"
        )
    local = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
    if local and not Path(f"/tmp/.X11-unix/X{local.group(1)}").exists():
        return (
            f"the X display {display} is not running (no /tmp/.X11-unix/X{local.group(1)}); "
            "start it or set DISPLAY to a running one"
        )
    return None


def run_console(
    engine: EngineAddress,
    state_path: Path | None = None,
    size: tuple[int, int] = (1280, 720),
    max_fps: float = 60.0,
    position: tuple[int, int] = (0, 0),
    locate: Callable[[], EngineAddress] | None = None,
    alarm_sound: str = "auto",
    operator: str | None = None,
) -> int:
    """Open the console on ``engine``; returns when the window is closed.

    ``locate`` finds the engine again when it stops answering (an engine restarted on a free
    port is found through its new run file, and with its new token)."""
    problem = display_problem()
    if problem:
        raise NvrError(problem)
    from gui.alarms.sound import Sounder, player_command
    from gui.kernel import warm
    from gui.link import EngineLink
    from gui.shell import Console
    from gui.view import ViewState, default_state_path

    path = state_path or default_state_path()
    log.info("scale kernel ready in %.1f s", warm())
    link = EngineLink(engine, locate=locate)
    console = Console(
        link,
        ViewState.load(path),
        path,
        size=size,
        max_fps=max_fps,
        position=position,
        sounder=Sounder(player_command(alarm_sound)),
        operator=operator,
    )
    for sig in (signal.SIGINT, signal.SIGTERM):  # close the window cleanly, layout saved
        signal.signal(sig, lambda *_: console.quit())
    log.info("console opening on the engine at %s (layout saved in %s)", engine.url, path)
    console.run()
    return 0
