"""The console's logs view scrolling 100,000 entries: frame times while it moves a page a frame.

The System view's Logs tab (``gui.system.logs_tab``) runs in a real Dear PyGui viewport on a
private Xvfb, its list filled with ``ENTRIES`` entries; every frame scrolls one page (PageDown,
then back up from the end), which redraws every row on screen. The peer, in the same process, is
the same tab with an empty list: what a frame costs without the entries.

Target (from the issue): scrolling at the console's normal frame rate, 30 fps (p95 frame under
33.3 ms including the render).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.display import VirtualDisplay, xvfb_available

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = 100_000
FRAME_MS = 1000.0 / 30


class _NoEngine:
    """The tab asks nothing while its list is complete and not following."""

    def ask(self, query: Any) -> int:
        return 0

    def answer(self, ticket: int) -> None:
        return None


def probe(frames: int) -> dict[str, Any]:
    import dearpygui.dearpygui as dpg

    from gui.link import Snapshot
    from gui.panel import Feedback
    from gui.system.logs_tab import LogsTab

    rows = [
        {
            "id": i,
            "ts_ns": 1_800_000_000_000_000_000 - i * 10**7,
            "level": ("INFO", "WARNING", "ERROR")[i % 3],
            "camera_id": f"cam{i % 16}",
            "component": "nvr.worker.recorder",
            "message": f"closed segment cam/2026-12-06/seg-{i}.mp4 (60.0 s, {i} bytes)",
        }
        for i in range(ENTRIES)
    ]
    dpg.create_context()
    try:
        tab = LogsTab(_NoEngine(), Feedback())  # type: ignore[arg-type]
        with dpg.window(width=1280, height=720, no_title_bar=True) as window:
            tab.build(int(window))
        dpg.create_viewport(width=1280, height=720, vsync=False)
        dpg.setup_dearpygui()
        dpg.show_viewport()
        tab.resize(1280, 700)
        tab.list.follow = False
        tab.list.exhausted = True
        engine = Snapshot(True, None, None, 0.0, 0.0)

        def frames_ms() -> list[float]:
            times: list[float] = []
            step = tab.visible
            for n in range(frames):
                started = time.perf_counter()
                if tab.list.top + tab.visible >= len(tab.list.entries):
                    step = -tab.visible
                elif tab.list.top == 0:
                    step = tab.visible
                tab.scroll(step)
                tab.update(time.monotonic(), engine, True)
                dpg.render_dearpygui_frame()
                if n >= 10:  # the first frames build the font atlas
                    times.append((time.perf_counter() - started) * 1000)
            return times

        empty = frames_ms()  # the peer: the same tab, nothing to show
        tab.list.add_older(rows)
        tab.list.exhausted = True
        full = frames_ms()
    finally:
        dpg.destroy_context()
    return {"full_ms": full, "empty_ms": empty}


def logs_view_rows(quick: bool) -> list[Any]:
    from bench.measure import make_row, percentile

    if not xvfb_available():
        raise RuntimeError("Xvfb or ffmpeg missing: run scripts/setup.sh")
    frames = 150 if quick else 600
    with VirtualDisplay(1280, 720) as display:
        result = subprocess.run(
            [sys.executable, "-m", "bench.logs_view", "--frames", str(frames)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
            env=display.env,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"logs view probe failed: {result.stderr[-1500:]}")
    found = json.loads(result.stdout.strip().splitlines()[-1])
    full, empty = found["full_ms"], found["empty_ms"]
    p95 = percentile(full, 0.95)
    return [
        make_row(
            f"logs view: scroll {ENTRIES:,} entries a page a frame, p95 frame",
            "ms",
            p95,
            percentile(empty, 0.95),
            below=FRAME_MS,
            group="console",
            note=f"median {percentile(full, 0.5):.1f} ms; peer: the empty list "
            f"({percentile(empty, 0.95):.1f} ms p95); target: 30 fps with the render",
            detail={"frames": len(full)},
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description="the logs view probe (needs DISPLAY)")
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(probe(args.frames)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
