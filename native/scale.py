"""Scale kernel: YUV 4:2:0 planes to a letterboxed float32 RGBA texture for the console.

Pure Numba kernel: the caller owns the output texture, either a tile's own (allocated once at
the tile's size, C-contiguous, as Dear PyGui's raw textures need) or the tile's region of a larger
texture holding the whole grid (``atlas[y0 : y0 + th, x0 : x0 + tw]``: pixels contiguous, rows a
larger pitch apart). The kernel writes all of the tile in place, picture and bars, and nothing
outside it; only a few rows of temporaries are allocated per call, and a small plan per geometry
once. No I/O, no ``nvr`` import.

What it computes, per output pixel of the picture: bilinear samples of the Y plane and of the U
and V planes at the pixel's centre (half-pixel centres, edge clamping, as ``cv2.resize`` with
``INTER_LINEAR``; a chroma sample is centred on the 2x2 luma block it covers), then BT.601
limited-range YUV -> RGB with OpenCV's coefficients (``cv2.COLOR_YUV2RGB_I420``: ``Y - 16`` floored
at 0, times 1.164; V adds 1.596 to R and -0.813 to G; U adds 2.018 to B and -0.391 to G), clamped
to 0..255 and divided by 255. Bars are black; alpha 1 everywhere.

How it is fast (measured on two-core build machines, Zen 5 with AVX-512 and Zen 3 with AVX2,
640x360 into 480x270 and 960x540):
- Bilinear resampling is separable. Each source row a picture needs is resampled horizontally
  once (when the picture is no taller than the source, luma rows are blended vertically first,
  over the source width, so there are fewer of them), into a ring of rows that the output rows
  then blend vertically, converting colour and storing RGBA in one vectorised loop per row.
- The horizontal pass is a gather (each output reads two source samples). It runs in blocks of
  one vector register of outputs (16 with AVX-512, 8 with AVX2) whose taps fall within a window
  of two registers (``_lerp_block``), or of one when the picture is upscaled (``_lerp_narrow``:
  half the permutes and no selects, 7% off at 960x540): vector loads and in-register permutes
  (small LLVM IR intrinsics, as numba has no vector shuffles) instead of scalar loads. They are
  kept because nothing in plain numba comes close: the scalar gather made the whole kernel three
  times slower (a hardware gather is slower still on Zen 5). The permute must match the CPU
  (``PERMUTE``): LLVM lowers the generic form well only with AVX-512; on an AVX2 CPU it
  scalarised it and the kernel took 1.3 ms at 480x270, twice OpenCV's time, where ``vpermps``
  takes 0.25 ms. Other CPUs use the scalar taps.
- The planes are read as ``(sample - offset) * gain`` (``_fetch``): the YUV offsets and the R and
  B gains cost once per source sample, not per output pixel.
- The output stage (``_rgba_block``, another intrinsic) interleaves R, G, B and A with unpacks
  within 128-bit lanes only, and the horizontal pass stores each block's pixels in the order
  (``_SLOTS``) that those unpacks put back in place. LLVM's own interleave of a numba loop added
  lane-crossing permutes and blends (18 shuffles per 8 pixels with AVX2, against 8): with AVX2
  (numba compiling for ``znver3`` without AVX-512 on a Zen 5) the kernel took 0.12 ms at
  480x270 with it, 0.095 ms now, with the two changes above and below.
- The rows are processed in bands of ``_BAND`` output rows: the source rows a band needs, then
  the band's output. Every numba call (and every ``inline="always"`` helper) that takes arrays
  costs reference-count updates, atomic calls of a few ns each; with helpers called per row
  they took 40% of the time, per band they are noise. The bands' rings stay in cache.
- Everything that depends only on the geometry (taps, weights, which source rows each band needs)
  is planned once per (source size, tile size) and kept by ``yuv420_to_rgba``: 3-6 us a call
  less (passing the plan in costs ~1 us of argument unboxing).
- The output is written through a flat C-contiguous view of its memory, first pixel to last, and
  a row pitch (``span``, a small intrinsic): a region of an atlas is written with the same
  contiguous stores as a tile, where numba's own stores into a strided (``'A'``) array do not
  vectorise. So the kernel body is the same for both, and it is compiled once, for ``'A'``
  outputs, which C-contiguous tiles convert to (``warm``). Converting straight into the atlas
  costs what converting into a tile does; a tile then ``np.copyto`` cost 40-60% more.

Single-threaded on purpose: a ``prange`` over row bands halved the time in a tight loop on the
two-core build machine, but a parallel region has to wake its helper thread, and on that machine
(a VM) the wake-up after an idle gap takes milliseconds: with 16 ms between calls (a GUI frame
loop) the median call took 7.6 ms instead of 0.25 ms. Callers can convert different tiles on
different threads instead: the JIT kernel releases the GIL (the console's ahead-of-time copy,
``gui.kernel``, does not).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from native.isa import VECTOR_ISA
from native.texture import check_out, check_planes, fit
from native.views import span

# BT.601 limited range, OpenCV's fixed-point coefficients (ITUR_BT_601_*, 20 fraction bits),
# with the final division by 255 folded in.
_CY = np.float32(1220542 / 2**20 / 255)
_CUB = np.float32(2116026 / 2**20 / 255)
_CUG = np.float32(-409993 / 2**20 / 255)
_CVG = np.float32(-852492 / 2**20 / 255)
_CVR = np.float32(1673527 / 2**20 / 255)
# Planes are read as ``(sample - offset) * gain`` (resampling is linear, so the offsets and the
# R and B gains are applied once per source sample, not per output pixel); green then takes
# these ratios of the scaled chroma.
_GV = np.float32(_CVG / _CVR)
_GU = np.float32(_CUG / _CUB)


# The in-register permute of the horizontal pass (``_lerp_codegen``): ``"avx512"``, LLVM's generic
# lowering of variable extracts (fast with AVX-512's two-source permutes); ``"avx2"``, ``vpermps``
# called directly (LLVM scalarises the generic form there, which made the kernel slower than the
# scalar taps); ``""``: none, the scalar taps.
PERMUTE = VECTOR_ISA
# Horizontal resampling runs in blocks of _LANES outputs (a vector register's worth) whose taps
# lie within a window of 2 * _LANES source samples (a downscale of up to about 2x); source rows
# carry that much padding.
_LANES = 16 if PERMUTE == "avx512" else 8
_PAD = 2 * _LANES
# The output pixel each slot of a block holds (``_taps``): the order in which ``_rgba_block``'s
# shuffles, all within 128-bit lanes, put pixels back in place as they interleave RGBA.
_SLOTS = np.array([(s % 4) * (_LANES // 4) + s // 4 for s in range(_LANES)], np.int64)
# Output rows per band (see the module's docstring).
_BAND = 16
# Geometries whose plans yuv420_to_rgba keeps (a few KiB each); all are dropped past this.
_MAX_PLANS = 64


# Where the picture goes in the tile: the console's geometry, compiled into the plan.
_fit = njit(cache=True, nogil=True)(fit)


@njit(cache=True, nogil=True)
def _weights(src, dst, size, chroma):
    """``(index, frac)``: bilinear taps for ``dst`` output samples over ``src`` source samples.

    Output ``d`` reads ``index[d]`` and ``index[d] + 1`` with weight ``frac[d]`` on the second
    (``cv2.resize`` INTER_LINEAR: centre ``(d + 0.5) * src / dst - 0.5``, clamped to the edge).
    ``chroma``: the taps are on a half-resolution plane of ``size`` samples, whose sample ``c``
    is centred on luma ``2c + 0.5``. Reading ``index + 1`` needs one padding sample.
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
    return index, frac


