"""Crash recovery: repair interrupted segments, index orphans, mark missing files.

Write order (``docs/recording.md``): a worker reports a segment only after closing and fsyncing
it, so a crash leaves the open segment uncataloged and possibly cut mid-fragment. Such a file is
cut after its last complete fragment, fsynced, measured from its boxes and cataloged as
``repaired``. Every segment carries a tag in its ``moov`` metadata (camera, recording type,
start time), written before any video, so a file found without a catalog row can be indexed
from the file alone. Everything is read from the boxes (``nvr.storage.fmp4.segment_info``): a
few small reads per fragment and no video data, about 0.6 ms for a 60 s segment, where opening
it with PyAV took 24 ms (it probes the stream by decoding) and demuxing it 42 ms.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from nvr.protocol.health import RecoveryReport
from nvr.storage.catalog import RECORDING_TYPES, Catalog, NewRecording
from nvr.storage.fmp4 import cut_to_playable, segment_info

log = logging.getLogger(__name__)

TAG_KEY = "comment"
TAG_PREFIX = "nvr-segment"


def segment_tag(camera_id: str, recording_type: str, start_ns: int) -> str:
    """The metadata that lets recovery catalog a segment from the file alone."""
    return f"{TAG_PREFIX} camera={camera_id} type={recording_type} start_ns={start_ns}"


def parse_tag(text: str | None) -> dict[str, str]:
    if not text or not text.startswith(TAG_PREFIX):
        return {}
    return dict(part.split("=", 1) for part in text.split()[1:] if "=" in part)


def recover_segment(
    root: Path, rel_path: str, camera_id: str, recording_type: str, start_ns: int
) -> NewRecording | None:
    """Repair one uncataloged segment; its catalog row, or None if nothing playable was left.

    The camera, type and start time come from the file's tag when it has one; the arguments
    are the fallback. A file with no complete fragment is removed.
    """
    path = root / rel_path
    if not path.exists():
        return None
    before, after, fragments = cut_to_playable(path)
    if fragments == 0:
        log.warning("%s: segment %s held no complete fragment; removed", camera_id, rel_path)
        path.unlink()
        return None
    try:
        info = segment_info(path, after)
    except (OSError, ValueError) as err:
        log.error("%s: segment %s is unreadable (%s); left uncataloged", camera_id, rel_path, err)
        return None
    tag = parse_tag(info.comment)
    duration_90k = info.duration_90k
    duration_ns = duration_90k * 1_000_000_000 // 90000
    tagged_start = tag.get("start_ns", "")
    # A tag no catalog row can hold (not a number, or past SQLite's 64-bit integers) is ignored.
    if tagged_start.isdigit() and int(tagged_start) + duration_ns < 2**63:
        start_ns = int(tagged_start)
    if tag.get("type") in RECORDING_TYPES:
        recording_type = tag["type"]
    camera_id = tag.get("camera") or camera_id
    log.warning(
        "%s: recovered segment %s: %d fragment(s), %.1f s%s",
        camera_id,
        rel_path,
        fragments,
        duration_90k / 90000,
        f", cut {before - after} trailing bytes" if after < before else "",
    )
    return NewRecording(
        camera_id=camera_id,
        start_ns=start_ns,
        end_ns=start_ns + duration_ns,
        duration_90k=duration_90k,
        file_path=rel_path,
        size_bytes=after,
        recording_type=recording_type,
        video_codec=info.codec,
        width=info.width,
        height=info.height,
        status="repaired" if after < before else "ok",
    )


def segment_files(root: Path) -> set[str]:
    """Every ``.mp4`` under the recordings folder, relative to it (``camera/date/file``)."""
    found: set[str] = set()
    if not root.is_dir():
        return found
    for camera in os.scandir(root):
        if not camera.is_dir():
            continue
        for day in os.scandir(camera.path):
            if day.is_dir():
                found.update(
                    f"{camera.name}/{day.name}/{f.name}"
                    for f in os.scandir(day.path)
                    if f.name.endswith(".mp4") and f.is_file()
                )
    return found


def recover_storage(catalog: Catalog, root: Path) -> RecoveryReport:
    """At start: index and repair orphan files, mark rows whose file is gone, check integrity."""
    started = time.perf_counter()
    integrity = catalog.integrity_check()
    if integrity != ["ok"]:
        log.error(
            "catalog integrity check failed: %s; restore catalog.db from a backup or "
            "move it aside to rebuild it from the segment files",
            integrity[:3],
        )
    on_disk = segment_files(root)
    cataloged = catalog.file_statuses()
    count = dict.fromkeys(("unreadable", "removed_unplayable", "orphans_indexed", "repaired"), 0)
    with catalog.transaction():
        for rel_path in sorted(on_disk - cataloged.keys()):
            camera_id = rel_path.split("/", 1)[0]
            mtime_ns = (root / rel_path).stat().st_mtime_ns
            rec = recover_segment(root, rel_path, camera_id, "continuous", mtime_ns)
            if rec is None:
                removed = not (root / rel_path).exists()
                count["removed_unplayable" if removed else "unreadable"] += 1
                continue
            catalog.add_recording(rec)
            count["orphans_indexed"] += 1
            count["repaired"] += rec.status == "repaired"
        gone = [p for p, status in cataloged.items() if p not in on_disk and status != "missing"]
        marked_missing = catalog.mark_missing(gone)
    report = RecoveryReport(
        segments_checked=len(cataloged),
        files_on_disk=len(on_disk),
        marked_missing=marked_missing,
        integrity=integrity,
        seconds=round(time.perf_counter() - started, 3),
        **count,
    )
    if report.unreadable:
        log.error(
            "recovery: %d segment file(s) could not be read and were left uncataloged (each "
            "is named above); move them out of %s to silence this",
            report.unreadable,
            root,
        )
    if report.orphans_indexed or report.marked_missing or report.removed_unplayable:
        log.warning(
            "recovery: %d orphan segment(s) indexed (%d repaired), %d unplayable "
            "removed, %d missing file(s) marked, in %.2f s",
            report.orphans_indexed,
            report.repaired,
            report.removed_unplayable,
            report.marked_missing,
            report.seconds,
        )
    elif not report.unreadable:
        log.info(
            "recovery: %d segment(s) checked, nothing to repair (%.2f s)",
            report.segments_checked,
            report.seconds,
        )
    return report
