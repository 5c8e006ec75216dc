"""Per-camera motion detector: background model, zones, light guard and event hysteresis.

The per-pixel work runs in ``native.motion`` kernels over buffers allocated once here; call
``native.motion.warm()`` at worker start so the first frame does not pay for compilation.

``opencv_reference_step`` is the same pipeline written with OpenCV calls: the peer that the tests
and ``bench/`` measure the detector against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import cv2
import numpy as np

from native.motion import detect_frame

MAX_BOXES = 16
_ZONE_SHIFT = 4  # fixed-point fraction bits for cv2.fillPoly vertices


@dataclass(frozen=True, slots=True)
class MotionParams:
    """Detector tuning.

    ``threshold``: luma difference (0-255) from the background that marks a pixel changed;
    ``min_area``: changed fraction of the zone pixels that makes a frame moving; ``alpha``:
    background learning rate per frame; ``scale_width``: analysis width (never upscaled);
    ``light_guard``: changed fraction of the whole frame treated as a lighting change;
    ``start_frames``: consecutive moving frames that start an event; ``end_s``: quiet seconds
    that end it; ``zones``: polygons in normalised (0..1) coordinates, empty for the whole frame.
    """

    threshold: int = 25
    min_area: float = 0.003
    alpha: float = 0.05
    scale_width: int = 320
    light_guard: float = 0.5
    start_frames: int = 2
    end_s: float = 2.0
    zones: tuple[tuple[tuple[float, float], ...], ...] = ()

    def __post_init__(self) -> None:
        problems = [
            text
            for ok, text in (
                (0 < self.threshold < 255, "threshold must be 1..254"),
                (0 < self.min_area <= 1, "min_area must be in (0, 1]"),
                (0 < self.alpha <= 1, "alpha must be in (0, 1]"),
                (self.scale_width >= 8, "scale_width must be at least 8"),
                (0 < self.light_guard <= 1, "light_guard must be in (0, 1]"),
                (self.start_frames >= 1, "start_frames must be at least 1"),
                (self.end_s >= 0, "end_s must not be negative"),
                (all(len(zone) >= 3 for zone in self.zones), "zones need at least 3 points"),
            )
            if not ok
        ]
        if problems:
            raise ValueError("invalid motion parameters: " + "; ".join(problems))


class MotionResult(NamedTuple):
    """Outcome of one frame (a named tuple: a third of a frozen dataclass's cost to make)."""

    changed: float  # fraction of zone pixels changed this frame (0..1)
    moving: bool  # changed >= min_area and not a lighting change
    active: bool  # event state after hysteresis
    started: bool  # an event started on this frame
    ended: bool  # an event ended on this frame
    boxes: tuple[tuple[int, int, int, int], ...]  # moving frames: zone regions, source (x, y, w, h)
    light_change: bool  # sudden global change: background re-calibrated, no event fired


class MotionDetector:
    """Stateful detector for one camera's luma plane at a fixed source size."""

    def __init__(self, width: int, height: int, params: MotionParams) -> None:
        """Allocate every buffer once and rasterise the zones at the analysis size."""
        if width < 1 or height < 1:
            raise ValueError(f"frame size {width}x{height} is invalid")
        self.width = width
        self.height = height
        self.params = params
        sw = min(params.scale_width, width)
        sh = min(height, max(1, round(height * sw / width)))
        self._scratch = np.zeros((sh, sw), np.float32)
        self._bg = np.zeros((sh, sw), np.float32)
        self._mask = np.zeros((sh, sw), np.uint8)
        self._labels = np.zeros((sh, sw), np.int32)
        self._stats = np.zeros((((sh + 1) // 2) * ((sw + 1) // 2), 5), np.int32)
        self._boxes = np.zeros((MAX_BOXES, 4), np.int32)
        self._zone = _rasterise(params.zones, sw, sh)
        self._zone_pixels = int(np.count_nonzero(self._zone))
        if self._zone_pixels == 0:
            raise ValueError(f"motion zones cover no pixel of the {sw}x{sh} analysis image")
        self._frame_pixels = sw * sh
        # Components smaller than a quarter of min_area are noise; an object may split into a few.
        self._min_box_pixels = max(2, math.ceil(params.min_area * self._zone_pixels / 4))
        # Analysis cell i spans source pixels bounds[i] .. bounds[i + 1] (as in the kernel).
        x_bounds = np.array([i * width // sw for i in range(sw + 1)], np.int64)
        y_bounds = np.array([i * height // sh for i in range(sh + 1)], np.int64)
        self._threshold = float(params.threshold)
        self._alpha = float(params.alpha)
        self._end_ns = round(params.end_s * 1e9)
        # Per-frame constants, looked up once here rather than through ``params`` every frame.
        self._shape = (height, width)
        self._min_area = params.min_area
        self._light_changed = params.light_guard * self._frame_pixels
        self._start_frames = params.start_frames
        self._kernel_args = (
            self._scratch,
            self._bg,
            self._mask,
            self._zone if self._zone_pixels < self._frame_pixels else None,  # None: no zones
            self._threshold,
            self._alpha,
            self._zone_pixels,
            float(self._min_area),
            float(self._light_changed),
            self._labels,
            self._stats,
            self._min_box_pixels,
            x_bounds,
            y_bounds,
            self._boxes,
        )
        self.reset()

    @property
    def mask(self) -> np.ndarray:
        """The last frame's changed pixels inside the zones, at the analysis size (read-only
        view; nonzero = changed): what the camera editor's preview shows."""
        view = self._mask.view()
        view.flags.writeable = False
        return view

    @property
    def peak_changed(self) -> float:
        """Largest changed fraction during the current or last event (its confidence)."""
        return self._peak

    def reset(self) -> None:
        """Forget the background and any event (no ``ended`` is reported for an open one)."""
        self._primed = False
        self._active = False
        self._run = 0
        self._run_peak = 0.0
        self._peak = 0.0
        self._last_motion_ns = 0

    def process(self, y: np.ndarray, capture_ns: int) -> MotionResult:
        """Analyse one (height, width) uint8 luma plane (any strides) captured at ``capture_ns``."""
        if y.shape != self._shape or y.dtype != np.uint8:
            raise ValueError(
                f"expected a {self.width}x{self.height} uint8 plane, got {y.shape} {y.dtype}"
            )
        primed = self._primed
        zone_changed, all_changed, boxes = detect_frame(y, *self._kernel_args, not primed)
        if not primed:  # the background is the first frame
            self._primed = True
            return MotionResult(0.0, False, self._active, False, False, (), False)
        changed = zone_changed / self._zone_pixels
        light_change = all_changed > self._light_changed  # the background is the new picture
        started = ended = False
        if not light_change and changed >= self._min_area:
            self._run += 1
            if changed > self._run_peak:
                self._run_peak = changed
            self._last_motion_ns = capture_ns
            if self._active:
                if changed > self._peak:
                    self._peak = changed
            elif self._run >= self._start_frames:
                self._active = started = True
                self._peak = self._run_peak
            found = tuple(map(tuple, self._boxes[:boxes].tolist()))
            return MotionResult(changed, True, self._active, started, False, found, False)
        self._run = 0
        self._run_peak = 0.0
        # A clock that jumps backwards restarts the quiet period instead of freezing it.
        if capture_ns < self._last_motion_ns:
            self._last_motion_ns = capture_ns
        if self._active and capture_ns - self._last_motion_ns >= self._end_ns:
            self._active = False
            ended = True
        return MotionResult(changed, False, self._active, False, ended, (), light_change)


def _rasterise(
    zones: tuple[tuple[tuple[float, float], ...], ...], width: int, height: int
) -> np.ndarray:
    """0/1 uint8 mask of the union of normalised polygons at ``width x height`` (all 1 if none)."""
    if not zones:
        return np.ones((height, width), np.uint8)
    mask = np.zeros((height, width), np.uint8)
    scale = np.array([width, height], np.float64)
    # Normalised 0 and 1 are the outer edges of the first and last pixel (centres at +0.5).
    polygons = [
        np.round((np.asarray(zone, np.float64) * scale - 0.5) * (1 << _ZONE_SHIFT)).astype(np.int32)
        for zone in zones
    ]
    cv2.fillPoly(mask, polygons, 1, lineType=cv2.LINE_8, shift=_ZONE_SHIFT)
    return mask


@dataclass(slots=True)
class OpenCVReferenceState:
    """Per-camera state of ``opencv_reference_step``: sizes, tuning and the running background.

    The analysis size is the detector's (``scale_width`` wide, aspect kept, never upscaled).
    """

    width: int
    height: int
    params: MotionParams = field(default_factory=MotionParams)
    background: np.ndarray | None = None  # (analysis h, w) float32, set by the first frame
    analysis_size: tuple[int, int] = field(init=False, default=(0, 0))  # (w, h), derived

    def __post_init__(self) -> None:
        sw = min(self.params.scale_width, self.width)
        self.analysis_size = (sw, min(self.height, max(1, round(self.height * sw / self.width))))


def opencv_reference_step(
    y: np.ndarray, state: OpenCVReferenceState
) -> tuple[int, tuple[tuple[int, int, int, int], ...]]:
    """The detector's per-frame pipeline with OpenCV: the peer used by tests and ``bench/``.

    ``cv2.resize`` (INTER_AREA) to the analysis size, ``cv2.blur`` 3x3, the blurred frame
    converted to float32 and ``cv2.absdiff`` against the float32 background, ``cv2.threshold``,
    ``cv2.countNonZero``, ``cv2.accumulateWeighted`` (background update), then
    ``cv2.findContours`` (external) and ``cv2.boundingRect`` on the mask. Returns the changed
    pixel count (whole frame, no zones) and the boxes as source ``(x, y, w, h)``; the first frame
    only sets the background and returns ``(0, ())``.

    Written the way an OpenCV user would (resize and blur on uint8, OpenCV's fastest paths;
    the comparison in float so that it matches the detector's running average). It rounds the
    analysis image to integers where the detector keeps fractions, so counts differ slightly.
    """
    sw, sh = state.analysis_size
    small = cv2.blur(cv2.resize(y, (sw, sh), interpolation=cv2.INTER_AREA), (3, 3))
    small_f = small.astype(np.float32)
    if state.background is None:
        state.background = small_f
        return 0, ()
    diff = cv2.absdiff(small_f, state.background)
    _, mask_f = cv2.threshold(diff, float(state.params.threshold), 255, cv2.THRESH_BINARY)
    mask = mask_f.astype(np.uint8)
    changed = cv2.countNonZero(mask)
    cv2.accumulateWeighted(small_f, state.background, state.params.alpha)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    fx = state.width / sw
    fy = state.height / sh
    boxes = []
    for contour in contours:
        x, top, w, h = cv2.boundingRect(contour)
        left, right = int(x * fx), int((x + w) * fx)
        upper, lower = int(top * fy), int((top + h) * fy)
        boxes.append((left, upper, right - left, lower - upper))
    return changed, tuple(boxes)
