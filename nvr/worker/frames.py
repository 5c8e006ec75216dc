"""Decoded frames of the analysis stream: publish to the shared-memory ring, detect motion."""

from __future__ import annotations

import logging
from collections.abc import Callable

import av

from nvr.config import MotionConfig
from nvr.frames.motion import MotionDetector, MotionParams
from nvr.frames.planes import yuv_planes
from nvr.frames.ring import FrameRing

log = logging.getLogger(__name__)


def motion_params(cfg: MotionConfig) -> MotionParams:
    return MotionParams(
        threshold=cfg.threshold,
        min_area=cfg.min_area,
        alpha=cfg.alpha,
        scale_width=cfg.scale_width,
        light_guard=cfg.light_guard,
        start_frames=cfg.start_frames,
        end_s=cfg.end_s,
        zones=cfg.zones,
    )


class FrameSink:
    """Owns the camera's ring and motion detector, sized by the frames.

    A camera that switches resolution mid-stream keeps its ring while the new frames fit (each
    slot records its frame's size); a larger frame replaces the ring (readers see it closed and
    attach again). The detector's background is per size: any change rebuilds it and ends the
    open motion event.
    """

    def __init__(
        self,
        ring_name: str,
        motion: MotionConfig,
        on_motion_start: Callable[[int], None],
        on_motion_end: Callable[[int, int, float, tuple], None],
    ) -> None:
        self.ring_name = ring_name
        self.motion_cfg = motion
        self.on_motion_start = on_motion_start
        self.on_motion_end = on_motion_end
        self.ring: FrameRing | None = None
        self.detector: MotionDetector | None = None
        self.active = False
        self._event_start_ns = 0
        self._event_boxes: tuple = ()
        self._event_peak = 0.0
        self._last_ns = 0
        self._size = (0, 0)  # the detector's frame size
        self._new_motion: MotionConfig | None = None  # settings to apply at the next frame

    def configure(self, motion: MotionConfig) -> None:
        """New motion settings (thresholds, zones), applied from the next frame: the detector
        is rebuilt and an open event ends there."""
        self._new_motion = motion

    def on_frame(self, frame: av.VideoFrame, capture_ns: int) -> None:
        if self._new_motion is not None:
            self.motion_cfg, self._new_motion = self._new_motion, None
            self._size = (0, 0)  # rebuilt below, with the new settings
        y, u, v = yuv_planes(frame)
        height, width = y.shape
        ring = self.ring
        if ring is None or width > ring.width or height > ring.height:
            # Big enough for both sizes: a camera that alternates needs one new ring, not one
            # per switch.
            self._new_ring(
                max(width, ring.width if ring else 0), max(height, ring.height if ring else 0)
            )
        if self._size != (width, height):
            self._new_detector(width, height)
        assert self.ring is not None
        result = self.detector.process(y, capture_ns) if self.detector is not None else None
        self._last_ns = capture_ns
        # Published first: an event's start picture is the newest in the ring (its thumbnail).
        self.ring.publish(y, u, v, capture_ns, result is not None and result.moving)
        if result is not None:
            if result.started:
                self.active = True
                self._event_start_ns, self._event_peak, self._event_boxes = capture_ns, 0.0, ()
                self.on_motion_start(capture_ns)
            if result.moving and result.changed >= self._event_peak:
                self._event_peak, self._event_boxes = result.changed, result.boxes
            if result.ended:
                self.finish(capture_ns)

    def finish(self, end_ns: int | None = None) -> None:
        """End an open motion event (stream lost, worker stopping)."""
        if self.active:
            self.active = False
            self.on_motion_end(
                self._event_start_ns,
                end_ns or self._last_ns,
                min(1.0, self._event_peak),
                self._event_boxes,
            )
        if self.detector is not None:
            self.detector.reset()

    def close(self) -> None:
        self.finish()
        if self.ring is not None:
            self.ring.close()
            self.ring.unlink()
            self.ring = None

    def _new_ring(self, width: int, height: int) -> None:
        if self.ring is not None:
            self.ring.close()
            self.ring.unlink()
        log.info("frame ring %s at %dx%d", self.ring_name, width, height)
        self.ring = FrameRing.create(self.ring_name, width, height)

    def _new_detector(self, width: int, height: int) -> None:
        self.finish()
        if self._size != (0, 0):
            log.info("frame size %dx%d -> %dx%d: motion detector reset", *self._size, width, height)
        self._size = (width, height)
        self.detector = (
            MotionDetector(width, height, motion_params(self.motion_cfg))
            if self.motion_cfg.enabled
            else None
        )
