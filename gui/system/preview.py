"""The camera editor's motion preview: the engine's own detector (``nvr.frames.motion``) run in
the console on the camera's live frames with the settings on screen, so the admin sees the
changed pixels (red) and the moving regions (yellow boxes) while moving the sliders, before
saving anything.

It runs on a thread of its own that reads the camera's frame ring (the sub stream the worker
already decodes), at most ``PREVIEW_FPS`` frames a second: the background adapts per analysed
frame, so with a camera faster than that it adapts a little slower than the engine's. The
detector and its Numba kernels are imported there on first use: the console itself never waits
for them. The render thread takes the latest picture (float32 RGBA, as Dear PyGui wants).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from nvr.frames.ring import FrameRing

log = logging.getLogger(__name__)

PREVIEW_FPS = 10.0
STALE_S = 3.0  # the same frame this long: the ring is looked up again
WIDTH, HEIGHT = 480, 270  # the preview picture
MASK_RGB = np.array([255, 40, 40], np.float32)
BOX_RGB = (255, 220, 0)


@dataclass(frozen=True, slots=True)
class PreviewFrame:
    rgba: np.ndarray  # (HEIGHT, WIDTH, 4) float32, contiguous
    changed: float  # fraction of the zones' pixels changed
    moving: bool
    boxes: int
    error: str | None = None


class MotionPreview:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._params: dict[str, Any] = {}
        self._ring_name: str | None = None
        self._latest: PreviewFrame | None = None
        self._status = "starting the detector…"
        self._absent = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, ring_name: str | None, params: dict[str, Any], absent: str = "") -> None:
        """Show ``ring_name``'s frames with ``params`` (MotionParams' fields); ``absent``: what
        to say while there is no ring."""
        with self._lock:
            self._ring_name, self._params = ring_name, dict(params)
            self._absent = absent or "no live picture: the camera is not running"
            self._latest = None
            self._status = "starting the preview…"
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="motion-preview", daemon=True)
            self._thread.start()

    def set_params(self, params: dict[str, Any]) -> None:
        with self._lock:
            self._params = dict(params)

    def latest(self) -> tuple[PreviewFrame | None, str]:
        with self._lock:
            return self._latest, self._status

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            from nvr.frames.motion import MotionDetector, MotionParams  # Numba: here, not at start
        except Exception as err:  # a console without the kernels still edits the config
            self._say(f"no preview: the motion detector cannot load ({err})")
            return
        ring: FrameRing | None = None
        attached: str | None = None
        detector: Any = None
        used: tuple[Any, ...] | None = None
        last_ns, fresh_at = 0, time.monotonic()
        while not self._stop.wait(1 / PREVIEW_FPS):
            with self._lock:
                name, params = self._ring_name, dict(self._params)
            if name != attached:
                if ring is not None:
                    ring.close()
                ring, attached, detector = None, name, None
                if name is None:
                    with self._lock:
                        absent = self._absent
                    self._say(absent)
                    continue
                try:
                    ring = FrameRing.attach(name)
                except (OSError, ValueError) as err:
                    self._say(f"no live picture ({err})")
                    attached = None
                    continue
            if ring is None:
                continue
            frame = ring.read_copy()
            if frame is None:
                self._say("waiting for the camera's first frame…")
                continue
            if frame.capture_ns != last_ns:
                last_ns, fresh_at = frame.capture_ns, time.monotonic()
            elif time.monotonic() - fresh_at > STALE_S:  # a restarted worker made a new ring
                ring.close()
                ring, attached = None, None
                self._say("the camera's frames stopped; looking for them again…")
                continue
            key = (frame.width, frame.height, tuple(sorted(params.items(), key=str)))
            if key != used:
                try:
                    detector = MotionDetector(frame.width, frame.height, MotionParams(**params))
                    used = key
                except Exception as err:  # a setting the detector refuses
                    self._say(f"these settings cannot run: {err}")
                    used, detector = key, None
            if detector is None:
                continue
            try:
                result = detector.process(frame.y, frame.capture_ns)
                picture = _picture(
                    frame.y, frame.u, frame.v, detector.mask, result.boxes, frame.width
                )
            except Exception as err:  # said on screen and logged; the preview goes on
                log.exception("motion preview failed")
                self._say(f"the preview failed on this frame ({err}); see the console log")
                used, detector = None, None
                continue
            with self._lock:
                self._latest = PreviewFrame(
                    picture, result.changed, result.moving, len(result.boxes)
                )
                self._status = ""
        if ring is not None:
            ring.close()

    def _say(self, status: str) -> None:
        with self._lock:
            self._status, self._latest = status, None


def _picture(
    y: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray,
    boxes: tuple[tuple[int, int, int, int], ...],
    source_width: int,
) -> np.ndarray:
    """The frame at the preview size, changed pixels tinted, moving regions boxed."""
    h, w = y.shape
    i420 = np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(h * 3 // 2, w)
    rgb = cv2.resize(cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420), (WIDTH, HEIGHT))
    changed = cv2.resize(mask, (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST) > 0
    out = rgb.astype(np.float32)
    out[changed] = out[changed] * 0.4 + MASK_RGB * 0.6
    scale = WIDTH / source_width
    for x, y0, bw, bh in boxes:
        top_left = (int(x * scale), int(y0 * scale))
        bottom_right = (int((x + bw) * scale), int((y0 + bh) * scale))
        cv2.rectangle(out, top_left, bottom_right, BOX_RGB, 2)
    rgba = np.empty((HEIGHT, WIDTH, 4), np.float32)
    rgba[..., :3] = out / 255.0
    rgba[..., 3] = 1.0
    return rgba
