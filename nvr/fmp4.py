"""Byte-level fragmented-MP4 helpers, free of any media library so they unit-test on bytes.

A segment is ``ftyp moov (moof mdat)*``. A crash can cut the file anywhere; everything up to
the end of the last complete ``moof``+``mdat`` pair is playable, anything after is not.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

HEADER = struct.Struct(">I4s")


def boxes(fh: BinaryIO, file_size: int) -> Iterator[tuple[bytes, int, int]]:
    """Top-level boxes as (type, offset, size); stops at the first incomplete or broken box."""
    offset = 0
    while offset + HEADER.size <= file_size:
        fh.seek(offset)
        size, kind = HEADER.unpack(fh.read(HEADER.size))
        if size == 1:  # 64-bit size follows the header
            raw = fh.read(8)
            if len(raw) < 8:
                return
            size = struct.unpack(">Q", raw)[0]
        elif size == 0:  # box extends to the end of the file: only valid for a finished file
            size = file_size - offset
        if size < HEADER.size or offset + size > file_size:
            return
        yield kind, offset, size
        offset += size


def playable_length(path: Path) -> tuple[int, int]:
    """(bytes that form complete fragments, number of complete fragments) of a segment file.

    0 bytes when the file has no ``moov`` (nothing decodable at all).
    """
    size = path.stat().st_size
    end = fragments = 0
    seen_moov = False
    pending_moof = False
    with path.open("rb") as fh:
        for kind, offset, box_size in boxes(fh, size):
            if kind == b"moov":
                seen_moov, end = True, offset + box_size
            elif kind == b"moof":
                pending_moof = True
            elif kind == b"mdat" and pending_moof and seen_moov:
                pending_moof = False
                fragments += 1
                end = offset + box_size
            elif kind == b"mfra" and seen_moov:  # trailing random-access index of a closed file
                end = offset + box_size
    return (end if seen_moov else 0), fragments


def cut_to_playable(path: Path) -> tuple[int, int, int]:
    """Truncate a segment after its last complete fragment and fsync it.

    Returns (size before, size after, complete fragments).
    """
    before = path.stat().st_size
    after, fragments = playable_length(path)
    if after < before:
        with path.open("r+b") as fh:
            fh.truncate(after)
            fh.flush()
            os.fsync(fh.fileno())
    return before, after, fragments
