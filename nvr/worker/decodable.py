"""Whether a stream's video really decodes.

Something posing as a camera (or a broken one) can send packets that never become pictures:
random payload behind a valid SDP, parameter sets that do not parse. FFmpeg's decoder conceals
errors, so a lone "keyframe" of garbage may even decode; what gives garbage away is the share of
packets that fail: they raise, come out as corrupt frames, or hold NAL units whose forbidden
bit is set (half of random ones; never a real encoder's, even over a lossy link, which loses
whole units). Judged over ``WINDOW_S`` from a keyframe on, a stream whose packets fail more than
``MAX_FAILING`` of the time does not decode (measured on random payload: 90-100 % fail in every
window; a real camera's: none).

The analysis stream is decoded anyway and judged all the time. The recorded main stream is
stream-copied, so it is decoded only to be judged: after each connect until a window has
passed, while it is judged undecodable, and again when something looks wrong (see
``nvr.worker.process``): every packet is scanned for forbidden bits (``malformed``), which no
real camera sets.
"""

from __future__ import annotations

from collections import deque

import av

from nvr.redact import redact_url

WINDOW_S = 3.0  # packets judged together, from the first keyframe on
MIN_PACKETS = 10  # ... and at least this many
MAX_FAILING = 0.5  # a larger share of failing packets: the stream does not decode


def decode(
    ctx: av.video.codeccontext.VideoCodecContext, packet: av.Packet
) -> tuple[list[av.VideoFrame], str | None]:
    """Decode one packet: its frames, and why it failed (None: it did not)."""
    why = malformed(ctx, packet)
    if why is not None:
        return [], why
    try:
        frames = ctx.decode(packet)
    except av.error.FFmpegError as err:
        return [], redact_url(getattr(err, "strerror", None) or str(err))
    if any(frame.is_corrupt for frame in frames):
        return frames, "corrupt picture"
    return frames, None


def malformed(ctx: av.video.codeccontext.VideoCodecContext, packet: av.Packet) -> str | None:
    """Why the packet cannot be video of this codec (None: it may be): no encoder sets a NAL
    unit's forbidden bit, so one that is set proves garbage. Cheap: a scan for start codes."""
    annex_b = ctx.name in ("h264", "hevc") and (ctx.extradata or b"")[:1] != b"\x01"
    if annex_b and impossible_nal_header(bytes(packet), ctx.name):
        return f"malformed {ctx.name} data (a NAL unit with an impossible header)"
    return None


# H.264 NAL unit types no stream carries: unspecified (0), reserved (16-18, 22-23), and the
# RTP packetisation's own (24-31), which a depayloader never passes on.
_H264_IMPOSSIBLE = frozenset({0, 16, 17, 18, 22, 23, *range(24, 32)})


def impossible_nal_header(data: bytes, codec: str = "h264") -> bool:
    """Whether an Annex B H.264/H.265 access unit (as RTSP delivers them; not the
    length-prefixed form of MP4, whose lengths can look like start codes) holds a NAL unit whose
    header no encoder writes: the forbidden bit set, a reserved or unspecified type, or (H.265)
    a temporal id of zero. Random data fails one of these in most NAL units."""
    hevc = codec == "hevc"
    at = data.find(b"\x00\x00\x01")
    while 0 <= at < len(data) - (4 if hevc else 3):
        header = data[at + 3]
        if header & 0x80:
            return True
        if hevc:
            if (header >> 1) & 0x3F >= 41 or data[at + 4] & 0x07 == 0:
                return True
        elif header & 0x1F in _H264_IMPOSSIBLE:
            return True
        at = data.find(b"\x00\x00\x01", at + 3)
    return False


class JudgeDecoder:
    """Decodes a stream-copied stream only while it is judged, on a decoder of its own that is
    dropped once the judgement is made: its pictures (about 10 MB at 1080p) are given back
    instead of held for the rest of the connection."""

    def __init__(self, stream: av.video.stream.VideoStream) -> None:
        self._stream = stream
        self._ctx: av.video.codeccontext.VideoCodecContext | None = None

    def error(self, packet: av.Packet) -> str | None:
        """Why the packet failed to decode (None: it did not)."""
        if self._ctx is None:
            source = self._stream.codec_context
            ctx = av.CodecContext.create(source.name, "r")
            assert isinstance(ctx, av.video.codeccontext.VideoCodecContext)
            ctx.extradata = source.extradata
            ctx.width, ctx.height = source.width, source.height
            ctx.thread_count = 1  # no threads, no per-thread pictures: this is a check
            self._ctx = ctx
        return decode(self._ctx, packet)[1]

    def release(self) -> None:
        """Drop the decoder and its pictures (the next ``error`` opens a new one)."""
        self._ctx = None


class DecodeCheck:
    """Judges one stream from the outcome of decoding its packets."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.decodes: bool | None = None  # the last judgement; None before the first
        self.failures = 0  # packets that failed, in all
        self._results: deque[tuple[float, bool]] = deque()  # (monotonic, failed)
        self._failed = 0  # failed packets in ``_results``
        self._since: float | None = None  # the first keyframe of this judgement
        self._judged = False  # since the last restart
        self._last_error = ""

    @property
    def judging(self) -> bool:
        """Packets must be decoded to be judged: no judgement since the last restart, or the
        stream does not decode (until it does again)."""
        return not self._judged or self.decodes is False

    def restart(self, forget: bool = False) -> None:
        """Judge afresh from the next keyframe on (a new connection, or a doubt); the last
        judgement stands until then, unless ``forget`` (proof that it no longer holds)."""
        self._results.clear()
        self._failed = 0
        self._since = None
        self._judged = False
        if forget:
            self.decodes = None

    def add(self, keyframe: bool, error: str | None, now: float) -> bool | None:
        """The outcome of one packet; the judgement (None: not yet). Packets before the first
        keyframe cannot decode and are not counted."""
        if self._since is None:
            if not keyframe:
                return self.decodes
            self._since = now
        self._results.append((now, error is not None))
        if error is not None:
            self._last_error = error
            self.failures += 1
            self._failed += 1
        while self._results[0][0] < now - WINDOW_S:
            self._failed -= self._results.popleft()[1]
        if now - self._since >= WINDOW_S and len(self._results) >= MIN_PACKETS:
            self.decodes, self._judged = self.failing() <= MAX_FAILING, True
        return self.decodes

    def failing(self) -> float:
        """The share of failing packets in the window."""
        return self._failed / max(1, len(self._results))

    def reason(self) -> str:
        return (
            f"{self.label}: the video does not decode ({self.failing():.0%} of the packets in "
            f"{WINDOW_S:g} s failed: {self._last_error}); check the camera's video codec "
            "settings, and that this address is really a camera"
        )
