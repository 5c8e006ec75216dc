"""A frame counter drawn into the picture, so a test can read which frame it got.

A band of ``BITS + 2`` blocks across the top of the picture: a white start block, the frame
number in binary (most significant bit first, white = 1), and a black end block. Blocks are
large and flat, so the number survives H.264 at any bitrate and any scaling.

Pure Python to draw (the fake camera runs under the system interpreter, without numpy);
``read_counter`` takes a numpy luma plane.
"""

from __future__ import annotations

from typing import Any

BITS = 20  # 2**20 frames: 19 hours at 15 fps
_BLACK, _WHITE, _GREY = 16, 235, 128


def _band(height: int) -> tuple[int, int]:
    """Rows [top, bottom) of the band."""
    return height // 16, height // 16 + max(2, height // 8)


def _edges(width: int) -> list[int]:
    """Block boundaries across the whole width (so any scaling keeps them in place)."""
    return [round(i * width / (BITS + 2)) for i in range(BITS + 3)]


def i420_frame(width: int, height: int, number: int) -> bytes:
    """One I420 picture (grey, with the counter band) showing ``number``."""
    edges = _edges(width)
    bits = [_WHITE if number >> (BITS - 1 - i) & 1 else _BLACK for i in range(BITS)]
    levels = [_WHITE, *bits, _BLACK]
    bar = b"".join(bytes([v]) * (edges[i + 1] - edges[i]) for i, v in enumerate(levels))
    grey_row = bytes([_GREY]) * width
    top, bottom = _band(height)
    luma = grey_row * top + bar * (bottom - top) + grey_row * (height - bottom)
    chroma = bytes([128]) * ((width // 2) * (height // 2) * 2)
    return luma + chroma


def read_counter(luma: Any) -> int | None:
    """The number in a decoded luma plane (a 2-D uint8 numpy array), None if it shows none."""
    height, width = luma.shape
    top, bottom = _band(height)
    row = luma[top + (bottom - top) // 4 : bottom - (bottom - top) // 4].mean(axis=0)
    edges = _edges(width)
    levels = []
    for a, b in zip(edges, edges[1:], strict=False):
        quarter = (b - a) // 4
        levels.append(row[a + quarter : b - quarter].mean())
    bits = [level > (_BLACK + _WHITE) / 2 for level in levels]
    if not bits[0] or bits[-1]:
        return None
    value = 0
    for bit in bits[1:-1]:
        value = value << 1 | int(bit)
    return value
