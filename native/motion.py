"""Motion-detection kernels: downscale, blur and background comparison of a luma plane, and the
bounding boxes of the changed regions.

Pure Numba kernels: outputs are caller-owned arrays written in place (only small temporaries are
allocated per call, and a copy of a plane whose pixels are not adjacent or whose rows run
backwards, which no decoder gives), no I/O, no ``nvr`` import. Planes may be C-contiguous or
strided, writable or read-only: the work runs in kernels compiled once for a read-only plane of
any layout, and ``warm()`` compiles ``detect_frame`` for that type only (see there).

Speed notes (measured on the 2-core build machines, 640x360 -> 320x180; see each kernel):
- the integer cell sums (640x360, 1280x720, 960x540) add each cell's pixels directly, compiled
  for the common factors (``literally``) so LLVM vectorises the strided loads (2x2 cells, the
  640x360 sub stream's, by ``vpmaddubsw`` with AVX2: ``_pair_sums``, a third less time than
  LLVM's byte shuffles), and prefetch a few rows ahead (a frame fresh from the decoder or the
  ring is often out of cache; without the hints they were three times slower on a cold
  frame); the general downscale (1080p) sums columns in uint16 (wide SIMD lanes) and leaves
  prefetching to the hardware: hints there made it 30% slower on Zen 4;
- C-contiguous images, and planes with adjacent pixels (through ``native.views.span``), are
  read as flat arrays at unsigned offsets: numba wraps a negative signed index, which stops
  LLVM vectorising, and a view per row costs tens of nanoseconds (two fifths of the cell sums
  and a fifth of the compare went on rows before, at 180 rows a frame);
- loops keep few array arguments per call: numba calls that pass many arrays cost tens of
  nanoseconds each;
- the compare loop is branch-free with uint8 flags and int32 counters (numba widens int32
  arithmetic to int64, which halves the SIMD width, unless narrowed back), and updates the
  background with a fused multiply-add (``_fmuladd``);
- the blurred image is made and compared a row at a time, never stored whole (a fifth faster
  than storing it; the background is set from it by blurring again);
- boxes label runs of changed pixels found within each row's changed extent, not pixels.
Fused variants that never write the full-size cell sums (a three-row ring, or bands of 16 rows
in an L1-sized buffer) were measured and were 10-20% slower.
"""

from __future__ import annotations

import time

import numpy as np
from llvmlite import ir
from numba import literally, njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from native.isa import VECTOR_ISA
from native.views import span

# Up to this many source rows per analysis cell, column sums fit uint16 (257 * 255 < 2**16).
_U16_ROWS = 257
# Cells of up to this many source pixels: a 3x3 sum of cell sums fits uint16 (9 * 28 * 255).
_U16_AREA = 28
# Source rows read ahead with prefetch hints (a frame fresh from the decoder or the ring is often
# out of cache; the hardware prefetcher stops at every 4 KiB page).
_PREFETCH_ROWS = 8
_CACHE_LINE = 64
# 2x2 cells are summed by ``vpmaddubsw`` (``_pair_sums``) where numba compiles with AVX2.
_PAIRS = VECTOR_ISA != ""


@intrinsic
def _prefetch(typingctx, arr, i, j):
    """Hint the CPU to load ``arr[i, j]``'s cache line (``llvm.prefetch``; never faults)."""

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(
            context, builder, aryty, ary, [args[1], args[2]], wraparound=False
        )
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, high temporal locality, data cache
        args = [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3)]
        builder.call(fn, [*args, ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, i, j), codegen


@intrinsic
def _fmuladd(typingctx, a, b, c):
    """``a * b + c`` for float32, fused where the CPU has a fused multiply-add (``llvm.fmuladd``):
    one rounding instead of two. Unlike numba's ``fastmath`` "contract", which also fuses a
    multiply from a called function into a later subtraction, it fuses this expression only."""
    if not all(t == types.float32 for t in (a, b, c)):
        return None

    def codegen(context, builder, signature, args):
        f32 = ir.FloatType()
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(f32, [f32, f32, f32]), "llvm.fmuladd.f32"
        )
        return builder.call(fn, list(args))

    return types.float32(a, b, c), codegen


