"""The live console end to end, on a real engine with a dead and a moving camera and the real
console under Xvfb, looked at through screenshots:
- alarms: flashed in the status bar, sounded, listed under F3, acknowledged in the operator's
  name (the engine's alarm log says so), the field and the tile's chip turning amber;
- full screen on the main stream (the engine decodes it while the console shows it alone);
- digital zoom with the wheel, pan by drag, Z to reset;
- a tour of the cameras, full screen in turn."""

from __future__ import annotations

import json
import shutil
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from bench.display import VirtualDisplay, xvfb_available
from gui import theme
from nvr.protocol.client import EngineClient
from nvr.protocol.runfile import read_token, token_path
from tests.conftest import ARTIFACTS, Engine, requires_rtsp, wait_for
from tests.support.cameras import RtspCamera, free_port
from tests.support.console import HEIGHT, WIDTH, ConsoleProcess

pytestmark = [
    pytest.mark.slow,
    requires_rtsp,
    pytest.mark.skipif(
        not xvfb_available() or shutil.which("xdotool") is None,
        reason="Xvfb or xdotool missing: run scripts/setup.sh",
    ),
]

SHOTS = ARTIFACTS / "console"
ALARM_FIELD = (slice(HEIGHT - 24, HEIGHT - 2), slice(0, 140))  # the status bar's first field
DOOR_CHIP = (slice(56, 78), slice(440, 636))  # under the first tile's title bar, at its right


def pixels_like(area: np.ndarray, color: tuple[int, int, int, int], tolerance: int = 30) -> int:
    """How many pixels of an RGB screenshot area are near ``color``."""
    diff = np.abs(area[..., :3].astype(int) - np.array(color[:3])).max(axis=-1)
    return int((diff < tolerance).sum())


def test_alarms_full_screen_zoom_and_tour_on_a_real_engine(tmp_path: Path):
    storage = tmp_path / "storage"
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    with RtspCamera() as camera:
        config = tmp_path / "nvr.yaml"
        config.write_text(
            f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\n"
            "api:\n  port: 0\nalarms:\n  offline_after_s: 1\n"
            "cameras:\n"
            f"  - {{id: door, name: Front door, main: 'rtsp://127.0.0.1:{free_port()}/x'}}\n"
            f"  - id: yard\n    name: Yard\n    main: {camera.url('moving/main')}\n"
            f"    sub: {camera.url('moving/sub')}\n    alarms: {{motion: true}}\n"
        )
        engine = Engine(config, storage)
        api = engine.start()
        client = EngineClient(api, token=read_token(storage))
        try:
            wait_for(lambda: len(client.alarms().alarms) >= 2, 90, what="two alarms")
            with VirtualDisplay(WIDTH, HEIGHT) as display:
                state = tmp_path / "c.json"
                state.write_text(json.dumps({"tour": {"kind": "cameras", "dwell_s": 3}}))
                console = ConsoleProcess(
                    display, api, token_path(storage), state, tmp_path / "c.out"
                )
                # The "player" copies the tone where the test can read it: a real process, as
                # paplay would be, without a sound card.
                console.args = ["--alarm-sound", f"cp -t {sounds}", "--operator", "ann"]
                console.start()
                try:
                    _drive(display, console, client, sounds)
                finally:
                    code = console.stop()
                    output = console.log.read_text(errors="replace")
                assert "Traceback" not in output, output[-3000:]
                assert code == 0, output[-3000:]
        finally:
            engine.stop()