@njit(cache=True, nogil=True)
def _taps(src, dst, size, chroma):
    """Horizontal taps in slot order, ``(index, frac, base, rel, window)``: ``_weights`` with each
    whole block of ``_LANES`` outputs in the order ``_rgba_block`` stores them (``_SLOTS``), and
    the block tables.

    Slot ``s`` (``< dst``) holds output ``s`` past the whole blocks, else output ``b * _LANES +
    _SLOTS[s % _LANES]`` of its block ``b = s // _LANES``; a resampled row is kept in slot order.
    Block ``b`` reads the window starting at ``base[b]``, slot ``s`` its element ``rel[s]``;
    ``window``: how many registers of ``_LANES`` samples every block's taps fit in, 1 (an upscale)
    or 2 (down to about half), or 0: they do not (or the CPU has no permute) and the scalar loop
    does all.
    """
    index, frac = _weights(src, dst, size, chroma)
    blocks = dst // _LANES
    for b in range(blocks):
        d = b * _LANES
        block_index = index[d : d + _LANES].copy()
        block_frac = frac[d : d + _LANES].copy()
        for s in range(_LANES):
            index[d + s] = block_index[_SLOTS[s]]
            frac[d + s] = block_frac[_SLOTS[s]]
    base = np.empty(blocks, np.int64)
    rel = np.zeros(dst, np.int32)
    reach = 0  # the farthest sample a block reads, from its base
    for b in range(blocks):
        base[b] = index[b * _LANES]  # slot 0 holds the block's first output
        for d in range(b * _LANES, (b + 1) * _LANES):
            rel[d] = index[d] - base[b]
            reach = max(reach, rel[d] + 1)
    window = 0
    if PERMUTE != "":
        window = 1 if reach < _LANES else 2 if reach < 2 * _LANES else 0
    return index, frac, base, rel, window


