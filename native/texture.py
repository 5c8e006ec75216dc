"""Tile textures, without numba: where a picture goes in a tile and what an output must be.

Plain Python, so the console can place and check tiles without importing numba; the scale kernel
compiles ``fit`` into its plan, so both agree to the pixel.
"""

from __future__ import annotations

import numpy as np


def fit(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[int, int, int, int]:
    """``(x, y, w, h)``: the largest ``src_w:src_h`` rectangle centred in ``dst_w x dst_h``."""
    if src_w < 1 or src_h < 1 or dst_w < 1 or dst_h < 1:
        return 0, 0, 0, 0
    if dst_w * src_h <= dst_h * src_w:  # width-bound: bars above and below
        w = dst_w
        h = min(dst_h, max(1, (2 * dst_w * src_h + src_w) // (2 * src_w)))
    else:  # height-bound: bars left and right
        h = dst_h
        w = min(dst_w, max(1, (2 * dst_h * src_w + src_h) // (2 * src_h)))
    return (dst_w - w) // 2, (dst_h - h) // 2, w, h


def letterbox(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[int, int, int, int]:
    """Where the picture goes in a tile: ``(x, y, w, h)``, aspect kept (to the nearest pixel),
    centred, as large as fits. ``(0, 0, 0, 0)`` when either size is empty."""
    x, y, w, h = fit(int(src_w), int(src_h), int(dst_w), int(dst_h))
    return int(x), int(y), int(w), int(h)


def out_problem(out: np.ndarray) -> str:
    """What makes ``out`` unusable as a tile texture for the scale kernel, or ``""``."""
    if not isinstance(out, np.ndarray):
        return f"is a {type(out).__name__}, not a numpy array"
    if out.dtype != np.float32:
        return f"has dtype {out.dtype}, not float32"
    if out.ndim != 3 or out.shape[2] != 4:
        return f"has shape {out.shape}, not (th, tw, 4)"
    if out.strides[1:] != (16, 4):
        return f"has strides {out.strides}: its pixels are not contiguous (want (pitch, 16, 4))"
    if out.shape[0] > 1 and out.strides[0] < 16 * out.shape[1]:
        return f"has strides {out.strides}: its rows overlap or run backwards"
    if not out.flags.writeable:
        return "is read-only"
    if not out.flags.aligned:
        return "is not aligned to 4 bytes"
    return ""


def check_out(out: np.ndarray, who: str) -> None:
    """Raise ``ValueError`` naming the problem and the fix when ``out`` is not a tile texture."""
    problem = out_problem(out)
    if problem:
        raise ValueError(
            f"{who}: out {problem}; pass a writable (th, tw, 4) float32 tile, "
            "C-contiguous or a region atlas[y0 : y0 + th, x0 : x0 + tw] of a C-contiguous atlas"
        )


def check_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray, who: str) -> None:
    """Raise ``ValueError`` naming the problem unless ``y``, ``u``, ``v`` are the uint8 planes of
    one 4:2:0 frame: ``y`` (H, W), ``u`` and ``v`` (ceil(H/2), ceil(W/2)); any strides."""
    for name, plane in (("y", y), ("u", u), ("v", v)):
        if not isinstance(plane, np.ndarray) or plane.dtype != np.uint8 or plane.ndim != 2:
            shape = getattr(plane, "shape", None)
            raise ValueError(
                f"{who}: plane {name} is {type(plane).__name__} {getattr(plane, 'dtype', '')} "
                f"{shape}; pass 2-D uint8 arrays (a frame ring's or a decoder's planes)"
            )
    height, width = y.shape
    chroma = ((height + 1) // 2, (width + 1) // 2)
    if u.shape != chroma or v.shape != chroma:
        raise ValueError(
            f"{who}: chroma planes {u.shape} and {v.shape} do not match a {width}x{height} "
            f"luma plane; 4:2:0 needs {chroma} (rows, columns) each"
        )