@njit(cache=True, nogil=True)
def _sum_cols_fixed(colsum, out, i, f, scale):
    """``out[i, j] = sum(colsum[j*f : (j+1)*f]) * scale``, compiled per literal ``f``."""
    f = literally(f)
    for j in range(out.shape[1]):
        s = np.int32(0)
        for k in range(f):
            s += np.int32(colsum[j * f + k])
        out[i, j] = np.float32(s) * scale


@njit(cache=True, nogil=True)
def _sum_cols(colsum, out, i, f, scale):
    """As ``_sum_cols_fixed`` for a factor known only at run time (scalar, slower)."""
    for j in range(out.shape[1]):
        s = np.int32(0)
        for k in range(f):
            s += np.int32(colsum[j * f + k])
        out[i, j] = np.float32(s) * scale


@njit(cache=True, nogil=True)
def _sum_cols_uneven(colsum, out, i, starts, extra, scales, f):
    """Cells of ``f + extra[j]`` columns from ``starts[j]`` (``extra`` 0 or 1), times ``scales``.

    Branch-free: the ``f + 1``-th column is always read (``colsum`` has one padding element).
    """
    for j in range(out.shape[1]):
        c = starts[j]
        s = np.int32(colsum[c + f]) * extra[j]
        for k in range(f):
            s += np.int32(colsum[c + k])
        out[i, j] = np.float32(s) * scales[j]


@njit(cache=True, nogil=True)
def _downscale(y, out):
    """``out`` (h, w) float32 = integer-area average of ``y`` (cells of at most ``_U16_ROWS``
    source rows, so column sums fit uint16).

    One loop nest: moving the column sums into a function of their own (called per row) made
    this 30% slower, as did a per-row helper taking many arrays.
    """
    src_h, src_w = y.shape
    h, w = out.shape
    f = src_w // w
    even = f * w == src_w
    starts = np.empty(w, np.int64)
    extra = np.empty(w, np.int32)
    inv_cols = np.empty(w, np.float32)
    for j in range(w):
        starts[j] = j * src_w // w
        extra[j] = (j + 1) * src_w // w - starts[j] - f
        inv_cols[j] = np.float32(1.0) / np.float32(f + extra[j])
    scales = np.empty(w, np.float32)
    colsum = np.empty(src_w + 1, np.uint16)  # one padding column for _sum_cols_uneven
    colsum[src_w] = 0
    for i in range(h):
        r0 = i * src_h // h
        r1 = (i + 1) * src_h // h
        # Column sums of the cell's source rows, the first two rows in one pass (vectorised; a
        # strided plane's rows are still unit-stride and LLVM versions the loops on that).
        row = y[r0]
        r = r0 + 1
        if r1 - r0 >= 2:
            row2 = y[r0 + 1]
            for c in range(src_w):
                colsum[c] = np.uint16(row[c]) + np.uint16(row2[c])
            r += 1
        else:
            for c in range(src_w):
                colsum[c] = row[c]
        while r < r1:
            row = y[r]
            for c in range(src_w):
                colsum[c] += row[c]
            r += 1
        if even:
            # A literal factor lets LLVM vectorise the interleaved sums. Small factors take
            # the integer path (_cell_sums) unless the rows do not divide evenly; 1920 and 2560
            # wide frames over a 320-wide analysis image give 6 and 8.
            scale = np.float32(1.0) / np.float32((r1 - r0) * f)
            if f == 6:
                _sum_cols_fixed(colsum, out, i, 6, scale)
            elif f == 8:
                _sum_cols_fixed(colsum, out, i, 8, scale)
            else:
                _sum_cols(colsum, out, i, f, scale)
        else:
            inv_rows = np.float32(1.0) / np.float32(r1 - r0)
            for j in range(w):
                scales[j] = inv_cols[j] * inv_rows
            _sum_cols_uneven(colsum, out, i, starts, extra, scales, f)


@njit(cache=True, nogil=True)
def _downscale_tall(y, out):
    """``_downscale`` for cells taller than ``_U16_ROWS`` rows (a tiny analysis image of a big
    frame): plain int32 sums, no fast paths."""
    src_h, src_w = y.shape
    h, w = out.shape
    colsum = np.empty(src_w, np.int32)
    for i in range(h):
        r0 = i * src_h // h
        r1 = (i + 1) * src_h // h
        colsum[:] = 0
        for r in range(r0, r1):
            for c in range(src_w):
                colsum[c] += y[r, c]
        for j in range(w):
            c0 = j * src_w // w
            c1 = (j + 1) * src_w // w
            s = 0
            for c in range(c0, c1):
                s += colsum[c]
            out[i, j] = np.float32(s) / np.float32((r1 - r0) * (c1 - c0))


