"""Live snapshots for the dashboard: the newest frame of a camera's shared-memory ring as a
JPEG, shared by every browser for ``FRESH_S`` so 10 dashboards cost one encode per camera."""

from __future__ import annotations

import os
import threading
import time

import cv2
import numpy as np

from nvr.errors import NvrError
from nvr.frames.ring import FrameRing

FRESH_S = 0.5
JPEG_QUALITY = 75


class NoPicture(NvrError):
    """The camera has no picture to show now (no ring yet, or nothing published)."""


class Snapshots:
    def __init__(self) -> None:
        self._rings: dict[str, tuple[FrameRing, int]] = {}
        self._cache: dict[tuple[str, int], tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def jpeg(self, camera_id: str, ring_name: str | None, width: int) -> bytes:
        """The camera's newest frame, at most ``width`` pixels wide; ``NoPicture`` without one.
        Blocking (a copy and an encode): call it off the event loop."""
        with self._lock:
            now = time.monotonic()
            cached = self._cache.get((camera_id, width))
            if cached is not None and now - cached[0] < FRESH_S:
                return cached[1]
            if ring_name is None:
                raise NoPicture(f"camera {camera_id} has no picture yet")
            ring = self._ring(camera_id, ring_name)
            frame = ring.read_copy()
            if frame is None:
                raise NoPicture(f"camera {camera_id} has no picture yet")
            jpeg = encode(frame.y, frame.u, frame.v, width)
            self._cache[(camera_id, width)] = (now, jpeg)
            return jpeg

    def close(self) -> None:
        with self._lock:
            for ring, _ in self._rings.values():
                ring.close()
            self._rings.clear()

    def _ring(self, camera_id: str, name: str) -> FrameRing:
        """The camera's ring, attached again when a restarted worker made a new one (same name,
        new inode)."""
        try:
            inode = os.stat(f"/dev/shm/{name}").st_ino
        except OSError as err:
            raise NoPicture(f"camera {camera_id}'s frames are gone ({err.strerror})") from err
        held = self._rings.get(camera_id)
        if held is not None and held[0].name == name and held[1] == inode:
            return held[0]
        if held is not None:
            held[0].close()
        try:
            ring = FrameRing.attach(name)
        except (OSError, ValueError) as err:
            raise NoPicture(f"camera {camera_id}'s frames cannot be read ({err})") from err
        self._rings[camera_id] = (ring, inode)
        return ring


def encode(y: np.ndarray, u: np.ndarray, v: np.ndarray, width: int) -> bytes:
    """YUV 4:2:0 planes as a JPEG, scaled down to ``width`` when wider (an odd last row or
    column is cropped: the colour conversion needs even sizes)."""
    h, w = y.shape[0] // 2 * 2, y.shape[1] // 2 * 2
    planes = (y[:h, :w], u[: h // 2, : w // 2], v[: h // 2, : w // 2])
    i420 = np.concatenate([p.reshape(-1) for p in planes]).reshape(h * 3 // 2, w)
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    if w > width:
        bgr = cv2.resize(bgr, (width, max(2, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise NoPicture("the frame could not be encoded as JPEG")
    return data.tobytes()
