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


def _block(width: int) -> int:
    return width // (BITS + 2)


def i420_frame(width: int, height: int, number: int) -> bytes:
    """One I420 picture (grey, with the counter band) showing ``number``."""
    block = _block(width)
    levels = (
        [_WHITE]
        + [_WHITE if number >> (BITS - 1 - i) & 1 else _BLACK for i in range(BITS)]
        + [_BLACK]
    )
    bar = b"".join(bytes([v]) * block for v in levels)
    bar += bytes([_GREY]) * (width - len(bar))
    grey_row = bytes([_GREY]) * width
    top, bottom = _band(height)
    luma = grey_row * top + bar * (bottom - top) + grey_row * (height - bottom)
    chroma = bytes([128]) * ((width // 2) * (height // 2) * 2)
    return luma + chroma


def read_counter(luma: Any) -> int | None:
    """The number in a decoded luma plane (a 2-D uint8 numpy array), None if it shows none."""
    height, width = luma.shape
    top, bottom = _band(height)
    block = _block(width)
    row = luma[top + (bottom - top) // 4 : bottom - (bottom - top) // 4].mean(axis=0)
    levels = [
        row[i * block + block // 4 : (i + 1) * block - block // 4].mean() for i in range(BITS + 2)
    ]
    bits = [level > (_BLACK + _WHITE) / 2 for level in levels]
    if not bits[0] or bits[-1]:
        return None
    value = 0
    for bit in bits[1:-1]:
        value = value << 1 | int(bit)
    return value
