"""Scale kernel against OpenCV: I420 -> RGBA, INTER_LINEAR resize, letterboxed float texture.

The reference converts colour at the source size and then scales (what the console would do with
OpenCV); the kernel scales the planes and then converts. Both are linear between the clamps, so
on natural (smooth) pictures they agree closely. The residuals: OpenCV rounds to 8 bits twice
(after the conversion and after the resize) and uses 11-bit fixed-point resize weights, about
0.4/255 on average; OpenCV upsamples chroma by repeating each sample over its 2x2 block before
the resize, where the kernel interpolates chroma between sample centres, which differs by a few
/255 where chroma changes fast; and colours that clip to 0 or 255 before the resize in OpenCV are
clipped after it here.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/nvr-numba-cache")

import time
from collections.abc import Callable

import cv2
import numpy as np
import pytest

from native import scale
from native.texture import letterbox

# OpenCV's BT.601 limited-range coefficients (ITUR_BT_601_*, 20 fraction bits).
_CY, _CUB, _CUG, _CVG, _CVR = (c / 2**20 for c in (1220542, 2116026, -409993, -852492, 1673527))
BLACK = np.array([0.0, 0.0, 0.0, 1.0], np.float32)


@pytest.fixture(scope="module", autouse=True)
def warmed() -> int:
    """Compile once per module; returns the kernel's signature count right after warming."""
    scale.warm()
    return len(scale._kernel.signatures)


def _planes(width: int, height: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth random picture (blurred noise, as camera content is) in 4:2:0 planes."""
    rng = np.random.default_rng(seed)

    def plane(h: int, w: int) -> np.ndarray:
        noise = rng.integers(0, 256, (h, w), dtype=np.uint8)
        return cv2.GaussianBlur(noise, (0, 0), 3)

    ch, cw = (height + 1) // 2, (width + 1) // 2
    return plane(height, width), plane(ch, cw), plane(ch, cw)


def _rgba_like_opencv(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``cv2.COLOR_YUV2RGBA_I420`` at the source size, for sizes OpenCV cannot take (odd)."""
    h, w = y.shape
    cu = np.repeat(np.repeat(u, 2, 0), 2, 1)[:h, :w].astype(np.float64) - 128
    cv = np.repeat(np.repeat(v, 2, 0), 2, 1)[:h, :w].astype(np.float64) - 128
    luma = np.maximum(y.astype(np.float64) - 16, 0) * _CY
    rgb = [
        luma + _CVR * cv,
        luma + _CVG * cv + _CUG * cu,
        luma + _CUB * cu,
        np.full_like(luma, 255),
    ]
    return np.clip(np.round(np.stack(rgb, -1)), 0, 255).astype(np.uint8)


def _rgba_opencv(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    h, w = y.shape
    if h % 2 or w % 2:
        return _rgba_like_opencv(y, u, v)
    i420 = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w)
    return cv2.cvtColor(i420, cv2.COLOR_YUV2RGBA_I420)


def _reference(y: np.ndarray, u: np.ndarray, v: np.ndarray, tile_w: int, tile_h: int) -> np.ndarray:
    """The OpenCV way: convert, resize INTER_LINEAR to the letterbox, /255 into a black tile."""
    x, top, w, h = letterbox(y.shape[1], y.shape[0], tile_w, tile_h)
    tile = np.zeros((tile_h, tile_w, 4), np.float32)
    tile[..., 3] = 1.0
    rgba = cv2.resize(_rgba_opencv(y, u, v), (w, h), interpolation=cv2.INTER_LINEAR)
    tile[top : top + h, x : x + w] = rgba / 255.0
    return tile


def test_letterbox() -> None:
    assert letterbox(640, 360, 480, 270) == (0, 0, 480, 270)
    assert letterbox(1920, 1080, 320, 180) == (0, 0, 320, 180)
    assert letterbox(640, 480, 480, 270) == (60, 0, 360, 270)  # pillarbox
    assert letterbox(640, 360, 480, 480) == (0, 105, 480, 270)  # letterbox
    assert letterbox(640, 360, 333, 201) == (0, 7, 333, 187)  # 187.3 rounds down
    assert letterbox(704, 576, 320, 180) == (50, 0, 220, 180)
    assert letterbox(1000, 1, 10, 10) == (0, 4, 10, 1)  # never thinner than a pixel
    assert letterbox(640, 360, 0, 10) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("width", "height", "tile_w", "tile_h"),
    [
        (640, 360, 480, 270),
        (640, 360, 960, 540),
        (1920, 1080, 320, 180),
        (640, 480, 480, 270),  # 4:3 in a 16:9 tile: pillarbox
        (640, 360, 480, 480),  # letterbox
        (640, 360, 333, 201),  # odd tile
        (641, 359, 480, 270),  # odd source: chroma planes 321 x 180
        (641, 359, 1000, 333),
        (64, 36, 1280, 720),  # 20x upscale
        (704, 576, 320, 180),
        (640, 360, 640, 360),  # same size
        (2, 2, 1, 1),
    ],
)
def test_matches_opencv(width: int, height: int, tile_w: int, tile_h: int) -> None:
    y, u, v = _planes(width, height, seed=width + tile_w)
    out = np.full((tile_h, tile_w, 4), np.nan, np.float32)
    scale.yuv420_to_rgba(y, u, v, out)
    ref = _reference(y, u, v, tile_w, tile_h)
    diff = np.abs(out - ref)
    assert not np.isnan(out).any()  # every pixel written
    assert diff.mean() < 1 / 255, f"mean {diff.mean() * 255:.3f}/255"
    assert diff.max() < 6 / 255, f"max {diff.max() * 255:.3f}/255"
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert (out[..., 3] == 1.0).all()


