"""Motion-detection kernels: fused downscale/blur/background pass, and changed-region boxes.

Pure Numba kernels: outputs are caller-owned arrays written in place (only row-sized temporaries
are allocated per call), no I/O, no ``nvr`` import.
Each kernel is compiled lazily per argument type (``y`` may be C-contiguous or strided, writable
or read-only); ``warm()`` compiles the common variants up front.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def analyse_frame(y, scratch, small, bg, mask, zone, threshold, alpha):
    """Downscale, blur and compare one luma plane with the running background, in one call.

    Inputs: ``y`` (H, W) uint8, any strides; ``zone`` (h, w) uint8, 0/1; ``threshold`` and
    ``alpha`` Python floats; ``h <= H`` and ``w <= W``.
    Outputs (all (h, w), written in place): ``scratch`` float32, the integer-area average of ``y``
    (analysis pixel (i, j) averages rows ``i*H//h .. (i+1)*H//h`` and the same for columns);
    ``small`` float32, ``scratch`` after a 3x3 box blur (reflect-101 border, as ``cv2.blur``);
    ``mask`` uint8, 1 where ``|small - bg| > threshold`` inside the zone, else 0; ``bg`` float32,
    updated as ``bg += alpha * (small - bg)`` after the comparison.
    Returns ``(zone_changed, all_changed)``: changed pixels inside the zone, and in the whole frame.
    """
    src_h, src_w = y.shape
    h, w = small.shape
    bounds = np.empty(w + 1, np.int64)
    for j in range(w + 1):
        bounds[j] = j * src_w // w
    colsum = np.empty(src_w, np.int32)
    for i in range(h):
        r0 = i * src_h // h
        r1 = (i + 1) * src_h // h
        colsum[:] = 0
        for r in range(r0, r1):
            row = y[r]
            for c in range(src_w):
                colsum[c] += row[c]
        rows = r1 - r0
        for j in range(w):
            s = 0
            for c in range(bounds[j], bounds[j + 1]):
                s += colsum[c]
            scratch[i, j] = np.float32(s) / np.float32(rows * (bounds[j + 1] - bounds[j]))

    ninth = np.float32(1.0 / 9.0)
    thr = np.float32(threshold)
    a = np.float32(alpha)
    # Column sums of three rows, padded with the reflect-101 border: vsum[j + 1] is column j.
    vsum = np.empty(w + 2, np.float32)
    zone_changed = 0
    all_changed = 0
    for i in range(h):
        ra = scratch[i - 1 if i > 0 else min(1, h - 1)]
        rb = scratch[i]
        rc = scratch[i + 1 if i < h - 1 else max(h - 2, 0)]
        for j in range(w):
            vsum[j + 1] = ra[j] + rb[j] + rc[j]
        vsum[0] = vsum[min(2, w)]
        vsum[w + 1] = vsum[max(w - 1, 1)]
        for j in range(w):
            v = (vsum[j] + vsum[j + 1] + vsum[j + 2]) * ninth
            small[i, j] = v
            d = v - bg[i, j]
            bg[i, j] += a * d
            changed = abs(d) > thr
            inside = changed and zone[i, j] != 0
            mask[i, j] = inside
            all_changed += changed
            zone_changed += inside
    return zone_changed, all_changed


@njit(cache=True, nogil=True)
def _root(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True, nogil=True)
def _union(parent, a, b):
    ra = _root(parent, a)
    rb = _root(parent, b)
    if ra < rb:
        parent[rb] = ra
        return ra
    parent[ra] = rb
    return rb


@njit(cache=True, nogil=True)
def motion_boxes(mask, labels, stats, min_pixels, out):
    """Bounding boxes of the 8-connected components of a changed mask.

    Inputs: ``mask`` (h, w) uint8, nonzero = changed; ``min_pixels``: components with fewer
    pixels are dropped. Scratch: ``labels`` (h, w) int32 C-contiguous, ``stats`` (n, 5) int32 with
    ``n >= ceil(h/2) * ceil(w/2)`` (the most components an 8-connected mask can have); both are
    overwritten. Output: ``out`` (max_boxes, 4) int32 rows ``x, y, w, h`` in mask coordinates.
    Returns the number of boxes written; when more components qualify, the ones with the largest
    box areas are kept (in no particular order).
    """
    h, w = mask.shape
    parent = labels.reshape(h * w)
    # Pass 1: union-find over pixel indices; a root is always its component's first pixel in
    # raster order, so every other pixel points to an earlier one.
    for i in range(h):
        for j in range(w):
            p = i * w + j
            if mask[i, j] == 0:
                parent[p] = -1
                continue
            north = i > 0 and mask[i - 1, j] != 0
            if north:
                parent[p] = p - w
                continue
            parent[p] = p
            if j > 0 and mask[i, j - 1] != 0:
                parent[p] = _union(parent, p, p - 1)
            elif i > 0 and j > 0 and mask[i - 1, j - 1] != 0:
                parent[p] = _union(parent, p, p - w - 1)
            if i > 0 and j < w - 1 and mask[i - 1, j + 1] != 0:
                parent[p] = _union(parent, p, p - w + 1)
    # Pass 2: raster order visits each root before its members; give each root a compact id,
    # stored as -(id + 2) (-1 is background), and accumulate per-component statistics.
    count = 0
    for i in range(h):
        for j in range(w):
            p = i * w + j
            q = parent[p]
            if q == -1:
                continue
            if q == p:
                if count == stats.shape[0]:
                    parent[p] = -1
                    continue
                parent[p] = -(count + 2)
                stats[count, 0] = j
                stats[count, 1] = i
                stats[count, 2] = j
                stats[count, 3] = i
                stats[count, 4] = 0
                count += 1
            else:
                parent[p] = parent[q]
                if parent[p] == -1:
                    continue
            k = -parent[p] - 2
            stats[k, 0] = min(stats[k, 0], j)
            stats[k, 2] = max(stats[k, 2], j)
            stats[k, 3] = i
            stats[k, 4] += 1
    # Pass 3: keep qualifying components, replacing the smallest box once ``out`` is full.
    n = 0
    for k in range(count):
        if stats[k, 4] < min_pixels:
            continue
        bw = stats[k, 2] - stats[k, 0] + 1
        bh = stats[k, 3] - stats[k, 1] + 1
        slot = n
        if n == out.shape[0]:
            slot = -1
            smallest = bw * bh
            for s in range(n):
                area = out[s, 2] * out[s, 3]
                if area < smallest:
                    smallest = area
                    slot = s
            if slot < 0:
                continue
        else:
            n += 1
        out[slot, 0] = stats[k, 0]
        out[slot, 1] = stats[k, 1]
        out[slot, 2] = bw
        out[slot, 3] = bh
    return n


def warm() -> float:
    """Compile (or load from cache) every kernel variant used at run time; returns seconds taken."""
    start = time.perf_counter()
    y = np.zeros((8, 12), np.uint8)
    y[2:5, 3:7] = 200
    frozen = y.copy()
    frozen.flags.writeable = False
    scratch = np.zeros((4, 5), np.float32)
    small = np.zeros_like(scratch)
    bg = np.zeros_like(scratch)
    mask = np.zeros((4, 5), np.uint8)
    zone = np.ones_like(mask)
    for plane in (y, y[:, :10], frozen, frozen[:, :10]):
        analyse_frame(plane, scratch, small, bg, mask, zone, 25.0, 0.05)
    labels = np.empty((4, 5), np.int32)
    stats = np.empty((6, 5), np.int32)
    motion_boxes(mask, labels, stats, 1, np.empty((2, 4), np.int32))
    return time.perf_counter() - start