@njit(cache=True, nogil=True)
def _rows(index, frac, n, size, blended):
    """Which source rows to resample, for ``n`` output rows with vertical taps ``index, frac``
    over ``size`` source rows, and how output rows blend them: ``(jobs, bands, vertical, ring)``.

    Resampled rows go into a ring of ``ring`` rows. ``jobs = (rows, weights)``: job ``j`` blends
    source rows ``rows[j, 0]`` and ``rows[j, 1]`` with weight ``weights[j]`` on the second into
    ring row ``rows[j, 2]``; band ``b`` (output rows from ``b * _BAND``) needs jobs
    ``bands[b] .. bands[b + 1]``. ``vertical = (rows, weights)``: output row ``t`` blends ring
    rows ``rows[t, 0]`` and ``rows[t, 1]`` with ``weights[t]`` on the second.
    ``blended``: a job per output row, its two source rows blended (a picture no taller than its
    source); else a job per source row, each resampled once.
    """
    ring = _BAND
    if not blended:  # the source rows a band needs, with those kept from the band before
        ring = 2
        for t0 in range(0, n, _BAND):
            ring = max(ring, index[min(t0 + _BAND, n) - 1] + 2 - index[t0])
    jobs = np.empty((2 * n, 3), np.int64)
    job_weights = np.zeros(2 * n, np.float32)
    bands = np.zeros((n + _BAND - 1) // _BAND + 1, np.int64)
    rows = np.empty((n, 2), np.int64)
    weights = np.zeros(n, np.float32)
    count = 0
    done = -1  # the last source row resampled
    for t in range(n):
        r0 = index[t]
        r1 = min(r0 + 1, size - 1)
        if blended:
            jobs[count, 0] = r0
            jobs[count, 1] = r1
            jobs[count, 2] = rows[t, 0] = rows[t, 1] = t % ring
            job_weights[count] = frac[t]
            count += 1
        else:
            for r in range(max(r0, done + 1), r1 + 1):
                jobs[count, 0] = jobs[count, 1] = r
                jobs[count, 2] = r % ring
                count += 1
                done = r
            rows[t, 0] = r0 % ring
            rows[t, 1] = r1 % ring
            weights[t] = frac[t]
        bands[t // _BAND + 1] = count
    return (jobs, job_weights), bands, (rows, weights), ring


@njit(cache=True, nogil=True)
def _make_plan(src_h, src_w, ch, cw, th, tw):
    """Everything about converting a ``src_w x src_h`` frame (chroma ``cw x ch``) into a
    ``tw x th`` tile that does not depend on the pixels: ``(fit, luma_x, chroma_x, luma_rows,
    chroma_rows)``; ``fit``: the picture's ``(x, y, w, h)`` in the tile; ``*_x``: ``_taps``;
    ``*_rows``: ``_rows``."""
    px, py, pw, ph = _fit(src_w, src_h, tw, th)
    w = max(pw, 1)  # an empty picture: tables that are never read
    h = max(ph, 1)
    luma_y, luma_fy = _weights(src_h, h, src_h, False)
    chroma_y, chroma_fy = _weights(src_h, h, ch, True)
    return (
        (px, py, pw, ph),
        _taps(src_w, w, src_w, False),
        _taps(src_w, w, cw, True),
        _rows(luma_y, luma_fy, h, src_h, h <= src_h),
        _rows(chroma_y, chroma_fy, h, ch, False),
    )


def _lerp_codegen(registers):
    """The LLVM IR of ``_lerp_block`` for a window of ``registers`` (1 or 2) vector registers:
    that many vector loads, and each tap a variable in-register permute (a build_vector of
    variable extracts, which LLVM lowers to ``vpermps`` where the CPU has it, to scalar code
    elsewhere); with two registers, each tap permutes both and selects."""

    def codegen(context, builder, signature, args):
        src, rel, frac, dst = (
            context.make_array(t)(context, builder, v)
            for t, v in zip(signature.args, args, strict=True)
            if isinstance(t, types.Array)
        )
        start, d0, to = args[1], args[4], args[6]
        i32 = ir.IntType(32)
        vf = ir.VectorType(ir.FloatType(), _LANES)
        vi = ir.VectorType(i32, _LANES)

        def splat(value):
            return ir.Constant(vi, [value] * _LANES)

        def vector(ptr, at, vt):
            return builder.bitcast(builder.gep(ptr, [at]), vt.as_pointer())

        window = vector(src.data, start, vf)
        halves = [
            builder.load(builder.gep(window, [ir.Constant(i32, k)]), align=4)
            for k in range(registers)
        ]

        def permute(vec, lanes):
            if PERMUTE == "avx2":  # _LANES == 8: one vpermps
                fn = cgutils.get_or_insert_function(
                    builder.module, ir.FunctionType(vf, [vf, vi]), "llvm.x86.avx2.permps"
                )
                return builder.call(fn, [vec, lanes])
            out = ir.Constant(vf, ir.Undefined)
            for k in range(_LANES):
                lane = builder.extract_element(lanes, ir.Constant(i32, k))
                out = builder.insert_element(
                    out, builder.extract_element(vec, lane), ir.Constant(i32, k)
                )
            return out

        def tap(index):
            if registers == 1:
                return permute(halves[0], index)
            return builder.select(
                builder.icmp_unsigned("<", index, splat(_LANES)),
                permute(halves[0], builder.and_(index, splat(_LANES - 1))),
                permute(halves[1], builder.and_(index, splat(_LANES - 1))),
            )

        first = builder.load(vector(rel.data, d0, vi), align=4)
        a, b = tap(first), tap(builder.add(first, splat(1)))
        f = builder.load(vector(frac.data, d0, vf), align=4)
        result = builder.fadd(a, builder.fmul(f, builder.fsub(b, a)))
        builder.store(result, vector(dst.data, to, vf), align=4)
        return context.get_dummy_value()

    return codegen


def _lerp_intrinsic(registers):
    """The intrinsic ``(src, start, rel, frac, d0, dst, to)`` over a window of ``registers``
    vector registers: ``dst.flat[to + k] = src[i] + frac[d0 + k] * (src[i + 1] - src[i])`` with
    ``i = start + rel[d0 + k]``, for ``k < _LANES``; contiguous float32/int32 arrays, every
    ``i + 1 < start + registers * _LANES``."""

    def lerp_block(typingctx, src, start, rel, frac, d0, dst, to):
        return types.void(src, start, rel, frac, d0, dst, to), _lerp_codegen(registers)

    return intrinsic(lerp_block)


_lerp_block = _lerp_intrinsic(2)
_lerp_narrow = _lerp_intrinsic(1)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _fetch(p, scaled, taps, jobs, j0, j1, line, ring):
    """Jobs ``j0 .. j1`` of ``_rows``: blend two rows of plane ``p`` (or take one) into ``line``
    (float32 ``(sample - offset) * gain`` with ``scaled = (offset, gain)``, padded with the last
    sample), resample it at ``taps`` into a row of ``ring``.

    Loops written out rather than in helpers: a helper taking arrays, called per row, costs
    reference-count updates (see the module's docstring).
    """
    rows, weights = jobs
    index, frac, base, rel, window = taps
    offset, gain = scaled
    w = p.shape[1]
    blocks = base.shape[0] if window else 0
    for j in range(j0, j1):
        r0, r1, k = rows[j, 0], rows[j, 1], rows[j, 2]
        if r0 == r1:
            for c in range(w):
                line[c] = (np.float32(p[r0, c]) - offset) * gain
        else:
            f = weights[j]
            for c in range(w):
                a = np.float32(p[r0, c])
                line[c] = (a + f * (np.float32(p[r1, c]) - a) - offset) * gain
        for c in range(w, w + _PAD):
            line[c] = line[w - 1]
        if window == 1:
            for b in range(blocks):
                d = b * _LANES
                _lerp_narrow(line, base[b], rel, frac, d, ring, k * ring.shape[1] + d)
        else:
            for b in range(blocks):
                d = b * _LANES
                _lerp_block(line, base[b], rel, frac, d, ring, k * ring.shape[1] + d)
        for d in range(blocks * _LANES, index.shape[0]):
            i = index[d]
            a = line[i]
            ring[k, d] = a + frac[d] * (line[i + 1] - a)


def _rgba_codegen(blend_luma):
    """The LLVM IR of ``_rgba_block`` (``blend_luma``) or ``_rgba_block_row`` (luma from row
    ``lt`` alone): vertical lerps, YUV -> RGB, clamps, then RGBA interleaved by unpacks within
    128-bit lanes (``_SLOTS`` makes that order the pixels' own) and stored."""

    def codegen(context, builder, signature, args):
        luma, u, v, out = (
            context.make_array(t)(context, builder, a)
            for t, a in zip(signature.args, args, strict=True)
            if isinstance(t, types.Array)
        )
        lt, lb, fy, ct, cb, cf, to = (args[i] for i in (1, 2, 3, 6, 7, 8, 10))
        i32 = ir.IntType(32)
        f32 = ir.FloatType()
        vf = ir.VectorType(f32, _LANES)
        fmuladd = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vf, [vf, vf, vf]), f"llvm.fmuladd.v{_LANES}f32"
        )

        def const(value):
            return ir.Constant(vf, [float(value)] * _LANES)

        def splat(x):
            one = builder.insert_element(ir.Constant(vf, ir.Undefined), x, ir.Constant(i32, 0))
            return builder.shuffle_vector(
                one, one, ir.Constant(ir.VectorType(i32, _LANES), [0] * _LANES)
            )

        def pointer(array, at):
            return builder.bitcast(builder.gep(array.data, [at]), vf.as_pointer())

        def lerp(array, top, bottom, f):
            a = builder.load(pointer(array, top), align=4)
            b = builder.load(pointer(array, bottom), align=4)
            return builder.call(fmuladd, [splat(f), builder.fsub(b, a), a])

        def above(x, low):
            return builder.select(builder.fcmp_ordered(">", x, low), x, low)

        def below(x, high):
            return builder.select(builder.fcmp_ordered("<", x, high), x, high)

        zero, one = const(0.0), const(1.0)

        def clamp(x):
            return below(above(x, zero), one)

        if blend_luma:
            yc = above(lerp(luma, lt, lb, fy), zero)
        else:
            yc = above(builder.load(pointer(luma, lt), align=4), zero)
        cu = lerp(u, ct, cb, cf)
        cv = lerp(v, ct, cb, cf)
        red = clamp(builder.fadd(yc, cv))
        green = clamp(
            builder.call(fmuladd, [const(_GU), cu, builder.call(fmuladd, [const(_GV), cv, yc])])
        )
        blue = clamp(builder.fadd(yc, cu))

        def shuffle(a, b, pattern):
            mask = [i + 4 * q for q in range(_LANES // 4) for i in pattern]
            return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(i32, _LANES), mask))

        low, high = (0, _LANES, 1, _LANES + 1), (2, _LANES + 2, 3, _LANES + 3)  # unpck{l,h}ps
        rg_low, rg_high = shuffle(red, green, low), shuffle(red, green, high)
        ba_low, ba_high = shuffle(blue, one, low), shuffle(blue, one, high)
        pixels = [
            shuffle(first, second, pattern)
            for first, second in ((rg_low, ba_low), (rg_high, ba_high))
            for pattern in (
                (0, 1, _LANES, _LANES + 1),
                (2, 3, _LANES + 2, _LANES + 3),
            )  # unpck{l,h}pd
        ]
        for j, vector in enumerate(pixels):
            at = builder.add(to, ir.Constant(to.type, j * _LANES))
            builder.store(vector, pointer(out, at), align=4)
        return context.get_dummy_value()

    return codegen


