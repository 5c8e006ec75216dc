"""A simulated clock for the engine's components: time moves only when a test says so."""

from __future__ import annotations


class ManualClock:
    """``nvr.clock.Clock`` whose wall and monotonic times advance together, on ``advance``."""

    def __init__(self, wall_ns: int = 1_800_000_000 * 10**9, monotonic: float = 1000.0) -> None:
        self._wall_ns = wall_ns
        self._monotonic = monotonic

    def wall_ns(self) -> int:
        return self._wall_ns

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._wall_ns += int(seconds * 1e9)
        self._monotonic += seconds
