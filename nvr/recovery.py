"""Repair and catalog a segment whose writer died before closing it.

Write order (``docs/recording.md``): a worker reports a segment only after closing and fsyncing
it, so a worker that dies leaves its open segment uncataloged and possibly cut mid-fragment.
The supervisor calls ``recover_segment`` for it: the file is cut after its last complete
fragment, fsynced, measured with PyAV, and returned as a catalog row marked ``repaired``.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av

from nvr.catalog import NewRecording
from nvr.fmp4 import cut_to_playable

log = logging.getLogger(__name__)


def recover_segment(
    root: Path, rel_path: str, camera_id: str, recording_type: str, start_ns: int
) -> NewRecording | None:
    """The repaired segment's catalog row, or None if nothing playable was left (file removed)."""
    path = root / rel_path
    if not path.exists():
        return None
    before, after, fragments = cut_to_playable(path)
    if fragments == 0:
        log.warning(
            "%s: interrupted segment %s held no complete fragment; removed", camera_id, rel_path
        )
        path.unlink()
        return None
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            tb = stream.time_base or Fraction(1, 90000)
            first = end = None
            for packet in container.demux(stream):
                if packet.dts is None:
                    continue
                first = packet.dts if first is None else min(first, packet.dts)
                stop = (packet.pts if packet.pts is not None else packet.dts) + (
                    packet.duration or 0
                )
                end = stop if end is None else max(end, stop)
            ctx = stream.codec_context
            codec, width, height = ctx.name, ctx.width, ctx.height
    except (av.error.FFmpegError, IndexError) as err:
        log.error(
            "%s: interrupted segment %s is unreadable (%s); left uncataloged",
            camera_id,
            rel_path,
            err,
        )
        return None
    if first is None or end is None:
        return None
    duration_90k = int((end - first) * tb * 90000)
    log.warning(
        "%s: repaired interrupted segment %s: kept %d fragments (%.1f s), cut %d bytes",
        camera_id,
        rel_path,
        fragments,
        duration_90k / 90000,
        before - after,
    )
    return NewRecording(
        camera_id=camera_id,
        start_ns=start_ns,
        end_ns=start_ns + duration_90k * 1_000_000_000 // 90000,
        duration_90k=duration_90k,
        file_path=rel_path,
        size_bytes=after,
        recording_type=recording_type,
        video_codec=codec,
        width=width,
        height=height,
        status="repaired",
    )