def _rgba_intrinsic(blend_luma):
    """The intrinsic ``(luma, lt, lb, fy, u, v, ct, cb, cf, out, to)``: one block of ``_LANES``
    output pixels, stored as RGBA at ``out.flat[to ..]``, from slots ``k < _LANES`` of rows in
    slot order (``_taps``): luma ``luma.flat[lt + k]`` blended with ``luma.flat[lb + k]`` by
    ``fy`` (or taken alone: not ``blend_luma``), chroma likewise from ``u`` and ``v`` at ``ct``
    and ``cb`` by ``cf``; contiguous float32 arrays. What ``_rgba_rows`` computes per pixel, in
    registers."""

    def rgba_block(typingctx, luma, lt, lb, fy, u, v, ct, cb, cf, out, to):
        sig = types.void(luma, lt, lb, fy, u, v, ct, cb, cf, out, to)
        return sig, _rgba_codegen(blend_luma)

    return intrinsic(rgba_block)


_rgba_block = _rgba_intrinsic(True)
_rgba_block_row = _rgba_intrinsic(False)  # lt == lb: the same pixels, one load and lerp less


@njit(cache=True, nogil=True, fastmath={"contract"})
def _rgba_rows(luma, u, v, vertical, t0, t1, picture):
    """Output rows ``t0 .. t1`` of the picture from the rings of resampled rows (in slot order,
    scaled as ``_picture`` fetches them): blend them vertically, convert to RGB, store RGBA;
    ``_rgba_block`` for each whole block, this loop for the rest.

    ``vertical``: the ``vertical`` of ``_rows`` for luma and for chroma; ``picture``:
    ``(flat, pitch, py, px)``, the tile as ``_convert`` makes it and where the picture starts.
    """
    zero = np.float32(0.0)
    one = np.float32(1.0)
    (luma_rows, luma_weights), (chroma_rows, chroma_weights) = vertical
    flat, pitch, py, px = picture
    n = luma.shape[1]
    whole = n // _LANES * _LANES
    for t in range(t0, t1):
        lt, lb = luma_rows[t, 0], luma_rows[t, 1]
        ct, cb = chroma_rows[t, 0], chroma_rows[t, 1]
        fy = luma_weights[t]
        cf = chroma_weights[t]
        start = (py + t) * pitch + 4 * px
        if lt == lb:
            for d in range(0, whole, _LANES):
                at = start + 4 * d
                _rgba_block_row(luma, lt * n + d, 0, fy, u, v, ct * n + d, cb * n + d, cf, flat, at)
        else:
            for d in range(0, whole, _LANES):
                at = start + 4 * d
                _rgba_block(
                    luma, lt * n + d, lb * n + d, fy, u, v, ct * n + d, cb * n + d, cf, flat, at
                )
        for d in range(whole, n):
            yc = max(luma[lt, d] + fy * (luma[lb, d] - luma[lt, d]), zero)
            cu = u[ct, d] + cf * (u[cb, d] - u[ct, d])
            cv = v[ct, d] + cf * (v[cb, d] - v[ct, d])
            at = start + 4 * d
            flat[at] = min(max(yc + cv, zero), one)
            flat[at + 1] = min(max(yc + _GV * cv + _GU * cu, zero), one)
            flat[at + 2] = min(max(yc + cu, zero), one)
            flat[at + 3] = one


