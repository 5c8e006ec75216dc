"""Start-up recovery of a storage folder with 1,000 segments, in the two cases a crash leaves.

- **After a crash** (the usual case): 1,000 cataloged segments whose files are all there, plus
  one interrupted segment per camera, cut mid-fragment and not yet cataloged.
- **Catalog lost** (the worst case): the same 1,000 files and no row at all, so every file is
  an orphan indexed from its own tag (camera, type, start) and its fragments' boxes.

Every file is a real fragmented MP4 of a default 60 s segment: the demo camera's 1080p main clip
(12 s) remuxed five times in a row, 60 fragments. The complete ones are hard links to one file:
recovery reads them as it would read distinct files, but they sit in the page cache, so the
figures leave out cold disk reads. Recovery's per-file log lines are muted while it is timed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import av

from bench.measure import Row, demo_clips, make_row
from nvr.protocol.codec import to_json
from nvr.storage.catalog import Catalog
from nvr.storage.recovery import TAG_KEY, recover_segment, recover_storage, segment_tag
from nvr.worker.recorder import FMP4_OPTIONS

CAMERAS = 16
_DAY = "2026-11-30"


def write_segment(source: Path, out: Path, camera_id: str, start_ns: int, loops: int) -> None:
    """Remux ``source`` ``loops`` times in a row into one tagged fMP4 segment, as the recorder
    writes one."""
    with av.open(str(out), "w", format="mp4", options=FMP4_OPTIONS) as dst:
        dst.metadata[TAG_KEY] = segment_tag(camera_id, "continuous", start_ns)
        offset = 0
        for _ in range(loops):
            with av.open(str(source)) as src:
                stream = src.streams.video[0]
                copy = dst.streams.video[0] if dst.streams else dst.add_stream_from_template(stream)
                end = 0
                for packet in src.demux(stream):
                    if packet.dts is None or packet.pts is None:
                        continue
                    end = max(end, packet.pts + (packet.duration or 0))
                    packet.pts += offset
                    packet.dts += offset
                    packet.stream = copy
                    dst.mux(packet)
                offset += end


def _layout(root: Path, template: Path, segments: int) -> list[str]:
    """``segments`` complete files under ``root`` (hard links), spread over the cameras."""
    paths = []
    for i in range(segments):
        rel = f"cam{i % CAMERAS:02d}/{_DAY}/seg{i:05d}.mp4"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.link(template, root / rel)
        paths.append(rel)
    return paths


def _interrupted(root: Path, template: Path) -> None:
    """One segment per camera cut in the middle of a fragment, as a crash leaves it."""
    size = template.stat().st_size
    for c in range(CAMERAS):
        path = root / f"cam{c:02d}/{_DAY}/open.mp4"
        shutil.copyfile(template, path)
        with path.open("r+b") as fh:
            fh.truncate(size * 2 // 3)


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """Recovery's log lines (one per file) off while it is timed."""
    logger = logging.getLogger("nvr.storage.recovery")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def measure_recovery(segments: int = 1000) -> dict[str, Any]:
    """Both cases over ``segments`` files; seconds and what recovery reported."""
    main_clip, _ = demo_clips()
    with tempfile.TemporaryDirectory(prefix="nvr-bench-recovery-") as tmp:
        work = Path(tmp)
        template = work / "template.mp4"
        write_segment(main_clip, template, "cam00", time.time_ns(), loops=5)
        segment_bytes = template.stat().st_size

        # After a crash: rows for every complete file (built the way recovery builds them).
        crash_root, crash_db = work / "crash" / "recordings", work / "crash" / "catalog.db"
        paths = _layout(crash_root, template, segments)
        row = recover_segment(crash_root, paths[0], "cam00", "continuous", 0)
        assert row is not None
        with Catalog(crash_db) as catalog, catalog.transaction():
            for i, rel in enumerate(paths):
                camera_id = rel.split("/", 1)[0]
                start = row.start_ns + (i // CAMERAS) * 60_000_000_000
                moved = replace(row, start_ns=start, end_ns=start + row.end_ns - row.start_ns)
                catalog.add_recording(replace(moved, camera_id=camera_id, file_path=rel))
        _interrupted(crash_root, template)
        with Catalog(crash_db) as catalog, muted():
            started = time.perf_counter()
            crash = recover_storage(catalog, crash_root)
            crash_s = time.perf_counter() - started
        assert (crash.orphans_indexed, crash.repaired) == (CAMERAS, CAMERAS), crash

        # Catalog lost: every file is an orphan.
        lost_root, lost_db = work / "lost" / "recordings", work / "lost" / "catalog.db"
        _layout(lost_root, template, segments)
        with Catalog(lost_db) as catalog, muted():
            started = time.perf_counter()
            lost = recover_storage(catalog, lost_root)
            lost_s = time.perf_counter() - started
        assert lost.orphans_indexed == segments, lost
    return {
        "segments": segments,
        "segment_bytes": segment_bytes,
        "after_crash_s": round(crash_s, 3),
        "after_crash": to_json(crash),
        "catalog_lost_s": round(lost_s, 3),
        "catalog_lost_ms_per_segment": round(lost_s / segments * 1e3, 2),
        "catalog_lost": to_json(lost),
    }


def recovery_rows(quick: bool) -> list[Row]:
    """Rows for ``nvr bench``: recovery of 1,000 segments (200 when quick)."""
    n = 200 if quick else 1000
    m = measure_recovery(n)
    return [
        make_row(
            f"recovery after a crash, {n} segments + {CAMERAS} interrupted",
            "s",
            m["after_crash_s"],
            below=60,
            group="recovery",
            note=f"{CAMERAS} cut segments repaired and cataloged, integrity_check included",
            detail=m,
        ),
        make_row(
            f"recovery with the catalog lost, {n} orphan segments",
            "s",
            m["catalog_lost_s"],
            below=60,
            group="recovery",
            note=f"{m['catalog_lost_ms_per_segment']} ms per segment (boxes read, no video data)",
        ),
    ]
