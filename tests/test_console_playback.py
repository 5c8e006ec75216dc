"""The console's Playback view end to end: the real RTSP counter camera recorded by a real
engine, the console under Xvfb driven by keys, mouse and wheel (xdotool), and the frame number
read back from the screen: what the view shows is the recorded frame it says it shows.

Screenshots are kept in artifacts/console/playback-*.png (30-day and 1-minute zoom, a frame after
a seek, a hole).
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from bench.display import VirtualDisplay, xvfb_available
from gui.playback.strip import TYPE_COLORS
from nvr.protocol.runfile import token_path
from nvr.storage.catalog import Catalog
from nvr.storage.playback import PlaybackReader
from tests.conftest import ARTIFACTS, Engine, requires_rtsp, wait_for
from tests.support.cameras import RtspCamera
from tests.support.console import HEIGHT, WIDTH, ConsoleProcess
from tests.support.counter import read_counter

pytestmark = [
    pytest.mark.slow,
    requires_rtsp,
    pytest.mark.skipif(
        not xvfb_available() or shutil.which("xdotool") is None,
        reason="Xvfb, ffmpeg or xdotool missing: run scripts/setup.sh",
    ),
]

SHOTS = ARTIFACTS / "console"
VIDEO_RIGHT = WIDTH - 310  # the events list is to the right of the pictures
STRIP_Y = 640  # the first lane of the timeline strip (one camera shown)


def grey_box(shot: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the counter camera's grey picture in the video area, if shown."""
    area = shot[34 : STRIP_Y - 40, :VIDEO_RIGHT].astype(int)
    r, g, b = area[..., 0], area[..., 1], area[..., 2]
    grey = (abs(r - g) < 8) & (abs(g - b) < 8) & (r > 105) & (r < 155)
    rows, cols = np.nonzero(grey)
    if len(rows) < 10_000:
        return None
    return cols.min(), rows.min() + 34, cols.max() + 1, rows.max() + 34 + 1


