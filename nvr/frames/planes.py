"""Zero-copy views of a decoded picture's planes, for the ring, the thumbnails and the console.

No numba, no Dear PyGui: the console imports this too.
"""

from __future__ import annotations

import av
import numpy as np

YUV420 = ("yuv420p", "yuvj420p")


def yuv_planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero-copy uint8 views of a 4:2:0 frame's planes, line padding sliced off (a frame in any
    other format is converted first)."""
    if frame.format.name not in YUV420:
        frame = frame.reformat(format="yuv420p")
    views = []
    for plane in frame.planes:
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        views.append(rows[:, : plane.width])
    return views[0], views[1], views[2]
