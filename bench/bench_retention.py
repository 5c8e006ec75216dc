"""pytest-benchmark: retention of a synthetic catalog (default 30 days x 16 cameras, 1-minute
segments: 691,200 rows), against a bare deletion measured in the same run.

``measure_retention`` builds the catalog through ``Catalog.add_recording``, plans a pass whose age
rule must delete the oldest 2 days, creates an empty file for every planned deletion, and applies
it in garbage-table order. The peer does the same deletion on a copy of the catalog the plain
way: one ``DELETE`` by id and the unlinks, with no garbage table and no directory fsync. Then
one steady-state pass a minute later (one segment per camera to delete) is timed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import apsw

from bench.measure import Row, make_row
from nvr.config import CameraConfig, Config, RetentionConfig, StorageConfig
from nvr.storage.catalog import Catalog, NewRecording
from nvr.storage.retention import RetentionPlan, apply, plan

SEGMENT_S = 60
DELETED_DAYS = 2
_S = 1_000_000_000
_DAY_NS = 86_400 * _S
_NOW_NS = 1_700_000_000 * _S
_SIZE_BYTES = 4_000_000  # catalogued size of one segment (about 530 kbit/s)


def _build(catalog: Catalog, days: int, cameras: int) -> None:
    per_camera = days * 86_400 // SEGMENT_S
    with catalog.transaction():
        for i in range(per_camera):
            end = _NOW_NS - (per_camera - 1 - i) * SEGMENT_S * _S
            start = end - SEGMENT_S * _S
            for c in range(cameras):
                cam = f"cam{c:02d}"
                catalog.add_recording(
                    NewRecording(
                        cam,
                        start,
                        end,
                        SEGMENT_S * 90_000,
                        f"{cam}/{start // _DAY_NS}/{cam}-{start}.mp4",
                        _SIZE_BYTES,
                        "motion" if i % 4 == 0 else "continuous",
                    )
                )


def _touch(root: Path, deletions: RetentionPlan) -> None:
    for path in {root / d.recording.file_path for d in deletions.deletions}:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def _bare_delete(db: Path, root: Path, deletions: RetentionPlan) -> float:
    """The peer: the same rows and files deleted without the garbage table; seconds taken."""
    conn = apsw.Connection(str(db))
    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
    ids = [(d.recording.id,) for d in deletions.deletions]
    started = time.perf_counter()
    with conn:
        conn.executemany("DELETE FROM recordings WHERE id = ?", ids)
    for d in deletions.deletions:
        os.unlink(root / d.recording.file_path)
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def measure_retention(days: int = 30, cameras: int = 16) -> dict[str, Any]:
    """Build, plan, apply and compare; returns the figures (seconds, rows/s, ratios)."""
    if days <= DELETED_DAYS:
        raise ValueError(f"days must be more than {DELETED_DAYS}")
    rows = days * 86_400 // SEGMENT_S * cameras
    policy = RetentionConfig(max_days=days - DELETED_DAYS)
    with tempfile.TemporaryDirectory(prefix="nvr-bench-retention-") as tmp:
        work = Path(tmp)
        root, db, peer_db = work / "recordings", work / "catalog.db", work / "peer.db"
        config = Config(
            storage=StorageConfig(path=work, min_free_bytes=0),
            cameras=tuple(
                CameraConfig(id=f"cam{c:02d}", main="demo.mp4", retention=policy)
                for c in range(cameras)
            ),
        )
        catalog = Catalog(db)
        started = time.perf_counter()
        _build(catalog, days, cameras)
        build_s = time.perf_counter() - started
        catalog.close()  # checkpoints the WAL, so the file alone is the whole catalog
        shutil.copyfile(db, peer_db)
        catalog = Catalog(db)

        started = time.perf_counter()
        usage = catalog.bytes_by_camera()
        usage_s = time.perf_counter() - started
        started = time.perf_counter()
        scanned = catalog.stats()  # the O(rows) alternative: GROUP BY over recordings
        scan_s = time.perf_counter() - started
        assert {cam: s["bytes"] for cam, s in scanned.items()} == usage

        started = time.perf_counter()
        first = plan(catalog, config, _NOW_NS, free_bytes=10**15)
        plan_s = time.perf_counter() - started
        _touch(root, first)
        report = apply(catalog, root, first)
        assert report.deleted == len(first.deletions) and not report.errors

        _touch(root, first)
        peer_s = _bare_delete(peer_db, root, first)

        later = _NOW_NS + SEGMENT_S * _S
        started = time.perf_counter()
        steady = plan(catalog, config, later, free_bytes=10**15)
        steady_plan_s = time.perf_counter() - started
        _touch(root, steady)
        steady_report = apply(catalog, root, steady)
        assert steady_report.deleted == cameras
        catalog.close()
    return {
        "rows": rows,
        "cameras": cameras,
        "days": days,
        "build_s": round(build_s, 3),
        "insert_rows_per_s": round(rows / build_s),
        "usage_ms": round(usage_s * 1e3, 3),
        "usage_scan_ms": round(scan_s * 1e3, 3),
        "usage_speedup_vs_scan": round(scan_s / usage_s, 1),
        "plan_s": round(plan_s, 3),
        "plan_rows_per_s": round(rows / plan_s),
        "deleted": report.deleted,
        "deleted_bytes": report.freed_bytes,
        "apply_s": report.seconds,
        "apply_rows_per_s": round(report.deleted / report.seconds),
        "peer_bare_delete_s": round(peer_s, 3),
        "apply_vs_peer": round(report.seconds / peer_s, 2),
        "pass_s": round(plan_s + report.seconds, 3),
        "steady_pass_ms": round((steady_plan_s + steady_report.seconds) * 1e3, 2),
    }


def test_retention_pass(benchmark) -> None:
    benchmark.group = "retention"
    result = benchmark.pedantic(measure_retention, rounds=1, iterations=1)
    assert result["deleted"] == DELETED_DAYS * 1440 * 16
    benchmark.extra_info.update(result)


def retention_rows(quick: bool) -> list[Row]:
    """Rows for ``nvr bench``: a retention pass over a month of 16 cameras (a week when quick)."""
    days = 7 if quick else 30
    m = measure_retention(days=days, cameras=16)
    return [
        make_row(
            f"retention plan, {days} d x 16 cameras ({m['rows']} rows)",
            "s",
            m["plan_s"],
            group="retention",
            note=f"{m['plan_rows_per_s']} cataloged rows/s",
        ),
        make_row(
            f"retention apply, {m['deleted']} deletions (garbage-table order)",
            "s",
            m["apply_s"],
            m["peer_bare_delete_s"],
            group="retention",
            note="peer: a bare DELETE + unlink, without the crash-safe order",
            detail=m,
        ),
    ]
