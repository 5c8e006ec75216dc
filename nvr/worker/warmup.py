"""Compile the native kernels once, before any camera stream is opened.

Imported by the forkserver as a preload (Linux): the kernels are compiled or loaded from the
Numba cache once, and every forked worker inherits them ready to run, sharing the pages. Under
spawn each worker pays this at its own start. Either way no stream thread ever stalls on a
compile (a cold compile holds the GIL for seconds).
"""

from __future__ import annotations

import logging
import time

from native.motion import warm

log = logging.getLogger(__name__)

_warm_s: float | None = None


def ensure_warm() -> float:
    """Warm the kernels if this process has not; returns the seconds the first warm-up took."""
    global _warm_s
    if _warm_s is None:
        start = time.perf_counter()
        warm()
        _warm_s = time.perf_counter() - start
    return _warm_s


ensure_warm()
