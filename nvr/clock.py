"""The engine's two clocks, injected where tests drive time instead of sleeping.

Wall time (``wall_ns``: Unix epoch nanoseconds) stamps what is stored and shown; monotonic time
(``monotonic``: seconds) measures intervals: timeouts, backoff, schedules. They are never mixed.
Tests pass a simulated clock (``tests/support/clock.py``) with the same two methods.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def wall_ns(self) -> int: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clocks."""

    def wall_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK = SystemClock()


def iso_utc(ns: int) -> str:
    """Wall time ``ns`` as ISO 8601 UTC with milliseconds, as messages and reports show it."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000))
    return f"{stamp}.{ns // 1_000_000 % 1000:03d}Z"
