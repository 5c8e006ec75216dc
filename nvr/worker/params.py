"""Codec parameters carried in-band: detect a camera that changes them mid-stream.

A camera that switches resolution (or profile, or any encoder setting) without dropping the RTSP
session sends new parameter sets (H.264 SPS/PPS, H.265 VPS/SPS/PPS) in front of the next IDR
frame. An fMP4 segment's init (``avcC``/``hvcC`` in ``moov``) must describe its samples, so such
a change ends the segment and the next one is opened with the new sets.

RTSP delivers Annex B packets (start codes), so the sets are read from the start of each
keyframe, up to its first picture slice: an unchanged keyframe costs a scan of its first bytes,
a change one keyframe decode (for the new size). Streams in length-prefixed form (MP4 files)
carry their sets out of band, where they cannot change; they are not watched. The byte helpers
use no framework and unit-test on plain bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import av
from av.video.codeccontext import VideoCodecContext

log = logging.getLogger(__name__)

START_CODE = b"\x00\x00\x00\x01"
# NAL unit types: parameter sets, and the first picture slice type (everything from it on is
# picture data, never a parameter set).
_H264_SETS = (7, 8)  # SPS, PPS
_H264_FIRST_SLICE, _H264_LAST_SLICE = 1, 5
_HEVC_SETS = (32, 33, 34)  # VPS, SPS, PPS
_HEVC_LAST_SLICE = 31


@dataclass(frozen=True, slots=True)
class StreamParams:
    """The codec parameters a segment is written with; ``extradata`` is Annex B."""

    codec: str
    width: int
    height: int
    extradata: bytes

    def describe(self) -> str:
        return f"{self.codec} {self.width}x{self.height}"


def _is_slice(codec: str, kind: int) -> bool:
    if codec == "hevc":
        return kind <= _HEVC_LAST_SLICE
    return _H264_FIRST_SLICE <= kind <= _H264_LAST_SLICE


def parameter_sets(codec: str, data: bytes) -> dict[int, tuple[bytes, ...]]:
    """The parameter sets in front of the first picture slice of an Annex B access unit, by
    NAL type (each distinct unit once); the scan stops at that slice."""
    kinds = _HEVC_SETS if codec == "hevc" else _H264_SETS
    found: dict[int, tuple[bytes, ...]] = {}
    start = data.find(b"\x00\x00\x01")
    while 0 <= start < len(data) - 3:
        begin = start + 3
        header = data[begin]
        kind = (header >> 1) & 0x3F if codec == "hevc" else header & 0x1F
        if _is_slice(codec, kind):
            break
        start = data.find(b"\x00\x00\x01", begin)
        if kind in kinds:
            # Trailing zeros belong to the next (4-byte) start code, never to a parameter set.
            unit = data[begin : len(data) if start < 0 else start].rstrip(b"\x00")
            if unit not in found.get(kind, ()):
                found[kind] = (*found.get(kind, ()), unit)
    return found


def annex_b(sets: dict[int, tuple[bytes, ...]]) -> bytes:
    """Parameter sets as Annex B extradata, in NAL type order (VPS, SPS, PPS)."""
    return b"".join(START_CODE + unit for kind in sorted(sets) for unit in sets[kind])


def probe_size(codec: str, extradata: bytes, keyframe: bytes) -> tuple[int, int] | None:
    """Decode one keyframe to learn the picture size; None if it does not decode."""
    try:
        ctx = av.CodecContext.create(codec, "r")
        assert isinstance(ctx, VideoCodecContext)
        ctx.thread_count = 1
        frames = ctx.decode(av.Packet(extradata + keyframe)) + ctx.decode(None)
    except (av.error.FFmpegError, ValueError) as err:
        log.debug("cannot decode a %s keyframe to probe its size: %s", codec, err)
        return None
    return (frames[0].width, frames[0].height) if frames else None


class ParamWatch:
    """Follows the parameter sets of one stream connection, keyframe by keyframe."""

    def __init__(
        self, codec: str, width: int, height: int, extradata: bytes | None, label: str = ""
    ) -> None:
        self.codec = codec
        self.label = label or codec
        self.current = StreamParams(codec, width, height, extradata or b"")
        self._sets = parameter_sets(codec, extradata or b"")
        self._warned = False  # about sets that do not decode

    @classmethod
    def for_stream(cls, stream: av.video.stream.VideoStream, label: str = "") -> ParamWatch | None:
        """A watch for an Annex B H.264/H.265 stream; None for other codecs or forms."""
        ctx = stream.codec_context
        extradata = ctx.extradata or b""
        if ctx.name not in ("h264", "hevc") or extradata[:1] == b"\x01":  # avcC/hvcC: MP4 form
            return None
        return cls(ctx.name, ctx.width, ctx.height, extradata, label)

    def check(self, keyframe: bytes) -> StreamParams | None:
        """The new parameters if this keyframe carries sets that differ; else None.

        Sets with which the keyframe does not decode (damaged in transit) are not taken: a
        segment written with them would not play. The next keyframe is checked again.
        """
        carried = parameter_sets(self.codec, keyframe)
        merged = {**self._sets, **carried}
        if merged == self._sets:
            return None
        extradata = annex_b(merged)
        size = probe_size(self.codec, extradata, keyframe)
        if size is None:  # said once per connection: garbage would say it at every keyframe
            log.log(
                logging.DEBUG if self._warned else logging.WARNING,
                "%s: a keyframe's new parameter sets do not decode; keeping %s",
                self.label,
                self.current.describe(),
            )
            self._warned = True
            return None
        width, height = size
        self._sets = merged
        self.current = StreamParams(self.codec, width, height, extradata)
        return self.current
