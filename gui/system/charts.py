"""The worker charts' data: each camera's CPU, memory and frame rates over the last hour, one
sample every ``SAMPLE_S`` taken from the health the console polls (so the charts start when the
console does, and show what the engine reported, nothing interpolated)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from nvr.protocol.health import Health

SAMPLE_S = 10.0
KEEP_S = 3600.0


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # time.monotonic()
    cpu_pct: float | None
    rss_mb: float | None
    fps_in: float
    fps_out: float


class WorkerHistory:
    def __init__(self) -> None:
        self.samples: dict[str, deque[Sample]] = {}
        self._last = -SAMPLE_S

    def add(self, now: float, health: Health) -> bool:
        """Take a sample if one is due; whether one was taken."""
        if now - self._last < SAMPLE_S:
            return False
        self._last = now
        keep = int(KEEP_S / SAMPLE_S) + 1
        for cam in health.cameras.values():
            series = self.samples.setdefault(cam.id, deque(maxlen=keep))
            rss = cam.rss_bytes / 1e6 if cam.rss_bytes is not None else None
            series.append(Sample(now, cam.cpu_pct, rss, cam.fps_in, cam.fps_out))
        for gone in set(self.samples) - set(health.cameras):
            del self.samples[gone]
        return True

    def series(self, camera_id: str, now: float) -> dict[str, tuple[list[float], list[float]]]:
        """Per measure, (minutes before now, values); a gap where it was not measured."""
        out: dict[str, tuple[list[float], list[float]]] = {
            "CPU %": ([], []),
            "memory MB": ([], []),
            "fps in": ([], []),
            "fps out": ([], []),
        }
        for s in self.samples.get(camera_id, ()):
            minutes = (s.at - now) / 60
            for name, value in (
                ("CPU %", s.cpu_pct),
                ("memory MB", s.rss_mb),
                ("fps in", s.fps_in),
                ("fps out", s.fps_out),
            ):
                if value is not None:
                    out[name][0].append(minutes)
                    out[name][1].append(value)
        return out
