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


def boxes(
    fh: BinaryIO, file_size: int, known: set[bytes] | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """Top-level boxes as (type, offset, size); stops at the first incomplete or broken box
    (with ``known``, also at a box whose type is not in it)."""
    offset = 0
    while offset + HEADER.size <= file_size:
        fh.seek(offset)
        size, kind = HEADER.unpack(fh.read(HEADER.size))
        if known is not None and kind not in known:
            return
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


KNOWN_BOXES = {b"ftyp", b"styp", b"moov", b"moof", b"mdat", b"mfra", b"sidx", b"free", b"skip"}


def playable_length(path: Path) -> tuple[int, int]:
    """(bytes that form complete fragments, number of complete fragments) of a segment file.

    A fragment counts only when what follows it is a well-formed box header or the end of
    the file: a hole (bytes a full disk swallowed) misaligns everything after it, so the
    fragment that contains it is not trusted. 0 bytes when the file has no ``moov``.
    """
    size = path.stat().st_size
    end = fragments = 0
    pending: tuple[int, int] | None = None  # (end, count) of a fragment awaiting confirmation
    seen_moov = pending_moof = False
    with path.open("rb") as fh:
        for kind, offset, box_size in boxes(fh, size, known=KNOWN_BOXES):
            if pending is not None:  # a known box header follows: the fragment is whole
                end, fragments = pending
                pending = None
            if kind == b"moov":
                seen_moov, end = True, offset + box_size
            elif kind == b"moof":
                pending_moof = True
            elif kind == b"mdat" and pending_moof and seen_moov:
                pending_moof = False
                pending = (offset + box_size, fragments + 1)
            elif kind == b"mfra" and seen_moov:  # trailing random-access index of a closed file
                end = offset + box_size
        if pending is not None and pending[0] == size:  # the last fragment ends the file
            end, fragments = pending
        elif pending is not None and _header_at(fh, pending[0], size):
            end, fragments = pending  # followed by the start of a box cut short by the crash
    return (end if seen_moov else 0), fragments


def _header_at(fh: BinaryIO, offset: int, file_size: int) -> bool:
    """Whether a known box header starts at ``offset`` (the box itself may be incomplete)."""
    if offset + HEADER.size > file_size:
        return False
    fh.seek(offset)
    size, kind = HEADER.unpack(fh.read(HEADER.size))
    return kind in KNOWN_BOXES and size >= HEADER.size


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