@njit(cache=True, nogil=True)
def _cell_row_fixed(plane, at, pitch, cells, to, w, f, g):
    """``cells[to + j]`` = the sum of the ``f x g`` source block whose top left pixel is
    ``plane[at + f * j]`` (rows ``pitch`` apart), for ``j < w``; uint16, unsigned offsets.
    Compiled per literal ``f`` and ``g``: LLVM vectorises the block's strided loads."""
    f = literally(f)
    g = literally(g)
    step = np.uint64(f)
    for j in range(w):
        c = at + step * j
        s = np.uint16(0)
        for r in range(g):
            for k in range(f):
                s = np.uint16(s + plane[c + np.uint64(r) * pitch + np.uint64(k)])
        cells[to + j] = s


def _pair_sums_codegen(context, builder, signature, args):
    """LLVM IR of ``_pair_sums``: per row, one 32-byte load and ``vpmaddubsw`` by ones (the sums
    of adjacent byte pairs as 16-bit lanes), then the two rows added. Without AVX2 (where it is
    never called, but compiled), the same sums from widened bytes: ``NUMBA_OPT=0`` keeps the
    call, and an AVX2 instruction there aborts LLVM."""
    plane = context.make_array(signature.args[0])(context, builder, args[0])
    cells = context.make_array(signature.args[3])(context, builder, args[3])
    at, pitch, to = args[1], args[2], args[4]
    i32 = ir.IntType(32)
    bytes32 = ir.VectorType(ir.IntType(8), 32)
    words32 = ir.VectorType(ir.IntType(16), 32)
    words16 = ir.VectorType(ir.IntType(16), 16)

    def load(offset):
        ptr = builder.bitcast(builder.gep(plane.data, [offset]), bytes32.as_pointer())
        return builder.load(ptr, align=1)

    top, bottom = load(at), load(builder.add(at, pitch))
    if _PAIRS:
        pairs = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(words16, [bytes32, bytes32]),
            "llvm.x86.avx2.pmadd.ub.sw",
        )
        ones = ir.Constant(bytes32, [1] * 32)
        total = builder.add(builder.call(pairs, [top, ones]), builder.call(pairs, [bottom, ones]))
    else:
        rows = builder.add(builder.zext(top, words32), builder.zext(bottom, words32))

        def lanes(first):
            mask = ir.Constant(ir.VectorType(i32, 16), list(range(first, 32, 2)))
            return builder.shuffle_vector(rows, rows, mask)

        total = builder.add(lanes(0), lanes(1))
    out = builder.bitcast(builder.gep(cells.data, [to]), words16.as_pointer())
    builder.store(total, out, align=2)
    return context.get_dummy_value()


@intrinsic
def _pair_sums(typingctx, plane, at, pitch, cells, to):
    """``cells[to + k]`` = the sum of the 2x2 block at ``plane[at + 2 * k]`` (rows ``pitch``
    apart), for ``k < 16``: 32 bytes of each row. uint8 ``plane``, uint16 ``cells``, both 1-D
    and contiguous; unsigned offsets. Called only with AVX2 (``_PAIRS``). LLVM's own
    vectorisation of the pairs' strided loads (``_cell_row_fixed``) shuffles bytes instead."""
    return types.void(plane, at, pitch, cells, to), _pair_sums_codegen


@njit(cache=True, nogil=True)
def _cell_row_any(plane, at, pitch, cells, to, w, f, g):
    """As ``_cell_row_fixed`` for factors known only at run time (not vectorised)."""
    step = np.uint64(f)
    for j in range(w):
        c = at + step * j
        s = np.uint16(0)
        for r in range(g):
            for k in range(f):
                s = np.uint16(s + plane[c + np.uint64(r) * pitch + np.uint64(k)])
        cells[to + j] = s


