"""Scale kernel: YUV 4:2:0 planes to a letterboxed float32 RGBA texture for the console.

Pure Numba kernel: the caller owns the output texture (allocated once at the tile's size, C
contiguous, as Dear PyGui's raw textures need) and the kernel writes all of it in place, picture
and bars; only row-sized temporaries are allocated per call. No I/O, no ``nvr`` import.

What it computes, per output pixel of the picture: bilinear samples of the Y plane and of the U
and V planes at the pixel's centre (half-pixel centres, edge clamping, as ``cv2.resize`` with
``INTER_LINEAR``; a chroma sample is centred on the 2x2 luma block it covers), then BT.601
limited-range YUV -> RGB with OpenCV's coefficients (``cv2.COLOR_YUV2RGB_I420``: ``Y - 16`` floored
at 0, times 1.164; V adds 1.596 to R and -0.813 to G; U adds 2.018 to B and -0.391 to G), clamped
to 0..255 and divided by 255. Bars are black; alpha is 1 everywhere.

How it is fast: bilinear resampling is separable. Vertical blends are contiguous and vectorise;
the horizontal pass is a gather (each output column reads two source columns). It runs in
blocks of 16 outputs whose taps fall within a 32-sample window: two vector loads and in-register
permutes (``_lerp_block``) instead of 32 scalar loads, about four times faster (a hardware gather
is slower than scalar code on the build machine's Zen 5). It is also done as few times as
possible: chroma rows, and luma rows when the picture is taller than the source, are resampled
horizontally once per source row into a two-row cache that consecutive output rows blend
vertically; when the picture is shorter than the source, luma is blended vertically first (over
the source width) and resampled once per output row. Colour conversion and the interleaved RGBA
stores run in one vectorised loop per output row.

Single-threaded on purpose: a ``prange`` over row bands halved the time in a tight loop on the
two-core build machine, but a parallel region has to wake its helper thread, and on that machine
(a VM) the wake-up after an idle gap takes milliseconds: with 16 ms between calls (a GUI frame
loop) the median call took 7.6 ms instead of 0.25 ms. The console can convert different tiles
on different threads instead; the kernel releases the GIL.
"""

from __future__ import annotations

import time

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# BT.601 limited range, OpenCV's fixed-point coefficients (ITUR_BT_601_*, 20 fraction bits),
# with the final division by 255 folded in.
_CY = np.float32(1220542 / 2**20 / 255)
_CUB = np.float32(2116026 / 2**20 / 255)
_CUG = np.float32(-409993 / 2**20 / 255)
_CVG = np.float32(-852492 / 2**20 / 255)
_CVR = np.float32(1673527 / 2**20 / 255)
# Horizontal resampling runs in blocks of _LANES outputs whose taps lie within a window of
# 2 * _LANES source samples (a downscale of up to about 2x); source rows carry that much padding.
_LANES = 16
_PAD = 2 * _LANES


@njit(cache=True, nogil=True)
def _fit(src_w, src_h, dst_w, dst_h):
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
    x, y, w, h = _fit(src_w, src_h, dst_w, dst_h)
    return int(x), int(y), int(w), int(h)


@njit(cache=True, nogil=True)
def _taps(src, dst, size, chroma):
    """Bilinear taps for ``dst`` output samples over ``src`` source samples.

    Output ``d`` reads ``index[d]`` and ``index[d] + 1`` with weight ``frac[d]`` on the second
    (``cv2.resize`` INTER_LINEAR: centre ``(d + 0.5) * src / dst - 0.5``, clamped to the edge).
    ``chroma``: the taps are on a half-resolution plane of ``size`` samples, whose sample ``c``
    is centred on luma ``2c + 0.5``. Reading ``index + 1`` needs one padding sample.
    Block tables for ``_resample``: block ``b`` (outputs ``b * _LANES ..``) reads the window
    starting at ``base[b]``, output ``d`` its element ``rel[d]``; ``fits`` tells whether every
    block's taps lie within a window of ``2 * _LANES`` samples, ``fits_pairs`` within one of
    ``_LANES`` (two interleaved planes).
    """
    index = np.empty(dst, np.int32)
    frac = np.empty(dst, np.float32)
    step = src / dst
    for d in range(dst):
        s = (d + 0.5) * step - 0.5
        if chroma:
            s = (s - 0.5) * 0.5
        i = int(np.floor(s))
        f = s - i
        if i < 0:
            i = 0
            f = 0.0
        if i >= size - 1:
            i = size - 1
            f = 0.0
        index[d] = i
        frac[d] = f
    blocks = dst // _LANES
    base = np.empty(blocks, np.int64)
    rel = np.zeros(dst, np.int32)
    fits = True
    fits_pairs = True
    for b in range(blocks):
        base[b] = index[b * _LANES]
        for d in range(b * _LANES, (b + 1) * _LANES):
            rel[d] = index[d] - base[b]
            fits = fits and rel[d] + 1 < 2 * _LANES
            fits_pairs = fits_pairs and rel[d] + 1 < _LANES
    return index, frac, base, rel, fits, fits_pairs