def shown_number(shot: np.ndarray) -> int | None:
    """The frame number in the Playback view's picture (one camera: wider than any live
    tile of the 2x2 grid), None when it shows none."""
    box = grey_box(shot)
    if box is None or box[2] - box[0] < 700:
        return None
    x0, y0, x1, y1 = box
    luma = cv2.cvtColor(np.ascontiguousarray(shot[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    return read_counter(luma)


def test_playback_view_shows_the_recorded_frame_it_says(tmp_path):
    storage = tmp_path / "storage"
    with RtspCamera(main_size=(1280, 720)) as camera:
        config = tmp_path / "nvr.yaml"
        config.write_text(
            f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras:\n"
            f"  - id: door\n    name: Door\n    main: {camera.url('counter/main')}\n"
            f"    sub: {camera.url('counter/sub')}\n    timeout_s: 2\n"
            "    record:\n      mode: continuous\n      segment_s: 5\n"
        )
        engine = Engine(config, storage)
        api = engine.start()
        try:
            wait_for(lambda: len(_rows(storage)) >= 3, 60, what="three segments")
            with VirtualDisplay(WIDTH, HEIGHT) as display:
                console = ConsoleProcess(
                    display,
                    api,
                    token_path(storage),
                    tmp_path / "console.json",
                    tmp_path / "console.out",
                )
                console.env = {"HOME": str(tmp_path / "home")}
                console.start()
                try:
                    _drive(display, console, storage, tmp_path)
                finally:
                    code = console.stop()
                    output = console.log.read_text(errors="replace")
                assert "Traceback" not in output, output[-3000:]
                assert code == 0, output[-3000:]
        finally:
            engine.stop()


def _rows(storage: Path):
    if not (storage / "catalog.db").exists():
        return []
    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        return catalog.recordings("door")


def _drive(display: VirtualDisplay, console: ConsoleProcess, storage: Path, tmp_path: Path) -> None:
    def shot(name: str) -> np.ndarray:
        assert console.alive(), console.log.read_text(errors="replace")[-3000:]
        return display.screenshot(SHOTS / f"playback-{name}.png")

    def number_until(name: str, ok, timeout: float = 10.0) -> int | None:
        deadline = time.monotonic() + timeout
        while True:
            number = shown_number(shot(name))
            if ok(number):
                return number
            assert time.monotonic() < deadline, f"{name}: the screen shows {number}"
            time.sleep(0.3)

    def key(*names: str) -> None:
        display.xdotool("key", *names)

    def go_to(text: str) -> None:
        """G, then the time, then Enter, at a person's pace (a frame apart at least)."""
        key("g")
        time.sleep(0.3)
        display.xdotool("type", text)
        time.sleep(0.3)
        key("Return")

    # Live: select the camera's tile, P opens its last minute, playing.
    wait_for(lambda: grey_box(shot("0-live")) is not None, 30, what="live video")
    display.xdotool("mousemove", "300", "200", "click", "1")
    time.sleep(0.5)
    key("p")
    playing = number_until("1-playing", lambda n: n is not None, 15)
    later = number_until("1-playing", lambda n: n is not None and n > playing, 10)
    assert later > playing  # it plays

    # Pause: the picture stays; one frame on, two back: exactly one number each.
    key("space")

    def still() -> tuple[int] | None:
        """The frame shown, once two looks 0.8 s apart agree (a busy console takes a moment)."""
        first = number_until("2-paused", lambda n: n is not None)
        time.sleep(0.8)
        return (first,) if shown_number(shot("2-paused")) == first else None

    (paused,) = wait_for(still, 15, interval=0, what="the picture paused")
    time.sleep(0.8)
    assert shown_number(shot("2-paused")) == paused  # and it stays
    key("period")
    assert number_until("3-step", lambda n: n == paused + 1) == paused + 1
    key("comma", "comma")
    assert number_until("3-step", lambda n: n == paused - 1) == paused - 1

    # Go to a time: the frame the reader says is shown at that instant, exactly.
    rows = _rows(storage)
    at = rows[1].start_ns + 1_234_567_890
    with PlaybackReader(
        Catalog(storage / "catalog.db", readonly=True), storage / "recordings"
    ) as reader:
        frame = reader.frame_at("door", at)
        expected = read_counter(frame.image.to_ndarray(format="gray"))
    typed = datetime.fromtimestamp(at / 1e9).strftime("%Y-%m-%d %H:%M:%S.%f")
    go_to(typed)
    assert number_until("4-seek", lambda n: n == expected) == expected

    # Zoom out to a month and back in to a minute (wheel over the strip), the lane drawn.
    display.xdotool("mousemove", "500", str(STRIP_Y))
    for _ in range(40):
        display.xdotool("click", "5")
    time.sleep(1.5)
    month = shot("5-month")
    for _ in range(48):  # 30 days x 0.8**48: about a minute
        display.xdotool("click", "4")
    time.sleep(1.5)
    minute = shot("6-minute")
    lane = minute[STRIP_Y - 8 : STRIP_Y + 8, 120:].astype(int)
    green = np.array(TYPE_COLORS["continuous"][:3])
    assert (np.abs(lane - green).max(axis=2) < 20).sum() > 500, "no recording drawn at 1 minute"
    assert not np.array_equal(
        month[STRIP_Y - 40 : STRIP_Y - 20], minute[STRIP_Y - 40 : STRIP_Y - 20]
    )

    # A time with nothing recorded: no picture, not the last one frozen.
    before = datetime.fromtimestamp(rows[0].start_ns / 1e9 - 600).strftime("%Y-%m-%d %H:%M:%S")
    go_to(before)
    deadline = time.monotonic() + 10
    while grey_box(shot("7-hole")) is not None:
        assert time.monotonic() < deadline, "a picture is still shown where nothing was recorded"
        time.sleep(0.3)

    # Export a marked range: the clip starts with the frame marked.
    go_to(typed)
    number_until("8-marked", lambda n: n == expected)
    key("i", "Right", "o", "e")
    exports = tmp_path / "home" / "nvr-exports"
    clip = wait_for(lambda: next(exports.glob("*/door-*.mp4"), None), 30, what="the exported clip")
    with av.open(str(clip)) as container:
        first = next(container.decode(video=0))
        assert read_counter(first.to_ndarray(format="gray")) == expected
