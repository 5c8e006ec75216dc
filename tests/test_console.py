"""The console end to end: a real engine on synthetic cameras, the console under Xvfb, real
clicks and keys (xdotool), screenshots from the X server (kept in artifacts/console/)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from bench.display import VirtualDisplay, xvfb_available
from gui.theme import STATUS_PX, TOOLBAR_PX
from gui.view import Rect, ViewState
from nvr.demo import make_clip
from nvr.protocol.runfile import token_path
from tests.conftest import ARTIFACTS, ROOT, api_get, wait_for
from tests.support.cameras import free_port
from tests.support.console import HEIGHT, WIDTH, ConsoleProcess
from tests.support.onvif_camera import OnvifCamera

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not xvfb_available() or shutil.which("xdotool") is None,
        reason="Xvfb, ffmpeg or xdotool missing: run scripts/setup.sh",
    ),
]

SHOTS = ARTIFACTS / "console"
CLIPS = Path(tempfile.gettempdir()) / "nvr-test-clips"
REC_DOT = np.array([235, 40, 40])


def cells(layout: str) -> list[Rect]:
    """Tile rectangles in screen pixels, as the console lays them out."""
    view = ViewState(layout=layout)
    area = Rect(0, 0, WIDTH, HEIGHT - TOOLBAR_PX - STATUS_PX)
    return [Rect(r.x, r.y + TOOLBAR_PX, r.w, r.h) for r in view.rects(area)]


def picture(shot: np.ndarray, rect: Rect) -> np.ndarray:
    """The middle of a tile: clear of its title bar, badges and letterbox bars."""
    return shot[
        rect.y + rect.h // 4 : rect.y + 3 * rect.h // 4,
        rect.x + rect.w // 4 : rect.x + 3 * rect.w // 4,
    ].astype(np.int16)


def detail(shot: np.ndarray, rect: Rect) -> float:
    """How much the middle of a tile varies (largest per-channel standard deviation)."""
    return float(picture(shot, rect).std(axis=(0, 1)).max())


def rec_dot_pixels(shot: np.ndarray, rect: Rect) -> int:
    """Pixels of the recording dot's red in the tile's bottom-left badge area."""
    badge = shot[rect.y + rect.h - 28 : rect.y + rect.h - 4, rect.x + 4 : rect.x + 40].astype(int)
    return int((np.abs(badge - REC_DOT).max(axis=2) <= 16).sum())


def center(rect: Rect) -> tuple[str, str]:
    return str(rect.x + rect.w // 2), str(rect.y + rect.h // 2)


def saved_state(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def test_console_shows_live_video_records_and_survives_the_engine(tmp_path, engine_factory):
    clips = [make_clip(CLIPS, name, seed) for seed, name in enumerate(("gate", "yard"))]
    port = free_port()
    config = [
        f"storage:\n  path: {tmp_path / 'storage'}\n  min_free_bytes: 100MB",
        f"api:\n  port: {port}",
        "cameras:",
    ]
    ptz = OnvifCamera()  # gate turns, through the real onvif-zeep (tests/support)
    for (main, sub), name in zip(clips, ("gate", "yard"), strict=True):
        config += [
            f"  - id: {name}",
            f"    main: {main}",
            f"    sub: {sub}",
            "    record:",
            "      mode: 'off'",
        ]
        if name == "gate":
            config.append(
                f"    onvif: {{host: 127.0.0.1, port: {ptz.port}, username: admin, "
                "password: secret}"
            )
    engine = engine_factory("\n".join(config) + "\n")
    api = engine.start()
    wait_for(
        lambda: all(c["state"] == "live" for c in engine.health()["cameras"].values()),
        60,
        what="cameras live",
    )
    state = tmp_path / "console.json"
    with VirtualDisplay(WIDTH, HEIGHT) as display, ptz:
        token = token_path(engine.storage)
        console = ConsoleProcess(display, api, token, state, tmp_path / "console.out")
        console.start()
        try:
            run_console_checks(display, console, engine, state, tmp_path, ptz)
        finally:
            code = console.stop()
            output = console.log.read_text(errors="replace")
        assert "Traceback" not in output, output[-3000:]
        assert code == 0, output[-3000:]


def run_console_checks(display, console, engine, state, tmp_path, ptz):
    grid = cells("2x2")
    gate, yard = grid[0], grid[1]

    def shot(name: str) -> np.ndarray:
        assert console.alive(), console.log.read_text(errors="replace")[-3000:]
        return display.screenshot(SHOTS / f"{name}.png")

    def shot_until(name: str, ok, timeout: float, what: str) -> np.ndarray:
        """Screenshots every half second until ``ok(image)``; the image that passed."""
        deadline = time.monotonic() + timeout
        while True:
            image = shot(name)
            if ok(image):
                return image
            assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
            time.sleep(0.5)

    def video_in(*rects: Rect):
        return lambda image: all(detail(image, r) > 12 for r in rects)

    # 1. Real video in both tiles, and it moves (an object crosses early in each 12 s loop).
    first = shot_until("1-live", video_in(gate, yard), 60, "video in both tiles")
    changed = None
    deadline = time.monotonic() + 15
    while changed is None and time.monotonic() < deadline:
        time.sleep(0.7)
        later = shot("2-later")
        diff = np.abs(picture(later, gate) - picture(first, gate)).max(axis=2)
        if (diff > 40).mean() > 0.002:
            changed = later
    assert changed is not None, "the picture did not change within one loop of the clip"
    assert rec_dot_pixels(changed, gate) < 10  # recording mode off: no REC badge yet

    # 2. Select a tile with a click, start recording with R: confirmed by the engine, shown.
    display.xdotool("mousemove", *center(gate), "click", "1")
    time.sleep(0.3)
    display.xdotool("key", "r")
    wait_for(
        lambda: engine.health()["cameras"]["gate"]["recording"]["active"],
        5,
        what="manual recording on gate",
    )
    after = shot_until(
        "3-recording", lambda image: rec_dot_pixels(image, gate) >= 30, 5, "REC badge on gate"
    )
    assert rec_dot_pixels(after, yard) < 10
    assert api_get(engine.api, "/health")["cameras"]["gate"]["manual"] is True

    # 3. Double-click: full screen; Esc: back; key 3: the 3x3 grid; drag gate onto yard.
    display.xdotool("mousemove", *center(yard), "click", "--repeat", "2", "--delay", "60", "1")
    wait_for(lambda: saved_state(state).get("fullscreen") == "yard", 5, what="full screen saved")
    full = shot("4-fullscreen")
    assert detail(full, cells("1x1")[0]) > 12
    display.xdotool("key", "Escape")
    display.xdotool("key", "3")
    wait_for(
        lambda: (
            saved_state(state).get("layout") == "3x3" and not saved_state(state).get("fullscreen")
        ),
        5,
        what="3x3 layout saved",
    )
    g3 = cells("3x3")
    display.xdotool("mousemove", *center(g3[0]), "mousedown", "1")
    display.xdotool("mousemove", str(g3[0].x + g3[0].w // 2 + 40), center(g3[0])[1])
    display.xdotool("mousemove", *center(g3[1]))
    time.sleep(0.2)
    display.xdotool("mouseup", "1")
    wait_for(lambda: saved_state(state).get("order") == ["yard", "gate"], 5, what="swap saved")

    # 4. The engine goes away: the console says so and keeps running; it comes back by itself.
    engine.stop()
    time.sleep(3)
    gone = shot("5-engine-gone")
    bottom = gone[HEIGHT - 140 : HEIGHT - 30, 40 : WIDTH - 40].astype(int)  # the grid's bottom
    banner = (
        (bottom[..., 0] > 40)
        & (bottom[..., 0] < 90)
        & (bottom[..., 1] < 30)
        & (bottom[..., 2] < 30)
    )
    assert banner.mean(axis=1).max() > 0.3, "no engine-offline banner across the grid's bottom"
    engine.start()
    wait_for(
        lambda: (
            all(picture(s := shot("6-engine-back"), r).std() > 12 for r in g3[:2]) and s is not None
        ),
        60,
        interval=1,
        what="video again after the engine restarted",
    )

    # 5. A restart of the console keeps the layout and order.
    assert console.stop() == 0
    console.start()
    relaunched = shot_until("7-relaunched", video_in(g3[0]), 60, "the console back, same layout")
    assert detail(relaunched, g3[2]) < 3  # the third 3x3 cell is empty: layout kept
    assert saved_state(state)["layout"] == "3x3" and saved_state(state)["order"] == ["yard", "gate"]

    # 6. The System view (F4), a tab per key: each drawn, each different (looked at: 8-*.png).
    display.xdotool("key", "F4")
    tabs = {}
    names = ("storage", "workers", "logs", "config", "cameras")
    for key, name in ((str(n), name) for n, name in enumerate(names, 1)):
        display.xdotool("key", key)
        time.sleep(2.0)  # the logs and the history are read from the engine
        tabs[name] = shot(f"8-system-{name}")
        text = (tabs[name][40 : HEIGHT - 40].max(axis=2) > 180).mean()
        assert text > 0.002, f"the {name} tab shows almost nothing ({text:.4f})"
    for (a, first), (b, second) in itertools.combinations(tabs.items(), 2):
        assert np.abs(first.astype(int) - second.astype(int)).mean() > 0.5, (a, b)

    # 7. PTZ: gate shown alone opens its panel; the Right arrow held pans it, let go stops it.
    display.xdotool("key", "F1")
    display.xdotool("mousemove", *center(g3[1]), "click", "--repeat", "2", "--delay", "60", "1")
    wait_for(lambda: saved_state(state).get("fullscreen") == "gate", 5, what="gate alone")
    time.sleep(1.0)
    display.xdotool("keydown", "Right")
    wait_for(ptz.moving, 3, 0.05, what="gate panning while the key is held")
    time.sleep(1.5)  # longer than one move lasts: the console renews it
    assert ptz.moving()
    display.xdotool("keyup", "Right")
    released = time.monotonic()
    wait_for(lambda: not ptz.moving(), 2, 0.02, what="gate stopped at release")
    assert time.monotonic() - released < 0.6
    assert ptz.position()[0] > 0.25  # about 1.6 s at the panel's half speed
    time.sleep(1.0)  # the panel reads the position
    panel = shot("9-ptz")[70:520, WIDTH - 270 : WIDTH - 10]
    assert (panel.max(axis=2) > 180).mean() > 0.01, "the PTZ panel shows almost nothing"
    display.xdotool("key", "Escape")


def test_demo_opens_the_console_and_closing_it_ends_the_demo(tmp_path):
    from nvr.demo import CAMERAS

    data = tmp_path / "demo"
    clips = data / "demo-clips"
    clips.mkdir(parents=True)
    for seed, (name, _) in enumerate(CAMERAS):  # encoded once per machine, copied in
        for clip in make_clip(CLIPS, name, seed):
            shutil.copy(clip, clips / clip.name)
    with VirtualDisplay(WIDTH, HEIGHT) as display:
        demo = subprocess.Popen(
            [
                *(sys.executable, "-m", "nvr", "demo", "--data", str(data)),
                *("--port", str(free_port()), "--web-port", str(free_port())),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=display.env,
            start_new_session=True,
        )
        try:
            quads = cells("2x2")  # the default layout

            def four_live() -> bool:
                image = display.screenshot(SHOTS / "demo.png")
                return all(detail(image, r) > 12 for r in quads)

            wait_for(four_live, 90, interval=1, what="the demo's console showing 4 cameras")
            children = psutil.Process(demo.pid).children()
            consoles = [p for p in children if p.cmdline()[1:4] == ["-m", "nvr", "console"]]
            webs = [p for p in children if p.cmdline()[1:4] == ["-m", "nvr", "web"]]
            assert len(consoles) == 1 and len(webs) == 1, children
            consoles[0].terminate()  # as the window's close button: the demo ends with it
            output = demo.communicate(timeout=60)[0].decode(errors="replace")
            assert not webs[0].is_running(), "the web server outlived the demo"
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait(10)
    assert demo.returncode == 0, output[-3000:]
    assert "console closed: stopping the demo" in output
    assert "Traceback" not in output