def _window_taps(builder, src, at, rel, stride, offsets):
    """LLVM IR: for each ``offset`` in ``offsets``, the vector ``src[at + stride * rel + offset]``
    over ``_LANES`` lanes, where every index lies within ``src[at : at + 2 * _LANES]``.

    Two vector loads of the window and variable in-register permutes: a build_vector of variable
    extracts, which LLVM lowers to ``vpermps`` where the CPU has it (scalar code elsewhere).
    """
    i32 = ir.IntType(32)
    vf = ir.VectorType(ir.FloatType(), _LANES)
    vi = ir.VectorType(i32, _LANES)
    window = builder.bitcast(builder.gep(src, [at]), vf.as_pointer())
    halves = (
        builder.load(window, align=4),
        builder.load(builder.gep(window, [ir.Constant(i32, 1)]), align=4),
    )
    scaled = builder.mul(rel, ir.Constant(vi, [stride] * _LANES))

    def permute(vec, lanes):
        out = ir.Constant(vf, ir.Undefined)
        for k in range(_LANES):
            lane = builder.extract_element(lanes, ir.Constant(i32, k))
            out = builder.insert_element(
                out, builder.extract_element(vec, lane), ir.Constant(i32, k)
            )
        return out

    taps = []
    for offset in offsets:
        index = builder.add(scaled, ir.Constant(vi, [offset] * _LANES))
        lanes = builder.and_(index, ir.Constant(vi, [_LANES - 1] * _LANES))
        low = builder.icmp_unsigned("<", index, ir.Constant(vi, [_LANES] * _LANES))
        taps.append(builder.select(low, permute(halves[0], lanes), permute(halves[1], lanes)))
    return taps


def _lerp_codegen(stride, planes):
    """Codegen of ``_lerp_block`` (``stride`` 1, one plane) or ``_lerp_pair_block`` (``stride`` 2,
    two interleaved planes)."""

    def codegen(context, builder, signature, args):
        arrays = [
            context.make_array(t)(context, builder, v)
            for t, v in zip(signature.args, args, strict=True)
            if isinstance(t, types.Array)
        ]
        src, rel, frac, outs = arrays[0], arrays[1], arrays[2], arrays[3:]
        base, d0 = args[1], args[-1]
        vf = ir.VectorType(ir.FloatType(), _LANES)
        vi = ir.VectorType(ir.IntType(32), _LANES)

        def vector(arr, vt):
            return builder.bitcast(builder.gep(arr.data, [d0]), vt.as_pointer())

        at = builder.mul(base, ir.Constant(base.type, stride))
        first = builder.load(vector(rel, vi), align=4)
        f = builder.load(vector(frac, vf), align=4)
        offsets = [p + k * stride for p in range(planes) for k in (0, 1)]
        taps = _window_taps(builder, src.data, at, first, stride, offsets)
        for p in range(planes):
            a, b = taps[2 * p], taps[2 * p + 1]
            result = builder.fadd(a, builder.fmul(f, builder.fsub(b, a)))
            builder.store(result, vector(outs[p], vf), align=4)
        return context.get_dummy_value()

    return codegen


