"""Full resolution on demand: the main stream decoded into a second ring while someone watches.

The live grid shows the sub stream (the ring ``FrameSink`` writes). A console that shows one
camera alone (full screen, or a 1x1 grid) asks for its main stream with the ``watch_main``
command and renews it every few seconds. While that lease runs, the main loop hands each packet
here: decoded from the next keyframe with a decoder of its own (the recording never waits on
it), into a ring of the main stream's size named ``<ring>_m``. When nobody renews the lease,
decoding stops and the ring goes: a camera nobody watches alone costs only its remux.
"""

from __future__ import annotations

import logging
import threading
import time

import av

from nvr.frames.planes import yuv_planes
from nvr.frames.ring import FrameRing
from nvr.worker.decodable import decode
from nvr.worker.source import TimedPacket

log = logging.getLogger(__name__)

MAX_WATCH_S = 30.0  # the longest lease one request grants


class MainView:
    """The main stream's ring while watched. ``watch`` runs on the control thread, the rest on
    the main loop's."""

    def __init__(self, ring_name: str, label: str) -> None:
        self.ring_name = ring_name
        self.label = label
        self.ring: FrameRing | None = None
        self._until = 0.0  # monotonic end of the lease
        self._lock = threading.Lock()
        self._ctx: av.video.codeccontext.VideoCodecContext | None = None
        self._synced = False  # decoding started at a keyframe
        self.frames = 0

    def watch(self, seconds: float) -> None:
        """Someone shows this camera alone: decode its main stream for ``seconds`` more."""
        with self._lock:
            self._until = time.monotonic() + min(max(seconds, 0.0), MAX_WATCH_S)

    def ring_in_use(self) -> str | None:
        """The ring's name while it exists (any thread)."""
        ring = self.ring
        return ring.name if ring is not None else None

    @property
    def watched(self) -> bool:
        with self._lock:
            return time.monotonic() < self._until

    def on_packet(self, tp: TimedPacket, stream: av.video.stream.VideoStream) -> None:
        """One main-stream packet: decoded into the ring while watched."""
        if not self.watched:
            if self.ring is not None or self._ctx is not None:
                log.info("%s: nobody watches the main stream; its ring is let go", self.label)
                self.stop()
            return
        if tp.params is not None:
            self._ctx = None  # new parameters: a new decoder, from the next keyframe
        if self._ctx is None:
            self._ctx = _decoder_like(stream.codec_context)
            self._synced = False
        ctx = self._ctx
        if not self._synced:
            if not tp.keyframe:
                return
            self._synced = True
        frames, error = decode(ctx, tp.packet)
        if error is not None:
            self._synced = False  # garbage pictures are not shown: wait for the next keyframe
            return
        for frame in frames:
            y, u, v = yuv_planes(frame)
            height, width = y.shape
            if self.ring is None or width > self.ring.width or height > self.ring.height:
                self._close_ring()
                log.info(
                    "%s: main stream ring %s at %dx%d", self.label, self.ring_name, width, height
                )
                self.ring = FrameRing.create(self.ring_name, width, height)
            self.ring.publish(y, u, v, tp.wall_ns, False)
            self.frames += 1

    def reset(self) -> None:
        """A new connection: decoding starts again at its first keyframe."""
        self._ctx = None

    def stop(self) -> None:
        self._ctx = None
        self._close_ring()

    def _close_ring(self) -> None:
        if self.ring is not None:
            self.ring.close()
            self.ring.unlink()
            self.ring = None


def _decoder_like(
    source: av.video.codeccontext.VideoCodecContext,
) -> av.video.codeccontext.VideoCodecContext:
    """A decoder of its own for the stream ``source`` decodes (codec and parameter sets)."""
    ctx = av.CodecContext.create(source.name, "r")
    assert isinstance(ctx, av.video.codeccontext.VideoCodecContext)
    if source.extradata:
        ctx.extradata = source.extradata
    return ctx
