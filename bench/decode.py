"""H.264 decode with PyAV against the ffmpeg command line, on the demo clips.

Ours decodes every frame of a clip with PyAV (the container is opened before the clock starts);
the peer is ``ffmpeg -i clip -f null -`` on the same file, timed by its own ``-benchmark``
(``rtime``: the decode loop, without process start-up and file opening, which the note gives
as whole-process wall time). Reported, not gated.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import time
from pathlib import Path

import av

from bench.measure import Row, demo_clips, make_row

_RTIME = re.compile(r"rtime=([0-9.]+)s")
_FFMPEG_TIMEOUT_S = 120


def pyav_decode_s(path: Path, threaded: bool) -> tuple[float, int]:
    """Seconds to decode every frame of ``path`` and the frame count.

    ``threaded``: ``thread_type = "AUTO"`` (frame and slice threads, as the camera worker uses);
    otherwise one decoding thread.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if threaded:
            stream.thread_type = "AUTO"
        else:
            stream.codec_context.thread_count = 1
        start = time.perf_counter()
        frames = sum(1 for _ in container.decode(stream))
        return time.perf_counter() - start, frames


def ffmpeg_decode_s(path: Path, threads: int | None) -> tuple[float, float]:
    """(decode-loop seconds from ``-benchmark``, whole-process wall seconds) of ffmpeg.

    ``threads`` None leaves ffmpeg's default (automatic) decoder threading.
    """
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-benchmark"]
    if threads is not None:
        args += ["-threads", str(threads)]
    args += ["-i", str(path), "-f", "null", "-"]
    start = time.perf_counter()
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=_FFMPEG_TIMEOUT_S, check=True
    )
    wall = time.perf_counter() - start
    found = _RTIME.search(result.stderr)
    if found is None:
        raise RuntimeError(f"no rtime in ffmpeg -benchmark output: {result.stderr[-500:]}")
    return float(found.group(1)), wall


def decode_rows(quick: bool) -> list[Row]:
    """ms/frame of both clips, single-threaded and threaded, against ffmpeg the same way."""
    repeats = 2 if quick else 5
    rows = []
    main, sub = demo_clips()
    for label, path in (("360p", sub), ("1080p", main)):
        for threaded in (False, True):
            pyav_decode_s(path, threaded)  # warm-up: page cache, codec init
            ours: list[float] = []
            peer: list[float] = []
            wall: list[float] = []
            frames = 0
            for _ in range(repeats):
                seconds, frames = pyav_decode_s(path, threaded)
                ours.append(seconds)
                rtime, whole = ffmpeg_decode_s(path, None if threaded else 1)
                peer.append(rtime)
                wall.append(whole)
            ms = 1000 / max(frames, 1)
            mode = 'thread_type="AUTO" vs ffmpeg default' if threaded else "1 thread vs -threads 1"
            rows.append(
                make_row(
                    f"decode {label} H.264, {mode}",
                    "ms/frame",
                    statistics.median(ours) * ms,
                    statistics.median(peer) * ms,
                    group="decode",
                    note=f"ffmpeg whole process {statistics.median(wall) * ms:.2f} ms/frame",
                    detail={"frames": frames},
                )
            )
    return rows