@njit(cache=True, nogil=True)
def _cell_rows(y, cells):
    """``_cell_sums`` of a plane whose pixels are adjacent and rows ascending: read through one
    flat view at unsigned offsets (a signed index makes numba wrap negative values, which LLVM
    cannot vectorise), the rows a few cells ahead prefetched."""
    src_h, src_w = y.shape
    h, w = cells.shape
    f = src_w // w
    g = src_h // h
    pitch = y.strides[0] // y.itemsize
    plane = span(y, (src_h - 1) * pitch + src_w)
    out = cells.reshape(h * w)
    width = np.uint64(w)
    upitch = np.uint64(pitch)
    # 2x2 cells by _pair_sums, 16 at a time, here in the loop: a function per row that takes
    # arrays costs reference-count updates (atomic) that took as long as the sums.
    pairs = np.uint64(w // 16 if f == 2 and g == 2 and _PAIRS else 0)
    paired = pairs * np.uint64(16)
    for r in range(min(_PREFETCH_ROWS, src_h)):
        for c in range(0, src_w, _CACHE_LINE):
            _prefetch(y, r, c)
    for i in range(h):
        r0 = i * g
        for r in range(r0 + _PREFETCH_ROWS, min(r0 + g + _PREFETCH_ROWS, src_h)):
            for c in range(0, src_w, _CACHE_LINE):
                _prefetch(y, r, c)
        at = np.uint64(r0 * pitch)
        to = np.uint64(i * w)
        for b in range(pairs):
            _pair_sums(plane, at + np.uint64(32) * b, upitch, out, to + np.uint64(16) * b)
        if paired == width:
            continue
        if f == 2 and g == 2:  # 640x360 and 640x480 into 320 wide
            start = np.uint64(2) * paired
            _cell_row_fixed(plane, at + start, upitch, out, to + paired, width - paired, 2, 2)
        elif f == 4 and g == 4:  # 1280x720
            _cell_row_fixed(plane, at, upitch, out, to, width, 4, 4)
        elif f == 3 and g == 3:  # 960x540
            _cell_row_fixed(plane, at, upitch, out, to, width, 3, 3)
        elif f == 1 and g == 1:  # 320 wide and smaller
            _cell_row_fixed(plane, at, upitch, out, to, width, 1, 1)
        else:
            _cell_row_any(plane, at, upitch, out, to, width, f, g)


@njit(cache=True, nogil=True)
def _cell_sums(y, cells):
    """``cells`` (h, w) uint16, C-contiguous = sums of the ``f x g`` source cells, for
    whole-number factors ``f = W / w`` and ``g = H / h`` with ``f * g <= _U16_AREA``.

    Each cell is summed from its pixels directly, a row of cells per call (twice as fast as
    column sums of a cell's rows and then their interleaved sums, at 640x360). A plane whose
    pixels are not adjacent or whose rows run backwards (never a decoder's) is copied first.
    """
    if y.strides[1] == y.itemsize and y.strides[0] >= y.shape[1] * y.itemsize:
        _cell_rows(y, cells)
    else:
        _cell_rows(np.ascontiguousarray(y), cells)


def _narrow(like, x):
    """``x`` in the element type of ``like`` (numba widens sums of small integers to int64,
    which halves the SIMD lanes; the sums here fit the narrow type)."""


@overload(_narrow, inline="always")
def _narrow_impl(like, x):
    if like.dtype == types.uint16:
        return lambda like, x: np.uint16(x)
    if like.dtype == types.float32:
        return lambda like, x: np.float32(x)
    return None  # no other type: a typing error when compiling


@njit(cache=True, nogil=True)
def _column_sums(flat, i, h, w, vsum):
    """``vsum[j + 1]`` = column ``j``'s sum over rows ``i - 1 .. i + 1`` of the C-contiguous
    ``(h, w)`` image ``flat`` (reflect-101 border, as ``cv2.blur``), padded at both ends with the
    border: the vertical pass of the 3x3 box sum. ``flat``: uint16 cell sums or float32
    averages (see ``_blurred``); ``vsum``: ``w + 2`` of its type. Unsigned offsets (a signed
    index makes numba wrap negative values, which LLVM cannot vectorise)."""
    above = np.uint64((i - 1 if i > 0 else min(1, h - 1)) * w)
    at = np.uint64(i * w)
    below = np.uint64((i + 1 if i < h - 1 else max(h - 2, 0)) * w)
    for j in range(np.uint64(w)):
        vsum[j + np.uint64(1)] = flat[above + j] + flat[at + j] + flat[below + j]
    vsum[0] = vsum[min(2, w)]
    vsum[w + 1] = vsum[max(w - 1, 1)]


@njit(cache=True, nogil=True)
def _blurred(vsum, j, scale):
    """Pixel ``j`` (unsigned) of the blurred row whose ``_column_sums`` are ``vsum``: the 3x3 box
    sum times ``scale``. Cell sums are summed exactly in uint16 (``scale = 1 / (9 * cell
    area)`` turns them into the blurred average with one rounding, twice the SIMD lanes of
    float32); float averages take ``scale = 1 / 9``."""
    s = vsum[j] + vsum[j + np.uint64(1)] + vsum[j + np.uint64(2)]
    return np.float32(_narrow(vsum, s)) * scale


@njit(cache=True, nogil=True)
def _blur_compare(src, scale, bg, mask, zone, threshold, alpha, light_changed, prime):
    """Blur ``src`` (see ``_blurred``) and compare it with ``bg``, updating it; returns
    ``(zone_changed, all_changed)``. Setting ``bg`` to the blurred image, when ``prime`` or
    after a light change (more than ``light_changed`` pixels changed), blurs again
    (``_blur_into``, with the same two routines, so the values are the same to the bit).

    A row at a time: the column sums of three rows go into an L1 buffer, and one loop takes
    each pixel's blurred value and compares it (the blurred image is never stored: storing it
    whole cost a fifth of the time, a blurred row of its own 7%). The C-contiguous images are
    read as flat arrays at unsigned offsets, as in ``_column_sums``; a view per row cost tens of
    nanoseconds a row.
    """
    if prime:
        _blur_into(src, scale, bg)
        mask[:] = 0
        return 0, 0
    h, w = bg.shape
    flat = src.reshape(h * w)
    bgf = bg.reshape(h * w)
    maskf = mask.reshape(h * w)
    zonef = maskf if zone is None else zone.reshape(h * w)
    thr = np.float32(threshold)
    a = np.float32(alpha)
    vsum = np.empty(w + 2, src.dtype)
    zone_changed = 0
    all_changed = 0
    for i in range(h):
        _column_sums(flat, i, h, w, vsum)
        at = np.uint64(i * w)
        # Branch-free body (``zone is None`` is decided when compiling: no zones, a tenth less
        # work), flags in uint8 and counters kept in int32 (numba widens int32 arithmetic to
        # int64 unless narrowed again): LLVM vectorises it with wide lanes. The background's
        # update is a fused multiply-add where the CPU has one (a tenth off with AVX2); only
        # that: the blurred value is rounded before the difference, as ``_blur_into`` stores
        # it, so the same frame again changes nothing.
        zc = np.int32(0)
        ac = np.int32(0)
        for j in range(np.uint64(w)):
            k = at + j
            b = bgf[k]
            d = _blurred(vsum, j, scale) - b
            bgf[k] = _fmuladd(a, d, b)
            changed = np.uint8(abs(d) > thr)
            if zone is None:
                maskf[k] = changed
            else:
                inside = np.uint8(changed & zonef[k])
                maskf[k] = inside
                zc = np.int32(zc + inside)
            ac = np.int32(ac + changed)
        zone_changed += ac if zone is None else zc
        all_changed += ac
    if all_changed > light_changed:
        _blur_into(src, scale, bg)
    return zone_changed, all_changed


@njit(cache=True, nogil=True)
def _blur_into(src, scale, bg):
    """``bg`` = the blurred ``src`` (``_column_sums``, ``_blurred``): the first frame, or a light
    change."""
    h, w = bg.shape
    flat = src.reshape(h * w)
    out = bg.reshape(h * w)
    vsum = np.empty(w + 2, src.dtype)
    for i in range(h):
        _column_sums(flat, i, h, w, vsum)
        at = np.uint64(i * w)
        for j in range(np.uint64(w)):
            out[at + j] = _blurred(vsum, j, scale)


# Planes are handled as read-only arrays of any layout inside, so the heavy kernels compile once
# rather than once per layout and writability of the caller's plane.
_PLANE = types.Array(types.uint8, 2, "A", readonly=True)


@njit(_PLANE(_PLANE), cache=True, nogil=True)
def _plane(a):
    return a


@njit(cache=True, nogil=True)
def _analyse(y, scratch, bg, mask, zone, threshold, alpha, light_changed, prime):
    """Downscale ``y`` into ``scratch``, then blur and compare it with ``bg`` (or set ``bg`` to
    it when ``prime``, and after a light change: more than ``light_changed`` pixels changed)."""
    src_h, src_w = y.shape
    h, w = bg.shape
    f = src_w // w
    g = src_h // h
    if f * w == src_w and g * h == src_h and f * g <= _U16_AREA:
        # Whole-number factors and small cells (640x360 -> 320x180, 1280x720, 960x540): exact
        # integer cell sums in the scratch buffer's memory, about 30% faster.
        words = np.ascontiguousarray(scratch).reshape(h * w).view(np.uint16)
        src = words[: h * w].reshape(h, w)  # C-contiguous: the loops vectorise
        _cell_sums(y, src)
        scale = np.float32(1.0 / (9 * f * g))
        return _blur_compare(src, scale, bg, mask, zone, threshold, alpha, light_changed, prime)
    if g < _U16_ROWS:
        _downscale(y, scratch)
    else:
        _downscale_tall(y, scratch)
    scale = np.float32(1.0 / 9.0)
    return _blur_compare(scratch, scale, bg, mask, zone, threshold, alpha, light_changed, prime)


@njit(cache=True, nogil=True)
def _root(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True, nogil=True)
def _union(parent, a, b):
    """Join the sets of ``a`` and ``b``; the smaller index stays the root."""
    ra = _root(parent, a)
    rb = _root(parent, b)
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb


_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)


