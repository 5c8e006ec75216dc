"""Each worker's last hour, kept by the engine for the consoles' charts (``GET
/api/workers/history``): one sample every ``SAMPLE_S`` of what the published health said (CPU,
memory, frames in and out, bitrate), so a chart opened now shows the hour before it too, and
every console shows the same. Written by the supervisor's loop, read by the API's threads."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from nvr.protocol.health import Health

SAMPLE_S = 10.0
KEEP = int(3600 / SAMPLE_S) + 1
FIELDS = ("at_ns", "cpu_pct", "rss_bytes", "fps_in", "fps_out", "bitrate_bps")

Sample = tuple[int, float | None, int | None, float, float, float]


class WorkerHistory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: dict[str, deque[Sample]] = {}
        self._last = float("-inf")

    def sample(self, health: Health, mono: float, now_ns: int) -> None:
        """Keep a sample of every camera if one is due; cameras no longer configured go."""
        if mono - self._last < SAMPLE_S:
            return
        self._last = mono
        with self._lock:
            for cam in health.cameras.values():
                series = self._samples.setdefault(cam.id, deque(maxlen=KEEP))
                series.append(
                    (now_ns, cam.cpu_pct, cam.rss_bytes, cam.fps_in, cam.fps_out, cam.bitrate_bps)
                )
            for gone in set(self._samples) - set(health.cameras):
                del self._samples[gone]

    def document(self, camera_id: str | None = None) -> dict[str, Any]:
        """Per camera (or only ``camera_id``), one list per field, oldest first; None where a
        figure was not measured (a stopped worker has no CPU)."""
        with self._lock:
            picked = {
                cam: list(series)
                for cam, series in self._samples.items()
                if camera_id is None or cam == camera_id
            }
        cameras = {
            cam: {name: [s[n] for s in series] for n, name in enumerate(FIELDS)}
            for cam, series in picked.items()
        }
        return {"sample_s": SAMPLE_S, "cameras": cameras}