@njit(cache=True, nogil=True)
def _picture(y, u, v, tile, plan):
    """The picture's rows, band by band: resample the source rows the band needs, convert.
    ``tile``: ``(flat, pitch)``, the tile as ``_convert`` makes it."""
    (px, py, pw, ph), luma_x, chroma_x, luma_rows, chroma_rows = plan
    luma_jobs, luma_bands, luma_v, luma_ring = luma_rows
    chroma_jobs, chroma_bands, chroma_v, chroma_ring = chroma_rows
    flat, pitch = tile
    luma = np.empty((luma_ring, pw), np.float32)
    u_ring = np.empty((chroma_ring, pw), np.float32)
    v_ring = np.empty((chroma_ring, pw), np.float32)
    line = np.empty(y.shape[1] + _PAD, np.float32)
    for b in range(luma_bands.shape[0] - 1):
        lj0, lj1 = luma_bands[b], luma_bands[b + 1]
        cj0, cj1 = chroma_bands[b], chroma_bands[b + 1]
        _fetch(y, (np.float32(16.0), _CY), luma_x, luma_jobs, lj0, lj1, line, luma)
        _fetch(u, (np.float32(128.0), _CUB), chroma_x, chroma_jobs, cj0, cj1, line, u_ring)
        _fetch(v, (np.float32(128.0), _CVR), chroma_x, chroma_jobs, cj0, cj1, line, v_ring)
        t0 = b * _BAND
        t1 = min(t0 + _BAND, ph)
        _rgba_rows(luma, u_ring, v_ring, (luma_v, chroma_v), t0, t1, (flat, pitch, py, px))