@njit(cache=True, nogil=True)
def _all_set(word):
    """Whether none of the eight bytes of ``word`` is zero."""
    return ((word - _ONES) & ~word & _HIGHS) == 0


@njit(cache=True, nogil=True)
def _row_extents(mask, words, first, last):
    """Column extent ``first[i] .. last[i]`` of the nonzero pixels of each row (empty rows:
    ``first > last``); returns an upper bound on the number of runs of nonzero pixels.

    ``words``: the mask as uint64, eight pixels each, when its rows are whole words (else empty).
    Branch-free reductions over the words (an OR, then a min and a max on busy rows), refined to
    pixels within the end words; kept in narrow integers so LLVM vectorises them.
    """
    h, w = mask.shape
    nw = w // 8 if words.size > 0 else 0
    bound = 0
    for i in range(h):
        lo = np.int32(w)
        hi = np.int32(-1)
        if nw > 0:
            base = i * nw
            bits = np.uint64(0)
            for k in range(nw):
                bits |= words[base + k]
            if bits != 0:
                for k in range(nw):
                    on = words[base + k] != 0
                    kk = np.int32(k)
                    lo = min(lo, kk if on else np.int32(nw))
                    hi = max(hi, kk if on else np.int32(-1))
                lo = 8 * lo
                while mask[i, lo] == 0:
                    lo += 1
                hi = 8 * hi + 7
                while mask[i, hi] == 0:
                    hi -= 1
        else:
            bits8 = np.uint8(0)
            for j in range(w):
                bits8 |= mask[i, j]
            if bits8 != 0:
                for j in range(w):
                    on = mask[i, j] != 0
                    jj = np.int32(j)
                    lo = min(lo, jj if on else np.int32(w))
                    hi = max(hi, jj if on else np.int32(-1))
        if hi >= lo:
            bound += (hi - lo + 2) // 2
        first[i] = lo
        last[i] = hi
    return bound


