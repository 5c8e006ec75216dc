"""Snapshots: a tile's picture at full resolution, saved as a JPEG named after the camera and
the frame's capture time (``~/nvr-snapshots/Front_door_2026-12-05_14-03-07.250.jpg``).

Full resolution is the main stream. A camera shown alone is already shown from it; for any other
the console asks its worker to decode the main stream a moment (``watch_main``) and saves the
first frame of that ring. If none comes within ``WAIT_S`` (the engine is busy, the main stream
does not decode), the sub stream's picture is saved and the notice says so. Encoding runs on a
thread of its own: the render loop never waits for a JPEG.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gui.link import EngineLink, Snapshot
from gui.panel import Feedback
from nvr.frames.ring import FrameRing, FrameView
from nvr.protocol.health import CameraStatus
from nvr.storage.durable import atomic_write

log = logging.getLogger(__name__)

FOLDER = Path.home() / "nvr-snapshots"
WAIT_S = 4.0
JPEG_QUALITY = 92


@dataclass(frozen=True, slots=True)
class _Pending:
    camera_id: str
    title: str
    deadline: float  # monotonic


def file_name(title: str, capture_ns: int) -> str:
    """``<camera>_<local date>_<time>.<ms>.jpg``, safe on every file system."""
    safe = re.sub(r"[^\w-]+", "_", title).strip("_") or "camera"  # letters of any script
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(capture_ns / 1e9))
    return f"{safe}_{stamp}.{capture_ns // 1_000_000 % 1000:03d}.jpg"


def jpeg(frame: FrameView) -> bytes:
    """The frame (YUV 4:2:0 planes) as a JPEG at its own size (an odd edge loses one pixel)."""
    import cv2  # the console loads OpenCV only once someone takes a snapshot

    height, width = frame.y.shape[0] & ~1, frame.y.shape[1] & ~1
    i420 = np.concatenate(
        [
            frame.y[:height, :width].ravel(),
            frame.u[: height // 2, : width // 2].ravel(),
            frame.v[: height // 2, : width // 2].ravel(),
        ]
    ).reshape(height * 3 // 2, width)
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("OpenCV could not encode the picture")
    return bytes(data)


class Snapshots:
    """Snapshots asked for and not yet taken; runs on the render thread but for the writer."""

    def __init__(self, link: EngineLink, feedback: Feedback, folder: Path = FOLDER) -> None:
        self.link = link
        self.feedback = feedback
        self.folder = folder
        self.pending: list[_Pending] = []
        self.saved: list[Path] = []
        self._done: queue.SimpleQueue[tuple[str, bool]] = queue.SimpleQueue()

    def take(self, camera_id: str, title: str, now: float) -> None:
        """Save ``camera_id``'s next full-resolution picture."""
        self.link.send("watch_main", camera_id, seconds=int(WAIT_S) + 2)
        self.pending.append(_Pending(camera_id, title, now + WAIT_S))
        self.feedback.show(f"Snapshot of {title}: waiting for its full-resolution picture…")

    def update(self, now: float, engine: Snapshot) -> None:
        """Take what can be taken now; report what was saved."""
        while not self._done.empty():
            text, error = self._done.get()
            self.feedback.show(text, error)
        for job in list(self.pending):
            camera = engine.cameras.get(job.camera_id)
            ring, stream = _full_resolution(camera)
            late = now >= job.deadline
            if ring is None and late and camera is not None and camera.ring:
                ring, stream = camera.ring, "sub stream: the main stream was not decoded in time"
            if ring is None:
                if late:
                    self.pending.remove(job)
                    self.feedback.show(f"No snapshot of {job.title}: it has no picture", True)
                continue
            frame = _copy(ring)
            if frame is None and not late:
                continue
            self.pending.remove(job)
            if frame is None:
                self.feedback.show(f"No snapshot of {job.title}: its picture cannot be read", True)
                continue
            threading.Thread(
                target=self._write, args=(job.title, frame, stream), name="snapshot", daemon=True
            ).start()

    def _write(self, title: str, frame: FrameView, stream: str) -> None:
        path = self.folder / file_name(title, frame.capture_ns)
        try:
            data = jpeg(frame)
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(path, data, 0o600)  # footage: private
        except (OSError, ValueError) as err:
            log.error("snapshot of %s not saved: %s", title, err)
            self._done.put((f"Snapshot of {title} not saved: {err}", True))
            return
        size = f"{frame.y.shape[1]}x{frame.y.shape[0]}"
        self._done.put((f"Snapshot saved: {path.name} ({size}, {stream}) in {path.parent}", False))
        self.saved.append(path)  # after the notice: whoever sees it saved finds the notice due
        log.info("snapshot saved: %s (%s, %s)", path, size, stream)


def _full_resolution(camera: CameraStatus | None) -> tuple[str | None, str]:
    """The ring holding the camera's main stream now, and which stream it is."""
    if camera is None:
        return None, ""
    if camera.main_ring:
        return camera.main_ring, "main stream"
    if camera.sub is None and camera.ring:  # the main stream is the one decoded
        return camera.ring, "main stream"
    return None, ""


def _copy(ring_name: str) -> FrameView | None:
    """A copy of the ring's newest frame (None: no frame, or the ring is gone)."""
    try:
        with FrameRing.attach(ring_name) as ring:
            return ring.read_copy()
    except (FileNotFoundError, ValueError, OSError):
        return None