@intrinsic
def _lerp_block(typingctx, src, base, rel, frac, dst, d0):
    """``dst[d0 + k] = src[i] + frac[d0 + k] * (src[i + 1] - src[i])`` with
    ``i = base + rel[d0 + k]``, for ``k < _LANES``; contiguous float32/int32 arrays, every
    ``i + 1 < base + 2 * _LANES``. About four times faster than the scalar gather here.
    """
    return types.void(src, base, rel, frac, dst, d0), _lerp_codegen(1, 1)


@intrinsic
def _lerp_pair_block(typingctx, src, base, rel, frac, dst_a, dst_b, d0):
    """``_lerp_block`` over two planes interleaved in ``src`` (``src[2i]``, ``src[2i + 1]``) into
    ``dst_a`` and ``dst_b``: one window serves both (every ``i + 1 < base + _LANES``)."""
    return types.void(src, base, rel, frac, dst_a, dst_b, d0), _lerp_codegen(2, 2)


@njit(cache=True, nogil=True)
def _row(p, r, buf):
    """``buf[:w]`` = row ``r`` of plane ``p`` as float32, then padding (the last sample)."""
    w = p.shape[1]
    for c in range(w):
        buf[c] = p[r, c]
    for c in range(w, buf.shape[0]):
        buf[c] = buf[w - 1]


@njit(cache=True, nogil=True)
def _luma_blend(y, r0, r1, f, buf):
    """``buf[:W]`` = luma rows ``r0`` and ``r1`` blended with weight ``f`` on ``r1``, padded."""
    w = y.shape[1]
    for c in range(w):
        a = np.float32(y[r0, c])
        buf[c] = a + f * (np.float32(y[r1, c]) - a)
    for c in range(w, buf.shape[0]):
        buf[c] = buf[w - 1]


@njit(cache=True, nogil=True)
def _resample(src, taps, dst):
    """``dst`` = ``src`` (padded float32 row) sampled at the taps (linear)."""
    index, frac, base, rel, fits, _ = taps
    start = 0
    if fits:
        for b in range(base.shape[0]):
            _lerp_block(src, base[b], rel, frac, dst, b * _LANES)
        start = base.shape[0] * _LANES
    for d in range(start, dst.shape[0]):
        i = index[d]
        a = src[i]
        dst[d] = a + frac[d] * (src[i + 1] - a)


@njit(cache=True, nogil=True)
def _interleave_row(u, v, r, buf):
    """``buf[2c], buf[2c + 1]`` = row ``r`` of ``u`` and ``v`` as float32, then padding."""
    w = u.shape[1]
    for c in range(w):
        buf[2 * c] = u[r, c]
        buf[2 * c + 1] = v[r, c]
    for c in range(2 * w, buf.shape[0]):
        buf[c] = buf[c - 2]


@njit(cache=True, nogil=True)
def _chroma_row(u, v, r, buf, taps, dst, k):
    """``dst[k]`` and ``dst[k + 1]``: chroma row ``r`` of U and of V at the picture width.

    Both planes from one interleaved row and one set of windows when the taps allow (chroma
    taps advance at most half as fast as luma ones, so they do unless the picture is less than
    about half the source width); else plane by plane.
    """
    index, frac, base, rel, fits, fits_pairs = taps
    if not fits_pairs:
        _row(u, r, buf)
        _resample(buf, taps, dst[k])
        _row(v, r, buf)
        _resample(buf, taps, dst[k + 1])
        return
    _interleave_row(u, v, r, buf)
    dst_u = dst[k]
    dst_v = dst[k + 1]
    for b in range(base.shape[0]):
        _lerp_pair_block(buf, base[b], rel, frac, dst_u, dst_v, b * _LANES)
    for d in range(base.shape[0] * _LANES, dst_u.shape[0]):
        i = 2 * index[d]
        f = frac[d]
        dst_u[d] = buf[i] + f * (buf[i + 2] - buf[i])
        dst_v[d] = buf[i + 1] + f * (buf[i + 3] - buf[i + 1])