def _drive(
    display: VirtualDisplay, console: ConsoleProcess, client: EngineClient, sounds: Path
) -> None:
    def shot(name: str) -> np.ndarray:
        assert console.alive(), console.log.read_text(errors="replace")[-3000:]
        return display.screenshot(SHOTS / f"live-{name}.png")

    def field_has(name: str, color: tuple[int, int, int, int]) -> bool:
        return pixels_like(shot(name)[ALARM_FIELD], color) > 20

    # Not acknowledged: the field is red (it flashes red and white), the tile's chip too.
    wait_for(lambda: field_has("0-raised", theme.ERROR), 30, 0.2, what="a red alarm field")
    reds = (theme.ALARM_BG, theme.REC_BG)
    wait_for(
        lambda: any(pixels_like(shot("0-raised")[DOOR_CHIP], c, 12) > 300 for c in reds),
        10,
        0.2,
        what="a red ALARM chip on the door's tile",
    )
    wav = wait_for(lambda: next(sounds.glob("*.wav"), None), 15, what="the alarm sound")
    with wave.open(str(wav)) as tone:
        assert tone.getnframes() > 1000 and tone.getframerate() == 16000

    display.xdotool("key", "F3")
    time.sleep(1.0)
    listed = shot("1-list")
    assert pixels_like(listed[40:400], theme.ERROR) > 200  # red rows: not acknowledged
    display.xdotool("key", "a")

    def acknowledged() -> bool:
        alarms = client.alarms().alarms
        return bool(alarms) and all(a.acked_by == "ann" for a in alarms)

    wait_for(acknowledged, 10, what="every alarm acknowledged by ann")
    wait_for(lambda: field_has("2-acknowledged", theme.WARN), 10, 0.2, what="an amber field")
    assert not field_has("2-acknowledged", theme.ERROR)
    logged = client.alarm_log()
    assert logged and all(a.acked_by == "ann" for a in logged)
    shot("3-log")
    display.xdotool("key", "F1")  # the live grid: the chip is amber now, the alarm still on
    wait_for(
        lambda: pixels_like(shot("4-live")[DOOR_CHIP], theme.WARN_BG, 12) > 300,
        10,
        0.2,
        what="an amber ALARM chip",
    )
    display.xdotool("mousemove", "40", str(HEIGHT - 12), "click", "1")  # the alarm field
    wait_for(
        lambda: (
            pixels_like(shot("5-clicked")[DOOR_CHIP], theme.WARN_BG, 12) < 50
            and pixels_like(shot("5-clicked")[40:140, 700:1100], theme.WARN) > 100
        ),
        10,
        0.2,
        what="the Alarms view, opened by a click on the field",
    )

    # Full screen shows the main stream: the console asks, the engine decodes it meanwhile.
    display.xdotool("key", "F1")
    time.sleep(0.5)
    display.xdotool("mousemove", "960", "250", "click", "--repeat", "2", "--delay", "80", "1")
    wait_for(lambda: client.health().cameras["yard"].main_ring, 20, what="yard's main ring")
    time.sleep(1.5)
    full = shot("6-fullscreen-main")
    assert full[100:600, 100:1200].std() > 20  # a picture, not a placeholder

    # The wheel zooms (4 notches: 2.4x) around the mouse; a drag pans; Z resets.
    display.xdotool("mousemove", "640", "360", "click", "--repeat", "4", "--delay", "60", "4")
    time.sleep(1.0)
    zoomed = shot("7-zoomed")
    changed = np.abs(zoomed[100:600].astype(int) - full[100:600].astype(int)).mean()
    assert changed > 25, changed  # the colour bars are 2.4 times as wide
    display.xdotool("mousedown", "1")
    for x in (700, 800, 900):  # at a hand's pace
        time.sleep(0.15)
        display.xdotool("mousemove", str(x), "360")
    time.sleep(0.15)
    display.xdotool("mouseup", "1")
    time.sleep(1.0)
    panned = shot("8-panned")
    assert np.abs(panned[100:600].astype(int) - zoomed[100:600].astype(int)).mean() > 10
    display.xdotool("key", "z")
    time.sleep(1.0)
    back = shot("9-unzoomed")
    assert np.abs(back[100:600].astype(int) - full[100:600].astype(int)).mean() < changed / 2
    display.xdotool("key", "Escape")
    wait_for(lambda: client.health().cameras["yard"].main_ring is None, 20, what="lease lapsed")

    # A tour of the cameras, 3 s each, full screen: the picture changes by itself; T pauses.
    display.xdotool("key", "t")
    time.sleep(4.0)
    first = shot("10-tour-a")
    time.sleep(3.2)
    second = shot("11-tour-b")
    assert np.abs(first[60:600].astype(int) - second[60:600].astype(int)).mean() > 15
    display.xdotool("key", "t")