def test_strided_and_read_only_planes_give_the_same_texture(warmed: int) -> None:
    """Decoder planes have line padding and ring readers get read-only views: same result,
    and nothing compiles after warm() (every kind converts to the one compiled signature)."""
    y, u, v = _planes(640, 360, seed=3)
    expected = np.empty((270, 480, 4), np.float32)
    scale.yuv420_to_rgba(y, u, v, expected)

    def padded(plane: np.ndarray, frozen: bool) -> np.ndarray:
        buf = np.zeros((plane.shape[0], plane.shape[1] + 48), np.uint8)
        buf[:, 16 : 16 + plane.shape[1]] = plane
        buf.flags.writeable = not frozen
        return buf[:, 16 : 16 + plane.shape[1]]

    def frozen_copy(plane: np.ndarray) -> np.ndarray:
        out = plane.copy()
        out.flags.writeable = False
        return out

    variants = [
        tuple(padded(p, False) for p in (y, u, v)),
        tuple(padded(p, True) for p in (y, u, v)),
        tuple(frozen_copy(p) for p in (y, u, v)),
    ]
    variants.append((y, variants[1][1], variants[2][2]))  # mixed kinds
    for planes in variants:
        out = np.full((270, 480, 4), np.nan, np.float32)
        scale.yuv420_to_rgba(*planes, out)
        assert np.array_equal(out, expected)
    assert len(scale._kernel.signatures) == warmed


def test_geometries_in_turn_each_get_their_own_plan() -> None:
    """The per-geometry plan cache: tiles of different sizes, and sources of different sizes,
    converted in turn (as the console does for its tiles) give what each gives alone."""
    frames = [_planes(640, 360, seed=6), _planes(641, 359, seed=7), _planes(1920, 1080, seed=8)]
    tiles = [(480, 270), (960, 540), (333, 201), (480, 480)]
    alone = {}
    for f, planes in enumerate(frames):
        for tile_w, tile_h in tiles:
            scale._plans.clear()
            out = np.full((tile_h, tile_w, 4), np.nan, np.float32)
            scale.yuv420_to_rgba(*planes, out)
            alone[f, tile_w, tile_h] = out
    scale._plans.clear()
    for _ in range(2):
        for f, planes in enumerate(frames):
            for tile_w, tile_h in tiles:
                out = np.full((tile_h, tile_w, 4), np.nan, np.float32)
                scale.yuv420_to_rgba(*planes, out)
                assert np.array_equal(out, alone[f, tile_w, tile_h])
    assert len(scale._plans) == len(frames) * len(tiles)