@njit(cache=True, nogil=True)
def _rgba_row(rows, lt, lb, fy, ut, ub, cf, orow):
    """One picture row: blend the cached rows vertically, convert to RGB, store RGBA.

    ``rows[lt]``/``rows[lb]``: luma at the picture width, blended with weight ``fy`` on ``lb``;
    ``rows[ut]``, ``rows[ut + 1]`` (U, V of the upper chroma row) and ``rows[ub]``,
    ``rows[ub + 1]`` (lower), blended with ``cf``. ``orow``: the picture's span of the output
    row, flat (``4 * w`` float32), so the interleaved stores vectorise. Bound by the stores:
    about as fast as filling the texture.
    """
    zero = np.float32(0.0)
    one = np.float32(1.0)
    luma_a = rows[lt]
    luma_b = rows[lb]
    u_a = rows[ut]
    v_a = rows[ut + 1]
    u_b = rows[ub]
    v_b = rows[ub + 1]
    for d in range(luma_a.shape[0]):
        lum = luma_a[d] + fy * (luma_b[d] - luma_a[d])
        cu = u_a[d] + cf * (u_b[d] - u_a[d]) - np.float32(128.0)
        cv = v_a[d] + cf * (v_b[d] - v_a[d]) - np.float32(128.0)
        yc = max(lum - np.float32(16.0), zero) * _CY
        orow[4 * d] = min(max(yc + _CVR * cv, zero), one)
        orow[4 * d + 1] = min(max(yc + _CVG * cv + _CUG * cu, zero), one)
        orow[4 * d + 2] = min(max(yc + _CUB * cu, zero), one)
        orow[4 * d + 3] = one


@njit(cache=True, nogil=True)
def _rgba_row_luma(rows, lt, ut, ub, cf, orow):
    """``_rgba_row`` when the luma row is final (``rows[lt]``, no vertical blend). A function of
    its own: both loops in one function vectorise worse."""
    zero = np.float32(0.0)
    one = np.float32(1.0)
    luma = rows[lt]
    u_a = rows[ut]
    v_a = rows[ut + 1]
    u_b = rows[ub]
    v_b = rows[ub + 1]
    for d in range(luma.shape[0]):
        cu = u_a[d] + cf * (u_b[d] - u_a[d]) - np.float32(128.0)
        cv = v_a[d] + cf * (v_b[d] - v_a[d]) - np.float32(128.0)
        yc = max(luma[d] - np.float32(16.0), zero) * _CY
        orow[4 * d] = min(max(yc + _CVR * cv, zero), one)
        orow[4 * d + 1] = min(max(yc + _CVG * cv + _CUG * cu, zero), one)
        orow[4 * d + 2] = min(max(yc + _CUB * cu, zero), one)
        orow[4 * d + 3] = one


@njit(cache=True, nogil=True)
def _picture(y, u, v, flat, px, py, pw, ph):
    """Every picture row of the tile, with two-row caches of horizontally resampled rows."""
    src_h, src_w = y.shape
    ch, cw = u.shape
    luma_x = _taps(src_w, pw, src_w, False)
    luma_y, luma_fy, _, _, _, _ = _taps(src_h, ph, src_h, False)
    chroma_x = _taps(src_w, pw, cw, True)
    chroma_y, chroma_fy, _, _, _, _ = _taps(src_h, ph, ch, True)
    # Luma resampled horizontally once per source row when the picture is taller than the
    # source (each source row serves more than one output row); else blended vertically first.
    luma_cached = ph > src_h
    # rows: 0, 1 luma cache slots; 2, 3 and 4, 5: (U, V) chroma cache slots; 6: luma of the row.
    rows = np.empty((7, pw), np.float32)
    line = np.empty(src_w + _PAD, np.float32)
    chroma_line = np.empty(2 * (cw + _PAD), np.float32)
    luma_key = np.array([-1, -1])  # source row held by luma slot 0, 1
    chroma_key = np.array([-1, -1])  # source row held by chroma slot pair 2-3, 4-5
    for t in range(ph):
        r0 = luma_y[t]
        r1 = min(r0 + 1, src_h - 1)
        if luma_cached:
            lt = _slot(luma_key, r0, r1)
            if luma_key[lt] != r0:
                _row(y, r0, line)
                _resample(line, luma_x, rows[lt])
                luma_key[lt] = r0
            lb = _slot(luma_key, r1, r0)
            if luma_key[lb] != r1:
                _row(y, r1, line)
                _resample(line, luma_x, rows[lb])
                luma_key[lb] = r1
        else:
            _luma_blend(y, r0, r1, luma_fy[t], line)
            _resample(line, luma_x, rows[6])
            lt = lb = 6
        c0 = chroma_y[t]
        c1 = min(c0 + 1, ch - 1)
        st = _slot(chroma_key, c0, c1)
        if chroma_key[st] != c0:
            _chroma_row(u, v, c0, chroma_line, chroma_x, rows, 2 + 2 * st)
            chroma_key[st] = c0
        sb = _slot(chroma_key, c1, c0)
        if chroma_key[sb] != c1:
            _chroma_row(u, v, c1, chroma_line, chroma_x, rows, 2 + 2 * sb)
            chroma_key[sb] = c1
        orow = flat[py + t, 4 * px : 4 * (px + pw)]
        if luma_cached:
            _rgba_row(rows, lt, lb, luma_fy[t], 2 + 2 * st, 2 + 2 * sb, chroma_fy[t], orow)
        else:
            _rgba_row_luma(rows, 6, 2 + 2 * st, 2 + 2 * sb, chroma_fy[t], orow)


