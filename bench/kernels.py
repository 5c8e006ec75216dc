"""The Numba kernels against OpenCV doing the same job: motion detection and tile scaling.

Each ``*_pair`` returns two zero-argument callables, ours and the peer, that process the next
frame of a synthetic scene into buffers allocated once; the runner times them with
``bench.measure.compare`` and the pytest-benchmark files hand them to ``benchmark``.
The gated figures give each side one thread (OpenCV's pool and Numba's limited to one): equal
resources, the work per frame that decides how many cameras and tiles a machine carries, and
steady on a shared machine. The note gives both with their default threading, where OpenCV
also takes the second core when it is free.
"""

from __future__ import annotations

import contextlib
import itertools
import statistics
from collections.abc import Callable, Iterator

import cv2
import numba
import numpy as np

from bench.measure import Row, compare, make_row
from native.scale import yuv420_to_rgba
from native.texture import letterbox
from nvr.frames.motion import (
    MotionDetector,
    MotionParams,
    OpenCVReferenceState,
    opencv_reference_step,
)

MOTION_SIZES = ((640, 360), (1920, 1080))
SCALE_SOURCE = (640, 360)
SCALE_TILES = ((480, 270), (960, 540))
# Gates on the median ratio of the repeats (one thread each): in 10 runs with a core busy on
# AVX-512 and 10 with AVX2 simulated (``nvr bench --as-avx2``), the worst runs gave 2.60x
# (motion 640x360) and 2.70x (scale 480x270), both with AVX2; bench/RESULTS.md.
MOTION_MIN_RATIO = 2.5
SCALE_MIN_RATIO = 2.5
SCENE_FRAMES = 30
FRAME_NS = 66_666_667  # 15 fps

Step = Callable[[], object]


def scene(width: int, height: int, frames: int = SCENE_FRAMES) -> list[np.ndarray]:
    """RGB frames of a textured still scene that a bright box crosses (uint8, C-contiguous)."""
    rng = np.random.default_rng(3)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.empty((height, width, 3), np.float32)
    for c in range(3):
        base[..., c] = 110 + 60 * np.sin(xs / (37 + 11 * c)) * np.cos(ys / 53)
    base += cv2.GaussianBlur(rng.normal(0, 10, (height, width)).astype(np.float32), (0, 0), 1.2)[
        ..., None
    ]
    background = np.clip(base, 0, 255).astype(np.uint8)
    box_w, box_h = width // 8, height // 5
    out = []
    for i in range(frames):
        frame = background.copy()
        x = (width - box_w) * i // max(frames - 1, 1)
        y = height // 3 + int(height / 10 * np.sin(i / 3))
        cv2.rectangle(frame, (x, y), (x + box_w, y + box_h), (235, 225, 200), -1)
        out.append(frame)
    return out


def _cycle_step(frames: list, step: Callable) -> Step:
    """A zero-argument step that feeds ``frames`` round and round to ``step(frame, capture_ns)``."""
    clock = itertools.count()

    def run() -> object:
        i = next(clock)
        return step(frames[i % len(frames)], i * FRAME_NS)

    return run


def motion_pair(width: int, height: int) -> tuple[Step, Step]:
    """(ours, peer) motion steps on the luma of a moving scene at ``width x height``."""
    luma = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in scene(width, height)]
    params = MotionParams()
    detector = MotionDetector(width, height, params)
    ours = _cycle_step(luma, detector.process)
    state = OpenCVReferenceState(width, height, params)
    peer = _cycle_step(luma, lambda y, _ns: opencv_reference_step(y, state))
    return ours, peer