def test_writes_in_place_and_bars_are_black() -> None:
    """The texture is never reallocated (Dear PyGui holds its pointer) and every bar pixel is
    exactly (0, 0, 0, 1), also over stale content."""
    y, u, v = _planes(640, 480, seed=4)  # 4:3 into 16:9: bars left and right
    out = np.full((270, 480, 4), 0.5, np.float32)
    pointer = out.ctypes.data
    result = scale.yuv420_to_rgba(y, u, v, out)
    assert result is None and out.ctypes.data == pointer and out.flags.c_contiguous
    x, top, w, h = letterbox(640, 480, 480, 270)
    assert (x, top, w, h) == (60, 0, 360, 270)
    assert (out[:, :x] == BLACK).all() and (out[:, x + w :] == BLACK).all()
    picture = out[:, x : x + w]
    assert (picture[..., 3] == 1.0).all() and picture[..., :3].max() > 0.2
    # Letterbox: bars above and below; a bright frame does not bleed into them.
    bright = np.full((360, 640), 235, np.uint8), np.full((180, 320), 128, np.uint8)
    tall = np.full((480, 480, 4), 0.5, np.float32)
    scale.yuv420_to_rgba(bright[0], bright[1], bright[1], tall)
    assert (tall[:105] == BLACK).all() and (tall[375:] == BLACK).all()
    assert np.allclose(tall[105:375], 1.0, atol=1e-3)  # Y 235 is white


def test_limited_range_levels_match_opencv_exactly() -> None:
    """Flat fields: no resampling error, so only OpenCV's 8-bit rounding remains."""
    for luma, cu, cv in ((16, 128, 128), (235, 128, 128), (81, 90, 240), (145, 54, 34)):
        y = np.full((36, 64), luma, np.uint8)
        u = np.full((18, 32), cu, np.uint8)
        v = np.full((18, 32), cv, np.uint8)
        out = np.empty((18, 32, 4), np.float32)
        scale.yuv420_to_rgba(y, u, v, out)
        assert np.abs(out - _reference(y, u, v, 32, 18)).max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize(("tile_w", "tile_h"), [(480, 270), (960, 540)])
def test_timing_report(tile_w: int, tile_h: int, capsys: pytest.CaptureFixture[str]) -> None:
    """Kernel against the OpenCV peer into the same preallocated texture (reported, not gated:
    bench/ owns the gate)."""
    y, u, v = _planes(640, 360, seed=5)
    i420 = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(540, 640)
    tile = np.zeros((tile_h, tile_w, 4), np.float32)

    def peer() -> None:
        rgba = cv2.cvtColor(i420, cv2.COLOR_YUV2RGBA_I420)
        resized = cv2.resize(rgba, (tile_w, tile_h), interpolation=cv2.INTER_LINEAR)
        np.multiply(resized, 1 / 255, out=tile, casting="unsafe")

    timings = {}
    for label, step in (("kernel", lambda: scale.yuv420_to_rgba(y, u, v, tile)), ("opencv", peer)):
        step()
        samples = []
        for _ in range(60):
            start = time.perf_counter()
            step()
            samples.append(time.perf_counter() - start)
        timings[label] = float(np.median(samples)) * 1000
    with capsys.disabled():
        print(
            f"\nscale 640x360 -> {tile_w}x{tile_h}: kernel {timings['kernel']:.3f} ms, "
            f"OpenCV {timings['opencv']:.3f} ms ({timings['opencv'] / timings['kernel']:.1f}x)"
        )


