"""How a worker's C allocations come back: decoded pictures are mapped and unmapped, not kept.

glibc raises its mmap threshold each time a large mapped block is freed, so after a few pictures
of a new size (a connect, a judgement of the main stream) their buffers come from the heap, and
the heap keeps them after they are freed: megabytes per worker, times 64 workers. A fixed
threshold keeps every block over 128 kB mapped, and gives it back when it is freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value, kept from now on


def map_large_blocks() -> bool:
    """Fix glibc's mmap threshold (whether it could: not glibc, or refused)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        done = libc is not None and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    except (OSError, AttributeError):
        done = False
    if not done:
        log.debug("mallopt unavailable: large blocks follow the allocator's own threshold")
    return done
