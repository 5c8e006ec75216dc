"""The console's frame-time breakdown, for the status bar and the benchmark."""

from __future__ import annotations

import statistics
from collections import deque


class FrameStats:
    """Frame-time breakdown over the last few hundred frames, in milliseconds."""

    def __init__(self, size: int = 600) -> None:
        self.frame_ms: deque[float] = deque(maxlen=size)
        self.convert_ms: deque[float] = deque(maxlen=size)
        self.update_ms: deque[float] = deque(maxlen=size)
        self.render_ms: deque[float] = deque(maxlen=size)
        self.stamps: deque[float] = deque(maxlen=size)

    def add(self, now: float, convert_s: float, update_s: float, render_s: float) -> None:
        self.stamps.append(now)
        self.convert_ms.append(convert_s * 1000)
        self.update_ms.append(update_s * 1000)
        self.render_ms.append(render_s * 1000)
        self.frame_ms.append((convert_s + update_s + render_s) * 1000)

    def fps(self) -> float:
        if len(self.stamps) < 2 or self.stamps[-1] == self.stamps[0]:
            return 0.0
        return (len(self.stamps) - 1) / (self.stamps[-1] - self.stamps[0])

    def summary(self) -> dict[str, float]:
        """Frame time median and p95; the parts as means (conversions come in bursts)."""

        def mean(values: deque[float]) -> float:
            return round(statistics.fmean(values), 2) if values else 0.0

        frame = sorted(self.frame_ms)
        return {
            "fps": round(self.fps(), 1),
            "frame_ms": round(statistics.median(frame), 2) if frame else 0.0,
            "frame_p95_ms": round(frame[int(0.95 * (len(frame) - 1))], 2) if frame else 0.0,
            "convert_ms": mean(self.convert_ms),
            "update_ms": mean(self.update_ms),
            "render_ms": mean(self.render_ms),
        }

    def clear(self) -> None:
        for values in (self.frame_ms, self.convert_ms, self.update_ms, self.render_ms, self.stamps):
            values.clear()