@pytest.mark.parametrize(
    ("width", "height", "tile_w", "tile_h"),
    [
        (640, 360, 480, 270),
        (640, 480, 480, 270),  # pillarbox: bars left and right inside the region
        (640, 360, 480, 480),  # letterbox
        (641, 359, 333, 201),  # odd source and odd tile
        (64, 36, 97, 55),  # odd upscale
        (2, 2, 1, 1),
        (640, 360, 1, 7),  # a one-pixel column
        (640, 360, 9, 1),  # a single row
    ],
)
def test_region_of_an_atlas_equals_a_tile_copied_there(
    width: int, height: int, tile_w: int, tile_h: int, warmed: int
) -> None:
    """A tile's region of a larger texture (rows further apart than the tile is wide) gets
    exactly the tile's pixels, and nothing of the atlas outside the region is written."""
    y, u, v = _planes(width, height, seed=width + tile_h)
    tile = np.full((tile_h, tile_w, 4), np.nan, np.float32)
    scale.yuv420_to_rgba(y, u, v, tile)
    rng = np.random.default_rng(tile_w)
    for x0, y0, spare_w, spare_h in ((0, 0, 1, 0), (3, 5, 11, 2), (tile_w, 1, tile_w + 1, 3)):
        atlas = rng.random((y0 + tile_h + spare_h, x0 + tile_w + spare_w, 4), np.float32)
        before = atlas.copy()
        region = atlas[y0 : y0 + tile_h, x0 : x0 + tile_w]
        assert region.flags.c_contiguous == (tile_h == 1)  # one row: contiguous anyway
        scale.yuv420_to_rgba(y, u, v, region)
        expected = before.copy()
        expected[y0 : y0 + tile_h, x0 : x0 + tile_w] = tile
        assert np.array_equal(atlas, expected)  # the region as the tile, the rest untouched
    assert len(scale._kernel.signatures) == warmed  # nothing compiled after warm()