@njit(cache=True, nogil=True)
def _slot(key, want, keep):
    """Cache slot (0 or 1) for source row ``want``: the slot holding it, else the slot that
    does not hold ``keep`` (the other row the current output row needs)."""
    if key[0] == want:
        return 0
    if key[1] == want:
        return 1
    return 1 if key[0] == keep else 0


@njit(cache=True, nogil=True)
def _fill_black(flat, t, x0, x1):
    for x in range(x0, x1):
        flat[t, 4 * x] = 0.0
        flat[t, 4 * x + 1] = 0.0
        flat[t, 4 * x + 2] = 0.0
        flat[t, 4 * x + 3] = 1.0


@njit(cache=True, nogil=True)
def _bars(flat, px, py, pw, ph):
    """Everything outside the picture: black, alpha 1."""
    th = flat.shape[0]
    tw = flat.shape[1] // 4
    for t in range(th):
        if py <= t < py + ph:
            _fill_black(flat, t, 0, px)
            _fill_black(flat, t, px + pw, tw)
        else:
            _fill_black(flat, t, 0, tw)


# Every plane is handled as a read-only array of any layout, so the kernel compiles once rather
# than once per layout and writability of each of its three inputs.
_PLANE = types.Array(types.uint8, 2, "A", readonly=True)


@njit(_PLANE(_PLANE), cache=True, nogil=True)
def _plane(a):
    return a


@njit(cache=True, nogil=True)
def _convert(y, u, v, out):
    src_h, src_w = y.shape
    th, tw = out.shape[0], out.shape[1]
    flat = out.reshape(th, tw * 4)
    px, py, pw, ph = _fit(src_w, src_h, tw, th)
    _bars(flat, px, py, pw, ph)
    if pw > 0:
        _picture(y, u, v, flat, px, py, pw, ph)


@njit(cache=True, nogil=True)
def yuv420_to_rgba(y, u, v, out):
    """Convert and letterbox one frame into a tile texture, every pixel of ``out`` written.

    Inputs: ``y`` (H, W) uint8; ``u``, ``v`` (ceil(H/2), ceil(W/2)) uint8; any strides, read-only
    views fine. Output: ``out`` (th, tw, 4) float32, C-contiguous, values 0..1: the picture at
    ``letterbox(W, H, tw, th)``, bilinear, BT.601 limited range; black bars; alpha 1.
    """
    _convert(_plane(y), _plane(u), _plane(v), out)


def warm() -> float:
    """Compile (or load from cache) the kernel; returns seconds taken.

    ``yuv420_to_rgba`` is compiled for read-only planes of any layout and then locked: planes
    that are C-contiguous, strided (decoder line padding) or writable convert to that signature,
    so no frame waits for a compile.
    """
    start = time.perf_counter()
    y = np.full((6, 16), 128, np.uint8)
    c = np.full((3, 8), 128, np.uint8)
    y.flags.writeable = False
    c.flags.writeable = False
    out = np.zeros((4, 8, 4), np.float32)
    yuv420_to_rgba(y[:, :10], c[:, :5], c[:, :5], out)
    yuv420_to_rgba.disable_compile()
    return time.perf_counter() - start
