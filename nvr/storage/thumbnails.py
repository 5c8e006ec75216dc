"""Thumbnails: one small JPEG per segment and per motion event, beside the segments.

A segment ``cam/2026-12-05/cam-20261205T101500.000Z.mp4`` has its picture in ``....jpg`` next
to it; a motion event starting at t has ``cam/<date>/cam-<t>.motion.jpg``. The worker writes
them from the frame it already decoded (the newest sub-stream picture in its ring) when the
segment opens or the event starts; the catalog names them (``recordings.thumbnail_path``,
``motion_events.frame_thumbnail``) and retention deletes them with their recording, through
the garbage table. Segments without one (recovered, older, imported) get theirs from
``from_segment``, which decodes the first keyframe only.

A thumbnail is written to ``<name>.tmp`` and renamed, so a reader never sees half a JPEG; it is
not fsynced: a picture lost to a power cut is made again by the backfill.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import av
import cv2
import numpy as np

WIDTH = 320  # pixels; the height keeps the picture's aspect
QUALITY = 80


def segment_thumbnail(segment_rel: str) -> str:
    """The thumbnail path of a segment, relative to the recordings folder."""
    return segment_rel.removesuffix(".mp4") + ".jpg"


def event_thumbnail(camera_id: str, start_ns: int) -> str:
    stamp = time.gmtime(start_ns // 1_000_000_000)
    ms = start_ns // 1_000_000 % 1000
    return (
        f"{camera_id}/{time.strftime('%Y-%m-%d', stamp)}/"
        f"{camera_id}-{time.strftime('%Y%m%dT%H%M%S', stamp)}.{ms:03d}Z.motion.jpg"
    )


def jpeg_from_i420(y: np.ndarray, u: np.ndarray, v: np.ndarray, width: int = WIDTH) -> bytes:
    """A JPEG ``width`` pixels wide from 4:2:0 planes."""
    height, full = y.shape
    i420 = np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(
        height * 3 // 2, full
    )
    return _encode(cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420), width)


def jpeg_from_frame(frame: av.VideoFrame, width: int | None = WIDTH) -> bytes:
    """A JPEG of a decoded frame, ``width`` pixels wide (None: full size)."""
    return _encode(frame.to_ndarray(format="bgr24"), width)


def _encode(bgr: np.ndarray, width: int | None) -> bytes:
    height, full = bgr.shape[:2]
    if width is not None and full > width:
        size = (width, max(2, round(height * width / full / 2) * 2))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def write(root: Path, rel_path: str, jpeg: bytes) -> None:
    """Write a thumbnail under the recordings folder (temp file, then rename)."""
    path = root / rel_path
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.write_bytes(jpeg)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def from_segment(path: Path) -> bytes:
    """A thumbnail of a segment's first keyframe (only keyframes are decoded). Raises
    ``OSError``, ``ValueError`` or ``av.error.FFmpegError`` for a file that has none."""
    with av.open(str(path), timeout=10) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        for frame in container.decode(stream):
            return jpeg_from_frame(frame)
    raise ValueError("no keyframe decodes")