def test_atlas_tiles_in_turn_leave_their_neighbours_alone() -> None:
    """The console's use: a grid of tiles in one texture, each converted straight into its region
    (the last column full width, so C-contiguous rows meet strided ones in one atlas)."""
    frames = [_planes(640, 360, seed=9), _planes(640, 480, seed=10), _planes(641, 359, seed=11)]
    tile_w, tile_h = 161, 91
    atlas = np.full((2 * tile_h, 3 * tile_w, 4), np.nan, np.float32)
    expected = np.empty_like(atlas)
    for row in range(2):
        for col in range(3):
            planes = frames[(row + col) % len(frames)]
            tile = np.empty((tile_h, tile_w, 4), np.float32)
            scale.yuv420_to_rgba(*planes, tile)
            region = np.s_[row * tile_h : (row + 1) * tile_h, col * tile_w : (col + 1) * tile_w]
            expected[region] = tile
            scale.yuv420_to_rgba(*planes, atlas[region])
    assert np.array_equal(atlas, expected)


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _misaligned(shape: tuple[int, ...]) -> np.ndarray:
    raw = np.zeros(int(np.prod(shape)) * 4 + 1, np.uint8)
    return raw[1:].view(np.float32).reshape(shape)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: np.zeros((27, 48, 4), np.float64), "dtype float64"),
        (lambda: np.zeros((27, 48, 4), np.uint8), "dtype uint8"),
        (lambda: np.zeros((27, 48, 3), np.float32), r"shape \(27, 48, 3\)"),
        (lambda: np.zeros((27, 48 * 4), np.float32), r"shape \(27, 192\)"),
        (lambda: [[[0.0] * 4] * 48] * 27, "not a numpy array"),
        (lambda: np.zeros((27, 96, 4), np.float32)[:, ::2], "not contiguous"),  # strides[1] 32
        (lambda: np.zeros((27, 48, 8), np.float32)[:, :, :4], "not contiguous"),  # strides[1] 32
        (lambda: np.zeros((27, 48, 4, 2), np.float32)[..., 0], "not contiguous"),  # strides[2] 8
        (lambda: np.zeros((4, 27, 48), np.float32).transpose(1, 2, 0), "not contiguous"),
        (lambda: np.zeros((27, 48, 4), np.float32)[::-1], "overlap or run backwards"),
        (lambda: np.zeros((27, 96, 4), np.float32).reshape(54, 48, 4)[::2][:, :, :], None),
        (
            lambda: np.lib.stride_tricks.as_strided(
                np.zeros((27, 48, 4), np.float32), strides=(400, 16, 4)
            ),
            "overlap",
        ),
        (lambda: np.broadcast_to(np.zeros((1, 48, 4), np.float32), (27, 48, 4)), "overlap"),
        (lambda: _read_only(np.zeros((27, 48, 4), np.float32)), "read-only"),
        (lambda: _misaligned((27, 48, 4)), "not aligned"),
    ],
)
def test_unusable_outputs_are_refused(
    make: Callable[[], np.ndarray], reason: str | None, warmed: int
) -> None:
    """Outputs the kernel cannot write (wrong dtype or shape, pixels not contiguous, rows that
    overlap, read-only, misaligned) raise a ValueError that says why, and are left as they were;
    ``None``: a control that must be accepted."""
    y, u, v = _planes(64, 36, seed=12)
    out = make()
    if reason is None:
        scale.yuv420_to_rgba(y, u, v, out)
        assert (out[..., 3] == 1.0).all()
    else:
        before = np.array(out, copy=True)
        with pytest.raises(ValueError, match=reason):
            scale.yuv420_to_rgba(y, u, v, out)
        assert np.array_equal(np.asarray(out), before)
    assert len(scale._kernel.signatures) == warmed


@pytest.mark.parametrize(
    ("tile_w", "tile_h", "windows"),
    [
        (480, 270, (2, 1)),  # luma down 4:3, chroma up 2:3
        (960, 540, (1, 1)),
        (320, 180, (2, 2)),
        (1280, 720, (1, 1)),
        (333, 201, (2, 2)),  # a width that is no whole number of blocks: the scalar tail
        (250, 141, (0, 2)),  # luma down past 2:1: the scalar taps for luma
    ],
)
def test_every_way_of_resampling_gives_the_same_texture(
    tile_w: int, tile_h: int, windows: tuple[int, int]
) -> None:
    """The horizontal pass permutes a window of one or two registers, or takes the scalar taps
    (a CPU without an in-register permute, ``PERMUTE == ""``, or a block whose taps
    spread wider): every way gives the same texture, to float rounding."""
    y, u, v = _planes(640, 360, seed=13)
    planned = np.zeros((tile_h, tile_w, 4), np.float32)
    scale.yuv420_to_rgba(y, u, v, planned)
    fit, luma_x, chroma_x, luma_rows, chroma_rows = scale._make_plan(
        *y.shape, *u.shape, tile_h, tile_w
    )
    # blocks of 8 or 16 lanes both span a window in proportion: the same plan
    assert (luma_x[4], chroma_x[4]) == (windows if scale.PERMUTE else (0, 0))
    for luma_window, chroma_window in {(0, 0), (2, 2), (luma_x[4], chroma_x[4])}:
        if (luma_window == 2 and luma_x[4] == 0) or (chroma_window == 2 and chroma_x[4] == 0):
            continue  # the taps do not fit two registers
        plan = (
            fit,
            (*luma_x[:4], luma_window),
            (*chroma_x[:4], chroma_window),
            luma_rows,
            chroma_rows,
        )
        other = np.zeros_like(planned)
        scale._kernel(y, u, v, other, plan)
        np.testing.assert_allclose(other, planned, atol=1e-6)