@njit(cache=True, nogil=True)
def motion_boxes(mask, labels, stats, min_pixels, out):
    """Bounding boxes of the 8-connected components of a changed mask.

    Inputs: ``mask`` (h, w) uint8, nonzero = changed; ``min_pixels``: components with fewer
    pixels are dropped. Scratch: ``labels`` (h, w) int32 C-contiguous, ``stats`` (n, 5) int32 with
    ``n >= ceil(h/2) * ceil(w/2)`` (the most components an 8-connected mask can have); both are
    overwritten (``labels`` holds the runs while they fit, else a temporary is allocated).
    Output: ``out`` (max_boxes, 4) int32 rows ``x, y, w, h`` in mask coordinates.
    Returns the number of boxes written; when more components qualify, the ones with the largest
    box areas are kept (in no particular order).

    Works on runs of changed pixels rather than pixels: a moving frame has a few hundred runs
    in a handful of rows, found by scanning only each row's changed extent, eight pixels at a
    time where mask rows are whole uint64 words (a non-contiguous mask is copied first).
    """
    h, w = mask.shape
    mask = np.ascontiguousarray(mask)
    # Whole uint64 words per row let the scans skip eight pixels at a time.
    words = np.empty(0, np.uint64)
    if w % 8 == 0 and h * w > 0:
        words = mask.reshape(h * w).view(np.uint64)
    nw = w // 8
    first = np.empty(h, np.int32)
    last = np.empty(h, np.int32)
    n_runs = _row_extents(mask, words, first, last)
    # Five int32 per run (start column, end column, row, union-find parent, component id), for
    # at most ``n_runs`` runs.
    flat = labels.reshape(h * w)
    if 5 * n_runs > h * w:
        flat = np.empty(5 * n_runs, np.int32)
    run_x0 = flat[0:n_runs]
    run_x1 = flat[n_runs : 2 * n_runs]
    run_y = flat[2 * n_runs : 3 * n_runs]
    parent = flat[3 * n_runs : 4 * n_runs]
    comp = flat[4 * n_runs : 5 * n_runs]
    # Pass 1: collect the runs in raster order; join each with the runs of the row above that
    # touch it (8-connected: overlapping columns or diagonal neighbours).
    n = 0
    prev_begin = 0
    prev_end = 0
    skip = words.size > 0
    for i in range(h):
        begin = n
        j = first[i]
        end_col = last[i]
        while j <= end_col:
            # Find the next changed pixel: skip whole zero words, then single pixels.
            while j <= end_col:
                if skip and j & 7 == 0 and j + 7 <= end_col and words[i * nw + (j >> 3)] == 0:
                    j += 8
                elif mask[i, j] == 0:
                    j += 1
                else:
                    break
            start = j
            # Extend the run: whole words without a zero byte, then single pixels.
            while j <= end_col:
                if skip and j & 7 == 0 and j + 7 <= end_col and _all_set(words[i * nw + (j >> 3)]):
                    j += 8
                elif mask[i, j] != 0:
                    j += 1
                else:
                    break
            run_x0[n] = start
            run_x1[n] = j - 1
            run_y[n] = i
            parent[n] = n
            n += 1
        q = prev_begin
        for r in range(begin, n):
            while q < prev_end and run_x1[q] < run_x0[r] - 1:
                q += 1
            t = q
            while t < prev_end and run_x0[t] <= run_x1[r] + 1:
                _union(parent, r, t)
                t += 1
        prev_begin = begin
        prev_end = n
    # Pass 2: a root is its component's first run in raster order, so roots get their ids
    # before their members; accumulate per-component statistics.
    count = 0
    for r in range(n):
        root = _root(parent, r)
        if root == r:
            if count == stats.shape[0]:
                comp[r] = -1
                continue
            comp[r] = count
            stats[count, 0] = run_x0[r]
            stats[count, 1] = run_y[r]
            stats[count, 2] = run_x1[r]
            stats[count, 3] = run_y[r]
            stats[count, 4] = 0
            count += 1
        k = comp[root]
        comp[r] = k
        if k < 0:
            continue
        stats[k, 0] = min(stats[k, 0], run_x0[r])
        stats[k, 2] = max(stats[k, 2], run_x1[r])
        stats[k, 3] = run_y[r]
        stats[k, 4] += run_x1[r] - run_x0[r] + 1
    # Pass 3: keep qualifying components, replacing the smallest box once ``out`` is full.
    n_out = 0
    for k in range(count):
        if stats[k, 4] < min_pixels:
            continue
        bw = stats[k, 2] - stats[k, 0] + 1
        bh = stats[k, 3] - stats[k, 1] + 1
        slot = n_out
        if n_out == out.shape[0]:
            slot = -1
            smallest = bw * bh
            for s in range(n_out):
                area = out[s, 2] * out[s, 3]
                if area < smallest:
                    smallest = area
                    slot = s
            if slot < 0:
                continue
        else:
            n_out += 1
        out[slot, 0] = stats[k, 0]
        out[slot, 1] = stats[k, 1]
        out[slot, 2] = bw
        out[slot, 3] = bh
    return n_out


