"""Motion kernels against an OpenCV reference, and the detector's behaviour on synthetic scenes."""

from __future__ import annotations

import math
import os

os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/nvr-numba-cache")

import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from native import motion as kernels
from nvr.frames.motion import (
    MotionDetector,
    MotionParams,
    MotionResult,
    OpenCVReferenceState,
    opencv_reference_step,
)

FRAME_NS = 40_000_000  # 25 fps


@pytest.fixture(scope="module", autouse=True)
def warmed() -> tuple[int, ...]:
    """Compile once per module; returns the kernels' signature counts right after warming."""
    kernels.warm()
    return _signatures()


def _signatures() -> tuple[int, ...]:
    return tuple(len(k.signatures) for k in (kernels.motion_boxes, kernels.detect_frame))


def _scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Static textured background in 40..180 (room for brightness changes without clipping)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (height, width)).astype(np.float32)
    texture = cv2.GaussianBlur(noise, (0, 0), 2.0)
    low, high = float(texture.min()), float(texture.max())
    return (40 + (texture - low) * (140 / (high - low))).astype(np.uint8)


def _frame(
    scene: np.ndarray,
    rng: np.random.Generator,
    square: tuple[int, int] | None = None,
    size: int = 48,
    offset: int = 0,
) -> np.ndarray:
    """``scene`` (+ ``offset`` brightness) with sensor noise (sigma 2) and an optional square."""
    frame = scene.astype(np.float32) + offset
    if square is not None:
        x, y = square
        frame[y : y + size, x : x + size] = 230 + offset // 4
    frame += rng.normal(0, 2, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


class _Reference:
    """The same steps with OpenCV: INTER_AREA resize, 3x3 box blur, running average, threshold.

    The resize runs on float32 so nothing is rounded to integers; the remaining differences are
    float summation order (a few ulps), which flips a pixel only when its difference lies within
    about 1e-5 of the threshold, and, for non-integer scale factors, INTER_AREA's fractional
    edge weights versus the kernel's whole-pixel cells.
    """

    def __init__(self, width: int, height: int, threshold: float, alpha: float) -> None:
        self.size = (width, height)
        self.threshold = threshold
        self.alpha = alpha
        self.bg: np.ndarray | None = None

    def step(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        small = cv2.resize(y.astype(np.float32), self.size, interpolation=cv2.INTER_AREA)
        small = cv2.blur(small, (3, 3))
        if self.bg is None:
            self.bg = small.copy()
        diff = cv2.absdiff(small, self.bg)
        _, mask = cv2.threshold(diff, self.threshold, 1, cv2.THRESH_BINARY)
        cv2.accumulateWeighted(small, self.bg, self.alpha)
        mask = mask.astype(np.uint8)
        return mask, cv2.countNonZero(mask)


class _Analysis:
    """``detect_frame``'s analysis alone, for its kernel tests: threshold 25, alpha 0.05, and
    never a box (``min_area`` above 1) nor a light change (``light_changed`` infinite)."""

    def __init__(self, sw: int, sh: int, zone: np.ndarray | None = None) -> None:
        """``zone`` None: the kernel's no-zone variant."""
        self.scratch, self.bg = np.zeros((sh, sw), np.float32), np.zeros((sh, sw), np.float32)
        self.mask = np.zeros((sh, sw), np.uint8)
        self.zone = zone
        labels = np.empty((sh, sw), np.int32)
        stats = np.empty((((sh + 1) // 2) * ((sw + 1) // 2), 5), np.int32)
        bounds = (np.arange(sw + 1, dtype=np.int64), np.arange(sh + 1, dtype=np.int64))
        pixels = sw * sh if zone is None else int(zone.sum())
        self.args = (25.0, 0.05, pixels, 2.0, math.inf, labels, stats, 1, *bounds)
        self.boxes = np.empty((4, 4), np.int32)

    def step(self, y: np.ndarray, prime: bool = False) -> tuple[int, int]:
        """``(zone_changed, all_changed)``; ``prime``: set the background to the image."""
        zone, total, boxes = kernels.detect_frame(
            y, self.scratch, self.bg, self.mask, self.zone, *self.args, self.boxes, prime
        )
        assert boxes == 0
        return zone, total


def _moving_square_frames(
    height: int, width: int, count: int, seed: int = 1
) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    scene = _scene(height, width, seed)
    size = height // 6
    yield _frame(scene, rng, size=size)
    for k in range(count):
        x = (width // 10 + k * size // 3) % (width - size)
        yield _frame(scene, rng, (x, height // 3), size=size)


@pytest.mark.parametrize(
    ("width", "height", "sw", "sh", "tolerance"),
    [(640, 360, 320, 180, 0.0005), (1920, 1080, 320, 180, 0.0005), (704, 576, 320, 262, 0.01)],
)
def test_kernel_matches_opencv_reference(
    width: int, height: int, sw: int, sh: int, tolerance: float
) -> None:
    """Integer scale factors (the first two) match to float rounding; 2.2x is within 1%."""
    exact = width % sw == 0 and height % sh == 0
    kernel = _Analysis(sw, sh)
    bg, mask = kernel.bg, kernel.mask
    ref = _Reference(sw, sh, 25.0, 0.05)
    differing = compared = 0
    for index, frame in enumerate(_moving_square_frames(height, width, 25)):
        padded = np.zeros((height, width + 32), np.uint8)
        padded[:, 7 : 7 + width] = frame
        strided = padded[:, 7 : 7 + width]  # like a decoder plane with line padding
        zone_count, total = kernel.step(strided, prime=index == 0)
        ref_mask, ref_count = ref.step(frame)
        if index == 0:  # both models start from the first frame
            assert ref.bg is not None and (not exact or np.allclose(bg, ref.bg, atol=1e-3))
            continue
        assert zone_count == total == int(mask.sum())
        assert abs(zone_count - ref_count) <= tolerance * mask.size
        differing += int(np.count_nonzero(mask != ref_mask))
        compared += mask.size
        assert ref.bg is not None
        if exact:
            assert np.allclose(bg, ref.bg, atol=1e-3)
    assert differing <= tolerance * compared, f"{differing} of {compared} mask pixels differ"
    assert ref_count > 100  # the square really is detected


@pytest.mark.parametrize(
    ("width", "height", "sw", "sh"),
    [
        *((w, h, 320, 180) for w, h in ((640, 360), (1280, 720), (960, 540), (320, 180))),
        (1600, 300, 320, 60),  # 5x5 cells: the cell sums' path for factors not compiled in
        (1920, 1080, 320, 180),
        (704, 576, 320, 262),
        (1920, 1080, 8, 4),
    ],
)
def test_kernel_paths_give_the_blurred_area_average(
    width: int, height: int, sw: int, sh: int
) -> None:
    """Each downscale path (integer cell sums for small whole-number factors, each compiled-in
    factor and any other; float averages for larger or uneven ones; int32 sums for cells of
    more than 257 rows) yields ``small`` = the integer-area average after a 3x3 box blur,
    computed here with numpy and OpenCV in float64: the background a first frame sets, and what
    a later frame is compared with (to the bit: the same frame again changes nothing). A plane
    with line padding whose last row ends its buffer gives the same."""
    rng = np.random.default_rng(width + sw)
    y = rng.integers(0, 256, (height, width), dtype=np.uint8)
    rows = [i * height // sh for i in range(sh + 1)]
    cols = [j * width // sw for j in range(sw + 1)]
    area = np.add.reduceat(np.add.reduceat(y.astype(np.float64), rows[:-1], 0), cols[:-1], 1)
    area /= np.outer(np.diff(rows), np.diff(cols))
    expected = cv2.blur(area, (3, 3))
    kernel = _Analysis(sw, sh)
    counts = kernel.step(y)  # against a black background
    assert counts == (int(kernel.mask.sum()),) * 2
    assert kernel.step(y, prime=True) == (0, 0) and not kernel.mask.any()
    assert np.allclose(kernel.bg, expected, atol=2e-4)
    assert counts[0] == int((kernel.bg > 25).sum())
    primed = kernel.bg.copy()
    assert kernel.step(y) == (0, 0) and np.array_equal(kernel.bg, primed)
    pitch = width + 5
    memory = np.zeros((height - 1) * pitch + width, np.uint8)  # the last row ends the buffer
    padded = np.lib.stride_tricks.as_strided(memory, (height, width), (pitch, 1))
    padded[:] = y
    again = _Analysis(sw, sh)
    again.step(padded, prime=True)
    assert np.array_equal(again.bg, primed)


@pytest.mark.parametrize(("width", "height"), [(640, 360), (1920, 1080)])
def test_the_compare_decides_on_the_blurred_image_as_stored(width: int, height: int) -> None:
    """The mask is ``|blurred - background| > threshold`` with the blurred value rounded as the
    background is set from it, on every CPU: a background exactly at the threshold from it, or
    a hair either side, is judged the same by the compare and by numpy on those values (a
    multiply fused into the difference, as numba's "contract" did on AVX-512, flipped pixels).
    The background then moves by ``alpha`` of the difference."""
    rng = np.random.default_rng(width)
    y = rng.integers(0, 256, (height, width), dtype=np.uint8)
    kernel = _Analysis(320, 180)
    kernel.step(y, prime=True)
    blurred = kernel.bg.copy()
    threshold, alpha = np.float32(kernel.args[0]), np.float32(kernel.args[1])
    offsets = threshold * rng.choice(np.array([-1, 1], np.float32), blurred.shape)
    nudge = rng.choice(np.array([-1, 0, 1], np.float32), blurred.shape) * np.float32(1e-4)
    background = (blurred + offsets + nudge).astype(np.float32)
    kernel.bg[:] = background
    kernel.step(y)
    expected = np.abs(blurred - background) > threshold
    assert np.array_equal(kernel.mask.astype(bool), expected)
    moved = background + alpha * (blurred - background)
    assert np.allclose(kernel.bg, moved, rtol=0, atol=2e-5)


def test_kernel_zone_and_input_layouts_agree() -> None:
    frames = list(_moving_square_frames(360, 640, 6))
    zone = np.zeros((180, 320), np.uint8)
    zone[:, :160] = 1
    results = []
    for variant in ("contiguous", "strided", "padded", "rows reversed", "readonly"):
        kernel = _Analysis(320, 180, zone)
        mask, bg = kernel.mask, kernel.bg
        for frame in frames:
            if variant == "strided":  # pixels not adjacent: copied first
                frame = np.repeat(frame, 2, axis=1)[:, ::2]
            elif variant == "padded":  # decoder line padding
                frame = np.pad(frame, ((0, 0), (0, 64)))[:, :640]
            elif variant == "rows reversed":  # a negative row stride: copied first
                frame = np.ascontiguousarray(frame[::-1])[::-1]
            elif variant == "readonly":
                frame = frame.copy()
                frame.flags.writeable = False
            counts = kernel.step(frame)
        assert counts[0] == int(mask.sum()) and not mask[:, 160:].any()
        assert counts[1] > counts[0]  # changes outside the zone still count for the light guard
        results.append((counts, mask.copy(), bg.copy()))
    for counts, mask, bg in results[1:]:
        assert counts == results[0][0]
        assert np.array_equal(mask, results[0][1]) and np.array_equal(bg, results[0][2])


@pytest.mark.parametrize(("width", "height"), [(640, 360), (1920, 1080)])
def test_no_zone_is_the_whole_picture(width: int, height: int) -> None:
    """The kernel's variant without zones (``zone`` None) equals a zone of every pixel."""
    frames = list(_moving_square_frames(height, width, 6))
    whole, unzoned = _Analysis(320, 180, np.ones((180, 320), np.uint8)), _Analysis(320, 180)
    for index, frame in enumerate(frames):
        counts = whole.step(frame, prime=index == 0)
        assert unzoned.step(frame, prime=index == 0) == counts
        assert np.array_equal(whole.mask, unzoned.mask) and np.array_equal(whole.bg, unzoned.bg)
    assert counts[0] == counts[1] > 100


def _cv_boxes(mask: np.ndarray, min_pixels: int) -> list[tuple[int, ...]]:
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return sorted(tuple(row[:4]) for row in stats[1:].tolist() if row[4] >= min_pixels)


def _boxes(mask: np.ndarray, min_pixels: int, max_boxes: int = 4096) -> list[tuple[int, ...]]:
    h, w = mask.shape
    labels = np.empty((h, w), np.int32)
    stats = np.empty((((h + 1) // 2) * ((w + 1) // 2), 5), np.int32)
    out = np.empty((max_boxes, 4), np.int32)
    count = kernels.motion_boxes(mask, labels, stats, min_pixels, out)
    return sorted(map(tuple, out[:count].tolist()))


def test_boxes_match_connected_components() -> None:
    rng = np.random.default_rng(7)
    for _ in range(150):
        h, w = (int(n) for n in rng.integers(1, 70, 2))
        mask = (rng.random((h, w)) < rng.uniform(0.05, 0.7)).astype(np.uint8)
        min_pixels = int(rng.integers(1, 5))
        assert _boxes(mask, min_pixels) == _cv_boxes(mask, min_pixels)
    checker = np.indices((9, 11)).sum(axis=0) % 2 == 0  # diagonal-only contacts: one component
    assert _boxes(checker.astype(np.uint8), 1) == [(0, 0, 11, 9)]
    isolated = np.zeros((9, 11), np.uint8)
    isolated[::2, ::2] = 1  # the most components a mask can have
    assert len(_boxes(isolated, 1)) == 5 * 6 == len(_cv_boxes(isolated, 1))


def test_boxes_keep_the_largest_when_full() -> None:
    mask = np.zeros((20, 40), np.uint8)
    for k in range(10):
        mask[1 : 2 + k, 4 * k : 4 * k + 2] = 1  # areas grow with k
    assert _boxes(mask, 1, max_boxes=3) == [(28, 1, 2, 8), (32, 1, 2, 9), (36, 1, 2, 10)]


def test_boxes_of_dense_masks_match_connected_components() -> None:
    """Masks with more runs than ``labels`` can hold (a temporary is allocated) and masks that
    are full, empty or one pixel wide."""
    rng = np.random.default_rng(8)
    stripes = np.zeros((31, 45), np.uint8)
    stripes[:, ::2] = 1  # every row has 23 runs: 5 ints per run no longer fit in labels
    stripes[::4, :] = 1
    masks = [
        stripes,
        np.ones((17, 9), np.uint8),
        np.zeros((17, 9), np.uint8),
        (rng.random((40, 1)) < 0.5).astype(np.uint8),
        (rng.random((1, 40)) < 0.5).astype(np.uint8),
        (rng.random((64, 64)) < 0.45).astype(np.uint8) * 255,  # any nonzero value counts
    ]
    for mask in masks:
        assert _boxes(mask, 1) == _cv_boxes((mask != 0).astype(np.uint8), 1)


def test_detector_boxes_match_opencv_on_its_mask() -> None:
    detector = MotionDetector(640, 360, MotionParams())
    for index, frame in enumerate(_moving_square_frames(360, 640, 8)):
        result = detector.process(frame, index * FRAME_NS)
    assert result.moving and result.boxes
    # Analysis cells are 2x2 source pixels here, so scaling the reference boxes is exact.
    ref = [tuple(2 * v for v in box) for box in _cv_boxes(detector._mask, detector._min_box_pixels)]
    assert sorted(result.boxes) == ref


def _run(detector: MotionDetector, frames: list[np.ndarray], start: int = 0) -> list[MotionResult]:
    return [detector.process(f, (start + i) * FRAME_NS) for i, f in enumerate(frames)]


def test_fires_on_moving_square_and_locates_it() -> None:
    rng = np.random.default_rng(2)
    scene = _scene(360, 640, 2)
    detector = MotionDetector(640, 360, MotionParams())
    quiet = _run(detector, [_frame(scene, rng) for _ in range(10)])
    assert not any(r.moving or r.active for r in quiet)
    positions = [(60 + 20 * k, 150) for k in range(12)]
    moving = _run(detector, [_frame(scene, rng, p) for p in positions], start=10)
    assert all(r.moving for r in moving)
    assert [r.started for r in moving[:3]] == [False, True, False]
    assert all(r.active for r in moving[1:])
    x, y = positions[-1]
    (bx, by, bw, bh), *_ = sorted(moving[-1].boxes, key=lambda b: -b[2] * b[3])
    # The box covers the square (48 px) plus blur spread and the not yet absorbed trail.
    assert bx <= x and by <= y and bx + bw >= x + 48 and by + bh >= y + 48
    assert bw <= 48 + 16 and bh <= 48 + 16
    assert detector.peak_changed == max(r.changed for r in moving)


def test_still_scene_with_sensor_noise_stays_quiet() -> None:
    rng = np.random.default_rng(3)
    scene = _scene(360, 640, 3)
    detector = MotionDetector(640, 360, MotionParams())
    results = _run(detector, [_frame(scene, rng) for _ in range(150)])
    assert not any(r.moving or r.active or r.light_change or r.boxes for r in results)
    assert max(r.changed for r in results) < MotionParams().min_area


def test_light_change_recalibrates_without_event_and_recovers() -> None:
    rng = np.random.default_rng(4)
    scene = _scene(360, 640, 4)
    detector = MotionDetector(640, 360, MotionParams())
    before = _run(detector, [_frame(scene, rng) for _ in range(5)])
    jump = _run(detector, [_frame(scene, rng, offset=60) for _ in range(20)], start=5)
    assert jump[0].light_change and not jump[0].moving and jump[0].changed > 0.9
    assert not any(r.light_change or r.moving for r in jump[1:])
    assert not any(r.active or r.started for r in before + jump)
    square = _run(
        detector, [_frame(scene, rng, (100 + 20 * k, 100), offset=60) for k in range(4)], start=25
    )
    assert all(r.moving for r in square) and square[1].started


def test_zones_exclude_motion_outside() -> None:
    rng = np.random.default_rng(5)
    scene = _scene(360, 640, 5)
    left_half = ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))
    detector = MotionDetector(640, 360, MotionParams(zones=(left_half,)))
    # cv2.fillPoly includes boundary pixels: the edge at x = 0.5 takes in analysis column 160.
    assert detector._zone[:, :161].all() and not detector._zone[:, 161:].any()
    right = _run(
        detector, [_frame(scene, rng)] + [_frame(scene, rng, (400 + 15 * k, 150)) for k in range(8)]
    )
    assert not any(r.moving or r.active for r in right) and right[-1].changed == 0
    left = _run(detector, [_frame(scene, rng, (60 + 15 * k, 150)) for k in range(8)], start=9)
    assert all(r.moving for r in left) and left[1].started
    assert all(x + w <= 320 for r in left for x, _, w, _ in r.boxes)


def test_start_and_end_hysteresis_follow_capture_time() -> None:
    rng = np.random.default_rng(6)
    scene = _scene(360, 640, 6)
    params = MotionParams(start_frames=3, end_s=1.0)
    detector = MotionDetector(640, 360, params)
    spots = [(40 + 110 * (k % 5), 40 + 150 * (k // 5)) for k in range(10)]
    tick = 100_000_000  # 10 fps
    t = 0

    def feed(motion: bool) -> MotionResult:
        nonlocal t
        square = spots[(t // tick) % len(spots)] if motion else None
        result = detector.process(_frame(scene, rng, square), t)
        t += tick
        return result

    assert not feed(False).active  # background
    plan = "m.." + "mm." + "mmm" + "." * 9 + "m" + "." * 12
    results = [feed(c == "m") for c in plan]
    assert [r.moving for r in results] == [c == "m" for c in plan]
    started = [i for i, r in enumerate(results) if r.started]
    ended = [i for i, r in enumerate(results) if r.ended]
    # Starts on the third consecutive moving frame (8); the lone motion at 18, 0.9 s after the
    # previous one, keeps it alive; it ends exactly end_s after the last motion: 18 + 10.
    assert started == [8] and ended == [28]
    assert all(r.active for r in results[8:28]) and not any(r.active for r in results[28:])
    assert detector.peak_changed == max(r.changed for r in results[6:19] if r.moving)
    detector.reset()
    assert detector.peak_changed == 0.0 and not detector.process(scene, t).active


@pytest.mark.parametrize(("width", "height"), [(640, 360), (1920, 1080), (704, 576)])
def test_opencv_reference_step_agrees_with_detector(width: int, height: int) -> None:
    """The OpenCV peer exported for bench/ does the same work: its changed count is within a few
    percent of the detector's (it rounds the analysis image to integers) and it finds the same
    box (exactly, for whole-number scale factors)."""
    detector = MotionDetector(width, height, MotionParams())
    state = OpenCVReferenceState(width, height)
    assert state.analysis_size == detector._mask.shape[::-1]
    for index, frame in enumerate(_moving_square_frames(height, width, 10)):
        result = detector.process(frame, index * FRAME_NS)
        count, boxes = opencv_reference_step(frame, state)
        if index == 0:
            assert (count, boxes) == (0, ()) and state.background is not None
            continue
        ours = result.changed * detector._zone_pixels
        assert result.moving and abs(count - ours) <= 0.05 * ours
        assert len(boxes) == len(result.boxes) == 1
        (x, y, w, h), (rx, ry, rw, rh) = result.boxes[0], boxes[0]
        tolerance = 0 if width % 320 == 0 else 3  # source pixels
        assert max(abs(x - rx), abs(y - ry), abs(w - rw), abs(h - rh)) <= tolerance


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="min_area"):
        MotionParams(min_area=0)
    with pytest.raises(ValueError, match="zones"):
        MotionParams(zones=(((0.0, 0.0), (1.0, 1.0)),))
    with pytest.raises(ValueError, match="cover no pixel"):
        MotionDetector(640, 360, MotionParams(zones=(((2.0, 2.0), (3.0, 2.0), (3.0, 3.0)),)))
    detector = MotionDetector(640, 360, MotionParams())
    with pytest.raises(ValueError, match="640x360"):
        detector.process(np.zeros((360, 641), np.uint8), 0)


def test_warm_covers_runtime_variants(warmed: tuple[int, ...]) -> None:
    """Contiguous, strided (decoder line padding) and read-only (ring reader) planes all hit
    signatures compiled by warm(), so no frame pays for compilation."""
    detector = MotionDetector(641, 361, MotionParams())
    padded = next(_moving_square_frames(361, 700, 0))
    contiguous = np.ascontiguousarray(padded[:, :641])
    frozen = contiguous.copy()
    frozen.flags.writeable = False
    frozen_padded = padded.copy()
    frozen_padded.flags.writeable = False
    for i, plane in enumerate((padded[:, :641], contiguous, frozen, frozen_padded[:, :641])):
        detector.process(plane, i * FRAME_NS)
    detector.process(np.roll(contiguous, 40, axis=1), 9 * FRAME_NS)  # moving: boxes too
    assert _signatures() == warmed


@pytest.mark.parametrize(("width", "height"), [(640, 360), (1920, 1080)])
def test_timing_report(width: int, height: int, capsys: pytest.CaptureFixture[str]) -> None:
    """Detector (``process``: kernels, boxes and Python) against ``opencv_reference_step`` on
    moving frames, medians of alternating blocks over 40 frames (reported, not gated: bench/
    owns the gate)."""
    frames = list(_moving_square_frames(height, width, 40))
    detector = MotionDetector(width, height, MotionParams())
    state = OpenCVReferenceState(width, height)
    steps = {
        "detector": lambda i, f: detector.process(f, i * FRAME_NS),
        "opencv": lambda i, f: opencv_reference_step(f, state),
    }
    samples: dict[str, list[float]] = {label: [] for label in steps}
    for step in steps.values():
        for i, frame in enumerate(frames[:5]):
            step(i, frame)
    for r in range(6):
        for label, step in steps.items():
            for i, frame in enumerate(frames[1:]):
                start = time.perf_counter()
                step((r + 1) * 100 + i, frame)
                samples[label].append(time.perf_counter() - start)
    ms = {label: float(np.median(values)) * 1000 for label, values in samples.items()}
    with capsys.disabled():
        print(
            f"\nmotion {width}x{height}: detector {ms['detector']:.3f} ms/frame, "
            f"OpenCV {ms['opencv']:.3f} ms/frame ({ms['opencv'] / ms['detector']:.1f}x)"
        )
