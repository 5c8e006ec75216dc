"""Fragmented MP4 for Media Source Extensions, built byte by byte: one init segment per set of
codec parameters, then one ``moof``+``mdat`` fragment per frame, so a frame reaches the browser
as soon as the worker received it. Free of any media library: the helpers unit-test on bytes.

H.264 only: Chromium's MSE plays ``avc1`` but not HEVC. Camera packets arrive in Annex B form
(start codes, from RTSP) or length-prefixed (from an MP4 file); MP4 samples are length-prefixed,
with the parameter sets in the init segment's ``avcC``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

TIMESCALE = 90_000
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_SPS, _PPS, _AUD = 7, 8, 9
_KEY_FLAGS = 0x02000000  # depends on no other sample
_DELTA_FLAGS = 0x01010000  # depends on others, not a sync sample


class Unplayable(ValueError):
    """The stream cannot be muxed for a browser (not H.264, or no parameter sets)."""


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def nal_units(data: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex B buffer (start codes removed)."""
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        start = data.find(b"\x00\x00\x01", begin)
        # Zeros before a start code belong to it (4-byte form) or are trailing padding.
        unit = data[begin : len(data) if start < 0 else start].rstrip(b"\x00")
        if unit:
            yield unit


def is_length_prefixed(extradata: bytes) -> bool:
    """Extradata in ``avcC`` form (MP4 files) rather than Annex B (RTSP)."""
    return extradata[:1] == b"\x01"


def avcc(sps: list[bytes], pps: list[bytes]) -> bytes:
    """An ``AVCDecoderConfigurationRecord`` from the parameter sets."""
    if not sps or not pps or len(sps[0]) < 4:
        raise Unplayable("the H.264 stream has no SPS and PPS yet")
    first = sps[0]
    out = bytearray([1, first[1], first[2], first[3], 0xFF, 0xE0 | len(sps)])
    for unit in sps:
        out += struct.pack(">H", len(unit)) + unit
    out.append(len(pps))
    for unit in pps:
        out += struct.pack(">H", len(unit)) + unit
    return bytes(out)


def parameter_sets(annex_b: bytes) -> tuple[list[bytes], list[bytes]]:
    """The SPS and PPS units carried in an Annex B buffer (extradata or a keyframe)."""
    sps, pps = [], []
    for unit in nal_units(annex_b):
        kind = unit[0] & 0x1F
        if kind == _SPS and unit not in sps:
            sps.append(unit)
        elif kind == _PPS and unit not in pps:
            pps.append(unit)
    return sps, pps


def codecs_string(config: bytes) -> str:
    """The MSE codecs string (``avc1.PPCCLL``) of an ``avcC`` record."""
    return f"avc1.{config[1]:02X}{config[2]:02X}{config[3]:02X}"


def sample(data: bytes, length_prefixed: bool) -> bytes:
    """A packet as an MP4 sample: length-prefixed NAL units, without parameter sets or access
    unit delimiters (the init segment carries the sets)."""
    if length_prefixed:
        return data
    return b"".join(
        struct.pack(">I", len(unit)) + unit
        for unit in nal_units(data)
        if unit[0] & 0x1F not in (_SPS, _PPS, _AUD)
    )


def init_segment(width: int, height: int, config: bytes) -> bytes:
    """``ftyp`` + ``moov`` for one H.264 track (id 1, 90 kHz) described by ``config``."""
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso6avc1mp41")
    mvhd = full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIIIIH", 0, 0, 1000, 0, 0x10000, 0x100), bytes(10), _MATRIX,
        bytes(24), struct.pack(">I", 2),
    )  # fmt: skip
    tkhd = full_box(
        b"tkhd", 0, 3,
        struct.pack(">IIIII", 0, 0, 1, 0, 0), bytes(8), struct.pack(">HHHH", 0, 0, 0, 0),
        _MATRIX, struct.pack(">II", width << 16, height << 16),
    )  # fmt: skip
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, TIMESCALE, 0, 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s", 0, b"vide"), bytes(12), b"Video\x00")
    avc1 = box(
        b"avc1",
        bytes(6), struct.pack(">H", 1), bytes(16), struct.pack(">HH", width, height),
        struct.pack(">III", 0x480000, 0x480000, 0), struct.pack(">H", 1), bytes(32),
        struct.pack(">Hh", 0x18, -1), box(b"avcC", config),
    )  # fmt: skip
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
        full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    minf = box(b"minf", full_box(b"vmhd", 0, 1, bytes(8)), dinf, stbl)
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))
    trex = full_box(b"trex", 0, 0, struct.pack(">IIIII", 1, 1, 0, 0, 0))
    return ftyp + box(b"moov", mvhd, trak, box(b"mvex", trex))


# One fragment of one sample, as one struct: moof (mfhd, traf (tfhd, tfdt v1, trun v1 with
# data offset, duration, size, flags and composition offset)), then the mdat header.
_TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800
_FRAGMENT = struct.Struct(">I4s" + "I4sII" + "I4s" + "I4sII" + "I4sIQ" + "I4sIIiIIIi" + "I4s")
_MOOF_BYTES = _FRAGMENT.size - 8


def fragment(
    sequence: int, decode_time: int, duration: int, composition_offset: int, key: bool, data: bytes
) -> bytes:
    """``moof`` + ``mdat`` holding one sample; times in ``TIMESCALE`` ticks."""
    return (
        _FRAGMENT.pack(
            _MOOF_BYTES,
            b"moof",
            16,
            b"mfhd",
            0,
            sequence,
            _MOOF_BYTES - 24,
            b"traf",
            16,
            b"tfhd",
            0x020000,
            1,  # track 1; sample offsets from the moof
            20,
            b"tfdt",
            1 << 24,
            decode_time,
            36,
            b"trun",
            1 << 24 | _TRUN_FLAGS,
            1,
            _FRAGMENT.size,
            duration,
            len(data),
            _KEY_FLAGS if key else _DELTA_FLAGS,
            composition_offset,
            8 + len(data),
            b"mdat",
        )  # fmt: skip
        + data
    )