@njit(cache=True, nogil=True)
def detect_frame(
    y,
    scratch,
    bg,
    mask,
    zone,
    threshold,
    alpha,
    zone_pixels,
    min_area,
    light_changed,
    labels,
    stats,
    min_box_pixels,
    x_bounds,
    y_bounds,
    boxes,
    prime,
):
    """One frame of motion detection in one call from Python: downscale, blur, compare with the
    running background, and the boxes of the changed regions when the frame moves.

    Inputs: ``y`` (H, W) uint8, any strides; ``zone`` (h, w) uint8, 0/1, with ``zone_pixels``
    ones, or None for the whole picture (``zone_pixels = h * w``); ``threshold``, ``alpha``,
    ``min_area`` and ``light_changed`` floats; ``h <= H`` and ``w <= W``. The analysis image is
    the integer-area average of ``y`` (pixel (i, j) averages rows ``i*H//h .. (i+1)*H//h`` and
    the same for columns) after a 3x3 box blur (reflect-101 border, as ``cv2.blur``). Workspace:
    ``scratch`` (h, w) float32 (the integer-area image, as floats or as uint16 cell sums),
    ``labels`` and ``stats`` (see ``motion_boxes``).
    State, written in place: ``bg`` (h, w) float32, the background: set to the analysis image
    when ``prime`` (the first frame) and after a light change (more than ``light_changed``
    pixels of the whole frame changed), else updated as ``bg += alpha * (image - bg)`` after the
    comparison. Outputs: ``mask`` (h, w) uint8, 1 where ``|image - bg| > threshold`` inside the
    zone (all 0 when priming); ``boxes`` (max, 4) int32 rows ``x, y, w, h`` in source pixels
    (analysis cell ``i`` spans ``x_bounds[i] .. x_bounds[i + 1]``, int64, ``w + 1`` values;
    ``y_bounds`` likewise), written when the frame moves: ``zone_changed / zone_pixels >=
    min_area`` and no light change. Components under ``min_box_pixels`` are dropped.
    Returns ``(zone_changed, all_changed, boxes written)``: changed pixels inside the zone and
    in the whole frame (0 when priming).
    """
    zone_changed, all_changed = _analyse(
        _plane(y), scratch, bg, mask, zone, threshold, alpha, light_changed, prime
    )
    n = 0
    if zone_changed / zone_pixels >= min_area and all_changed <= light_changed:
        n = motion_boxes(mask, labels, stats, min_box_pixels, boxes)
        for k in range(n):
            x, top, w, h = boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3]
            boxes[k, 0] = x_bounds[x]
            boxes[k, 1] = y_bounds[top]
            boxes[k, 2] = x_bounds[x + w] - x_bounds[x]
            boxes[k, 3] = y_bounds[top + h] - y_bounds[top]
    return zone_changed, all_changed, n


