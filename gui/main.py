"""``nvr console``: find the engine, open the window, render until it is closed."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
from pathlib import Path

from nvr.config import Config
from nvr.errors import NvrError

log = logging.getLogger(__name__)


def api_address(config: Config | None, api: str | None) -> str:
    """The engine's API URL: ``--api``, else the config's ``api`` section (or its run file)."""
    if api:
        return api if "://" in api else f"http://{api}"
    if config is None:
        return "http://127.0.0.1:8765"
    if config.api.port == 0:  # a free port picked at start: the engine wrote it down
        run_file = Path(config.storage.path) / "run" / "engine.json"
        try:
            return str(json.loads(run_file.read_text())["api"])
        except (OSError, ValueError, KeyError) as err:
            raise NvrError(
                f"api.port is 0 and {run_file} is unreadable ({err}); start the engine first "
                "or give the console its address with --api"
            ) from err
    host = "[::1]" if config.api.host == "::1" else config.api.host
    return f"http://{host}:{config.api.port}"


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
    api: str,
    state_path: Path | None = None,
    size: tuple[int, int] = (1280, 720),
    max_fps: float = 60.0,
) -> int:
    """Open the console on the engine at ``api``; returns when the window is closed."""
    problem = display_problem()
    if problem:
        raise NvrError(problem)
    from gui.kernel import warm
    from gui.link import EngineLink
    from gui.shell import Console
    from gui.view import ViewState, default_state_path

    path = state_path or default_state_path()
    log.info("scale kernel ready in %.1f s", warm())
    console = Console(EngineLink(api), ViewState.load(path), path, size=size, max_fps=max_fps)
    for sig in (signal.SIGINT, signal.SIGTERM):  # close the window cleanly, layout saved
        signal.signal(sig, lambda *_: console.quit())
    log.info("console attached to %s (layout saved in %s)", api, path)
    console.run()
    return 0