@njit(cache=True, nogil=True)
def _bars(tile, th, tw, fit):
    """Everything outside the picture at ``fit = (px, py, pw, ph)``: black, alpha 1. ``tile``:
    ``(flat, pitch)``, the ``th x tw`` tile as ``_convert`` makes it."""
    flat, pitch = tile
    px, py, pw, ph = fit
    for t in range(th):
        inside = py <= t < py + ph
        left = px if inside else tw  # bar pixels: 0 .. left and right .. tw
        right = px + pw if inside else tw
        row = t * pitch
        for x in range(left):
            flat[row + 4 * x] = flat[row + 4 * x + 1] = flat[row + 4 * x + 2] = 0.0
            flat[row + 4 * x + 3] = 1.0
        for x in range(right, tw):
            flat[row + 4 * x] = flat[row + 4 * x + 1] = flat[row + 4 * x + 2] = 0.0
            flat[row + 4 * x + 3] = 1.0


# Every plane is handled as a read-only array of any layout, so the kernel compiles once rather
# than once per layout and writability of each of its three inputs.
_PLANE = types.Array(types.uint8, 2, "A", readonly=True)


@njit(_PLANE(_PLANE), cache=True, nogil=True)
def _plane(a):
    return a


@njit(cache=True, nogil=True)
def _convert(y, u, v, out, plan):
    """``out`` (th, tw, 4), pixels contiguous, rows ``out.strides[0]`` bytes apart, is written as
    ``tile = (flat, pitch)``: ``flat`` the float32 from its first to its last (``span``), row
    ``t`` starting at ``flat[t * pitch]``."""
    th, tw = out.shape[0], out.shape[1]
    pitch = out.strides[0] // 4
    size = (th - 1) * pitch + 4 * tw if th > 0 and tw > 0 else 0
    tile = (span(out, size), pitch)
    _bars(tile, th, tw, plan[0])
    if plan[0][2] > 0:
        _picture(y, u, v, tile, plan)


