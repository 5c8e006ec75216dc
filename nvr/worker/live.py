"""A stream's compressed packets into its packet ring (``nvr.frames.packets``) for the web's
live view: the packets the worker already receives, copied only while a browser watches.

Ring names are the camera's frame ring name plus ``_ps`` (sub stream) or ``_pm`` (main); a
camera without a sub stream has only ``_pm``.
"""

from __future__ import annotations

import logging

import av

from nvr.frames.packets import PacketRing
from nvr.worker.source import TimedPacket

log = logging.getLogger(__name__)

SUB_BYTES = 2 * 1024 * 1024  # ~30 s of a 500 kbit/s sub stream
MAIN_BYTES = 8 * 1024 * 1024  # ~15 s of a 4 Mbit/s main stream


def packet_ring_name(frame_ring: str, stream: str) -> str:
    """The packet ring of a camera's ``"sub"`` or ``"main"`` stream."""
    return f"{frame_ring}_p{stream[0]}"


class LivePackets:
    """Owns one stream's packet ring; every method but ``open`` runs on that stream's thread.

    The ring exists from ``open`` (when the worker starts running) to ``close``: a worker that
    is built but never run leaves no shared memory behind.
    """

    def __init__(self, frame_ring: str, stream: str) -> None:
        self.name = packet_ring_name(frame_ring, stream)
        self._capacity = SUB_BYTES if stream == "sub" else MAIN_BYTES
        self._ring: PacketRing | None = None

    @property
    def ring(self) -> PacketRing:
        if self._ring is None:
            raise ValueError(f"packet ring {self.name!r} is not open")
        return self._ring

    def open(self) -> None:
        """Create the ring, replacing a stale one of the same name."""
        if self._ring is None:
            self._ring = PacketRing.create(self.name, self._capacity)

    def on_connect(self, stream: av.video.stream.VideoStream) -> None:
        """A new connection: its codec parameters (timestamps restart with it)."""
        ctx = stream.codec_context
        tb = stream.time_base
        time_base = (tb.numerator, tb.denominator) if tb else (1, 90000)
        self.ring.set_params(ctx.name, ctx.width, ctx.height, time_base, ctx.extradata or b"")
        self._time_base = time_base

    def on_packet(self, tp: TimedPacket) -> None:
        if tp.params is not None:  # new parameter sets from this keyframe on
            p = tp.params
            self.ring.set_params(p.codec, p.width, p.height, self._time_base, p.extradata)
        if self.ring.wanted():
            self.ring.publish(memoryview(tp.packet), tp.keyframe, tp.pts, tp.dts, tp.wall_ns)

    def close(self) -> None:
        """Close and unlink the ring, if open."""
        ring, self._ring = self._ring, None
        if ring is not None:
            ring.close()
            ring.unlink()