def warm() -> float:
    """Compile (or load from cache) every kernel variant used at run time; returns seconds taken.

    ``detect_frame`` is compiled for a read-only plane of any layout (with zones and without)
    and then locked: planes
    that are C-contiguous, strided (decoder line padding) or writable convert to that signature,
    so no frame ever waits for a compile (one variant instead of four: a few seconds less on a
    cold cache).
    """
    start = time.perf_counter()
    y = np.zeros((8, 12), np.uint8)
    y[2:5, 3:7] = 200
    y.flags.writeable = False
    scratch = np.zeros((4, 5), np.float32)
    bg = np.zeros_like(scratch)
    mask = np.zeros((4, 5), np.uint8)
    zone = np.ones_like(mask)
    labels = np.empty((4, 5), np.int32)
    stats = np.empty((6, 5), np.int32)
    boxes = np.empty((2, 4), np.int32)
    motion_boxes(mask, labels, stats, 1, boxes)
    bounds = (np.arange(6, dtype=np.int64) * 2, np.arange(5, dtype=np.int64) * 2)
    args = (25.0, 0.05, 20, 0.01, 20.0, labels, stats, 1, *bounds, boxes)
    for zoned in (zone, None):
        detect_frame(y[:, :10], scratch, bg, mask, zoned, *args, True)
    detect_frame.disable_compile()
    return time.perf_counter() - start