@njit(cache=True, nogil=True)
def _kernel(y, u, v, out, plan):
    _convert(_plane(y), _plane(u), _plane(v), out, plan)


@njit(cache=True, nogil=True)
def convert(y, u, v, out):
    """The whole kernel, its plan made on every call (a few us): what ``gui.kernel`` compiles
    ahead of time for the console. Unchecked: call ``yuv420_to_rgba`` or the console's
    ``gui.kernel.yuv420_to_rgba``, which check their arguments first."""
    (h, w), (ch, cw), (th, tw) = y.shape, u.shape, out.shape[:2]
    _convert(y, u, v, out, _make_plan(h, w, ch, cw, th, tw))


_plans: dict[tuple[int, ...], Any] = {}
_warmed = False  # warm() has run: the kernel's one signature is compiled and locked


def yuv420_to_rgba(y: np.ndarray, u: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
    """Convert and letterbox one frame into a tile texture, every pixel of ``out`` written.

    Inputs: ``y`` (H, W) uint8; ``u``, ``v`` (ceil(H/2), ceil(W/2)) uint8; any strides, read-only
    views fine. Output: ``out`` (th, tw, 4) float32, writable, values 0..1: the picture at
    ``letterbox(W, H, tw, th)``, bilinear, BT.601 limited range; black bars; alpha 1. ``out`` is a
    C-contiguous tile, or a region of a larger texture such as ``atlas[y0 : y0 + th, x0 : x0 +
    tw]`` of a C-contiguous (H, W, 4) atlas: its pixels must be contiguous (strides ``(pitch,
    16, 4)``), its rows may be any ``pitch >= 16 * tw`` bytes apart. Only the region is written;
    the result is the same as converting into a tile and copying it there.
    Raises ``ValueError`` for any other ``out`` (dtype, shape, pixel layout, read-only).
    Thread-safe; releases the GIL while it converts.
    """
    check_planes(y, u, v, "yuv420_to_rgba")
    check_out(out, "yuv420_to_rgba")
    key = y.shape + u.shape + out.shape[:2]
    plan = _plans.get(key)
    if plan is None:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        if not _warmed:  # compiled for the one signature every call converts to, first
            warm()
        plan = _plans[key] = _make_plan(*key)
    _kernel(y, u, v, out, plan)


def warm() -> float:
    """Compile (or load from cache) the kernel; returns seconds taken.

    The kernel is compiled once, for read-only planes and an output of any layout (numba's
    ``'A'``), and then locked: planes that are C-contiguous, strided (decoder line padding) or
    writable, and outputs that are C-contiguous tiles or regions of an atlas, convert to that
    signature (both outputs are converted here once, so the conversion is known too), so no
    frame waits for a compile. The kernel's body does not depend on the output's layout: it
    writes through ``span`` either way.
    """
    global _warmed
    start = time.perf_counter()
    _warmed = True  # from here on: the conversions below compile what every call will use
    y = np.full((6, 16), 128, np.uint8)
    c = np.full((3, 8), 128, np.uint8)
    y.flags.writeable = False
    c.flags.writeable = False
    atlas = np.zeros((5, 10, 4), np.float32)
    yuv420_to_rgba(y[:, :10], c[:, :5], c[:, :5], atlas[1:, 1:9])  # compiles for 'A'
    _kernel.disable_compile()
    _make_plan.disable_compile()
    yuv420_to_rgba(y[:, :10], c[:, :5], c[:, :5], np.zeros((4, 8, 4), np.float32))
    return time.perf_counter() - start