def scale_pair(tile_w: int, tile_h: int) -> tuple[Step, Step]:
    """(ours, peer) conversions of a 640x360 I420 frame into a ``tile_w x tile_h`` RGBA tile.

    Both read the same I420 buffer (a ring slot holds Y, U and V back to back) and write a float32
    (tile_h, tile_w, 4) tile in 0..1, allocated once; the peer converts with OpenCV into
    preallocated intermediates.
    """
    src_w, src_h = SCALE_SOURCE
    i420 = [cv2.cvtColor(f, cv2.COLOR_RGB2YUV_I420) for f in scene(src_w, src_h, 8)]
    cw, ch = src_w // 2, src_h // 2
    planes = [
        (
            buf[:src_h],
            buf[src_h:].reshape(-1)[: ch * cw].reshape(ch, cw),
            buf[src_h:].reshape(-1)[ch * cw :].reshape(ch, cw),
        )
        for buf in i420
    ]
    ours_tile = np.zeros((tile_h, tile_w, 4), np.float32)
    peer_tile = np.zeros((tile_h, tile_w, 4), np.float32)
    x, y, w, h = letterbox(src_w, src_h, tile_w, tile_h)
    view = peer_tile[y : y + h, x : x + w]
    rgba = np.empty((src_h, src_w, 4), np.uint8)
    resized = np.empty((h, w, 4), np.uint8)
    scale = np.float32(1 / 255)

    def ours(frame: tuple[np.ndarray, np.ndarray, np.ndarray], _ns: int) -> None:
        yuv420_to_rgba(*frame, ours_tile)

    def peer(frame: np.ndarray, _ns: int) -> None:
        cv2.cvtColor(frame, cv2.COLOR_YUV2RGBA_I420, dst=rgba)
        cv2.resize(rgba, (w, h), dst=resized, interpolation=cv2.INTER_LINEAR)
        np.multiply(resized, scale, out=view, casting="unsafe")

    return _cycle_step(planes, ours), _cycle_step(i420, peer)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with OpenCV and Numba limited to one thread each."""
    cv2_before, numba_before = cv2.getNumThreads(), numba.get_num_threads()
    cv2.setNumThreads(1)
    numba.set_num_threads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(cv2_before)
        numba.set_num_threads(numba_before)


def kernel_row(name: str, pair: tuple[Step, Step], quick: bool, min_ratio: float) -> Row:
    """Ours against the peer on one thread each (gated at ``min_ratio`` on the median of the
    repeats' ratios, their spread shown), and with default threading (noted)."""
    calls, repeats = (SCENE_FRAMES, 5) if quick else (2 * SCENE_FRAMES, 15)
    ours, peer = pair
    threaded = compare(ours, peer, calls=calls, repeats=repeats, warmup=SCENE_FRAMES)
    with one_thread():
        single = compare(ours, peer, calls=calls, repeats=repeats, warmup=SCENE_FRAMES)
    return make_row(
        name,
        "ms/frame",
        single.ours * 1000,
        single.peer * 1000,
        min_ratio=min_ratio,
        gated=True,
        group="kernels",
        ratios=single.ratios,
        note=(
            f"default threads: {threaded.ours * 1000:.3f} vs {threaded.peer * 1000:.3f} ms "
            f"({statistics.median(threaded.ratios):.2f}x)"
        ),
        detail={
            "ours_default_threads_ms": threaded.ours * 1000,
            "peer_default_threads_ms": threaded.peer * 1000,
        },
    )


def motion_rows(quick: bool) -> list[Row]:
    """Motion detector vs the OpenCV reference pipeline at 640x360 and 1080p; gate 2.5x."""
    return [
        kernel_row(f"motion {w}x{h}", motion_pair(w, h), quick, MOTION_MIN_RATIO)
        for w, h in MOTION_SIZES
    ]


def scale_rows(quick: bool) -> list[Row]:
    """640x360 I420 to RGBA float32 tiles vs OpenCV convert + resize + scale; gate 2.5x."""
    w0, h0 = SCALE_SOURCE
    return [
        kernel_row(
            f"scale {w0}x{h0} I420 -> {w}x{h} RGBA f32", scale_pair(w, h), quick, SCALE_MIN_RATIO
        )
        for w, h in SCALE_TILES
    ]
