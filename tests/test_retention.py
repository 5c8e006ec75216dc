"""Retention on real SQLite files and real files: policy rules, protection, crash-safe deletion."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from nvr.config import CameraConfig, Config, RetentionConfig, StorageConfig, TypeDays
from nvr.storage import retention
from nvr.storage.catalog import RECORDING_TYPES, Catalog, NewMotionEvent, NewRecording
from nvr.storage.retention import RetentionPlan, apply, collect_garbage, emergency_free, plan
from nvr.storage.thumbnails import event_thumbnail, segment_thumbnail
from tests.conftest import ROOT

S = 1_000_000_000
DAY = 86_400 * S
NOW = 1_700_000_000 * S
MB = 1_000_000


class Store:
    """A catalog and its recordings folder, with real segment files."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "recordings"
        self.catalog = Catalog(tmp_path / "catalog.db")

    def add(
        self,
        camera: str,
        end_ago_s: float,
        *,
        size: int = 1000,
        kind: str = "continuous",
        protected: bool = False,
        file: bool = True,
        thumbnail: bool = False,
    ) -> int:
        """A 60 s segment of ``camera`` that ended ``end_ago_s`` before NOW; returns its id."""
        end = NOW - int(end_ago_s * S)
        start = end - 60 * S
        rel = f"{camera}/{start // DAY}/{camera}-{start}.mp4"
        if file:
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\0" * size)
        thumb = segment_thumbnail(rel) if thumbnail else None
        if thumb is not None:
            (self.root / thumb).write_bytes(b"\xff\xd8 a jpeg")
        rid = self.catalog.add_recording(
            NewRecording(camera, start, end, 60 * 90_000, rel, size, kind, thumbnail_path=thumb)
        )
        if protected:
            self.catalog.set_protected(rid, True)
        return rid

    def ids(self) -> set[int]:
        return {r.id for r in self.catalog.recordings()}

    def files(self) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*.mp4")}

    def assert_consistent(self) -> None:
        """Every row has its file and every file has its row; nothing left in garbage."""
        assert self.catalog.garbage() == []
        assert {r.file_path for r in self.catalog.recordings()} == self.files()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path)
    yield s
    s.catalog.close()


def thirty_days() -> Config:
    """cam0..cam3 keep 30 days of footage."""
    return config(*((f"cam{i}", RetentionConfig(max_days=30)) for i in range(4)))


def config(
    *cameras: tuple[str, RetentionConfig],
    max_bytes: int | None = None,
    min_free_bytes: int = 0,
) -> Config:
    return Config(
        storage=StorageConfig(path="/srv", max_bytes=max_bytes, min_free_bytes=min_free_bytes),
        cameras=tuple(
            CameraConfig(id=cam, main="demo.mp4", retention=policy) for cam, policy in cameras
        ),
    )


NO_LIMIT = RetentionConfig(max_days=None)
PLENTY = 10**15  # free bytes: the free-space rule has nothing to do


def planned(p: RetentionPlan) -> list[tuple[int, str]]:
    return [(d.recording.id, d.reason) for d in p.deletions]


def test_type_days_follow_the_catalog_recording_types() -> None:
    assert tuple(TypeDays.model_fields) == RECORDING_TYPES
    assert retention.REASONS == ("age", "camera_budget", "global_budget", "free_space", "emergency")


# -- policy ----------------------------------------------------------------------------------


def test_age_per_camera_and_type(store: Store) -> None:
    days = RetentionConfig(max_days=2, per_type_days=TypeDays(motion=5, panic=1))
    cam1_old = store.add("cam1", 2 * 86_400)  # ended exactly 2 days ago: goes
    cam1_young = store.add("cam1", 2 * 86_400 - 1)
    motion_kept = store.add("cam1", 4 * 86_400, kind="motion")
    motion_old = store.add("cam1", 6 * 86_400, kind="motion")
    panic_old = store.add("cam1", 1.5 * 86_400, kind="panic")
    unlimited = store.add("cam2", 400 * 86_400)
    gone_camera = store.add("cam9", 31 * 86_400)  # no longer configured: defaults (no age limit)
    gone_young = store.add("cam9", 29 * 86_400)
    protected = store.add("cam1", 100 * 86_400, protected=True)
    cfg = config(("cam1", days), ("cam2", NO_LIMIT))

    p = plan(store.catalog, cfg, NOW, PLENTY)
    assert [d.recording.id for d in p.deletions] == [motion_old, cam1_old, panic_old]
    assert {d.reason for d in p.deletions} == {"age"}
    assert p.unmet == ()
    report = apply(store.catalog, store.root, p)
    assert (report.deleted, report.freed_bytes, report.by_reason) == (3, 3000, {"age": 3})
    assert report.errors == [] and report.seconds >= 0
    assert store.ids() == {cam1_young, motion_kept, unlimited, gone_camera, gone_young, protected}
    store.assert_consistent()
    assert plan(store.catalog, cfg, NOW, PLENTY).deletions == ()


def test_thumbnails_go_with_their_recording(store: Store) -> None:
    """A recording's thumbnail and its events' go through the garbage table with it; the events
    stay (their picture is gone), and the other recordings keep theirs."""
    old = store.add("cam1", 3 * 86_400, thumbnail=True)
    young = store.add("cam1", 86_400, thumbnail=True)
    events = []
    for rid in (old, young):
        rec = store.catalog.recording(rid)
        thumb = event_thumbnail("cam1", rec.start_ns + S)
        (store.root / thumb).parent.mkdir(parents=True, exist_ok=True)
        (store.root / thumb).write_bytes(b"\xff\xd8 event")
        events.append(
            store.catalog.add_motion_event(
                NewMotionEvent("cam1", rec.start_ns + S, rec.start_ns + 2 * S, 0.5, (), thumb)
            )
        )
    pictures = {p.relative_to(store.root).as_posix() for p in store.root.rglob("*.jpg")}
    assert len(pictures) == 4
    p = plan(store.catalog, config(("cam1", RetentionConfig(max_days=2))), NOW, PLENTY)
    report = apply(store.catalog, store.root, p)
    assert (report.deleted, report.by_reason) == (1, {"age": 1})  # pictures are not recordings
    left = {p.relative_to(store.root).as_posix() for p in store.root.rglob("*.jpg")}
    young_rec = store.catalog.recording(young)
    assert left == {young_rec.thumbnail_path, store.catalog.motion_event(events[1]).frame_thumbnail}
    assert store.catalog.motion_event(events[0]).frame_thumbnail is None  # the event stays
    store.assert_consistent()


def test_camera_budget_takes_that_cameras_oldest_unprotected(store: Store) -> None:
    protected = store.add("cam1", 1000, size=300_000, protected=True)
    a = store.add("cam1", 900, size=300_000)
    b = store.add("cam1", 800, size=300_000)
    c = store.add("cam1", 700, size=300_000)
    other = store.add("cam2", 5000, size=900_000)  # older, but another camera's budget
    cfg = config(("cam1", RetentionConfig(max_bytes=MB)), ("cam2", RetentionConfig(max_bytes=MB)))

    p = plan(store.catalog, cfg, NOW, PLENTY)  # cam1 holds 1.2MB: 0.2MB must go
    assert planned(p) == [(a, "camera_budget")]
    report = apply(store.catalog, store.root, p)
    assert (report.deleted, report.freed_bytes) == (1, 300_000)
    assert store.ids() == {protected, b, c, other}
    store.assert_consistent()


def test_global_budget_takes_the_oldest_of_any_camera(store: Store) -> None:
    a = store.add("cam1", 3000, size=400_000)
    b = store.add("cam2", 2000, size=400_000)
    c = store.add("cam1", 1000, size=400_000)
    d = store.add("cam3", 500, size=400_000)
    cfg = config(("cam1", NO_LIMIT), ("cam2", NO_LIMIT), ("cam3", NO_LIMIT), max_bytes=MB)

    p = plan(store.catalog, cfg, NOW, PLENTY)  # 1.6MB held, 0.6MB must go
    assert planned(p) == [(a, "global_budget"), (b, "global_budget")]
    apply(store.catalog, store.root, p)
    assert store.ids() == {c, d}
    store.assert_consistent()


def test_free_space_reserve_counts_what_other_rules_free(store: Store) -> None:
    old = store.add("cam1", 40 * 86_400, size=200_000)  # goes by age (30 days)
    a = store.add("cam2", 3000, size=200_000)
    b = store.add("cam1", 2000, size=200_000)
    c = store.add("cam2", 1000, size=200_000)
    cfg = config(("cam1", RetentionConfig(max_days=30)), ("cam2", NO_LIMIT), min_free_bytes=10 * MB)

    assert planned(plan(store.catalog, cfg, NOW, 10 * MB)) == [(old, "age")]
    p = plan(store.catalog, cfg, NOW, 10 * MB - 500_000)  # 0.5MB short; age frees 0.2MB
    assert planned(p) == [(old, "age"), (a, "free_space"), (b, "free_space")]
    report = apply(store.catalog, store.root, p)
    assert report.by_reason == {"age": 1, "free_space": 2}
    assert store.ids() == {c}
    store.assert_consistent()


def test_rules_combine_and_run_oldest_first(store: Store) -> None:
    aged = store.add("cam1", 10 * 86_400)
    budget = store.add("cam2", 9 * 86_400, size=2 * MB)
    glob = store.add("cam3", 8 * 86_400, size=2 * MB)
    free = store.add("cam1", 7 * 86_400, size=MB)
    kept = store.add("cam3", 86_400, size=MB)
    cfg = config(
        ("cam1", RetentionConfig(max_days=None, per_type_days=TypeDays(continuous=10))),
        ("cam2", RetentionConfig(max_days=None, max_bytes=MB)),
        ("cam3", NO_LIMIT),
        max_bytes=3 * MB,
        min_free_bytes=5 * MB,
    )
    p = plan(store.catalog, cfg, NOW, 5 * MB - (1000 + 2 * MB + 2 * MB) - 1)  # 1 byte short
    assert planned(p) == [
        (aged, "age"),
        (budget, "camera_budget"),
        (glob, "global_budget"),
        (free, "free_space"),
    ]
    assert p.size_bytes == 1000 + 5 * MB
    report = apply(store.catalog, store.root, p)
    assert report.by_reason == {"age": 1, "camera_budget": 1, "global_budget": 1, "free_space": 1}
    assert store.ids() == {kept}
    store.assert_consistent()


def test_protected_recordings_are_never_deleted_and_unmet_goals_are_reported(
    store: Store,
) -> None:
    keep = [store.add("cam1", 100 * 86_400 + i, size=MB, protected=True) for i in range(3)]
    loose = store.add("cam1", 1000, size=MB)
    cfg = config(
        ("cam1", RetentionConfig(max_days=1, max_bytes=MB)), max_bytes=MB, min_free_bytes=5 * MB
    )
    p = plan(store.catalog, cfg, NOW, 0)  # 4MB held, 3MB of it protected, and the disk is full
    assert planned(p) == [(loose, "camera_budget")]
    assert p.unmet == (
        "camera cam1 is over its retention.max_bytes of 1MB, and no unprotected recording is "
        "left to delete (2MB short): unprotect recordings or raise that camera's "
        "retention.max_bytes",
        "recordings are over storage.max_bytes of 1MB, and no unprotected recording is left to "
        "delete (2MB short): unprotect recordings or raise storage.max_bytes",
        "the disk has 0B free, under storage.min_free_bytes of 5MB, and no unprotected recording "
        "is left to delete (4MB short): unprotect recordings or free space on the disk or lower "
        "storage.min_free_bytes",
    )
    report = apply(store.catalog, store.root, p)
    assert report.deleted == 1 and report.errors == list(p.unmet)
    assert store.ids() == set(keep)
    store.assert_consistent()


def test_recording_protected_after_planning_is_skipped(store: Store) -> None:
    a = store.add("cam1", 40 * 86_400)
    b = store.add("cam1", 39 * 86_400)
    p = plan(store.catalog, thirty_days(), NOW, PLENTY)
    assert [d.recording.id for d in p.deletions] == [a, b]
    store.catalog.set_protected(b, True)  # through the API, between plan and apply
    report = apply(store.catalog, store.root, p)
    assert report.deleted == 1
    assert store.ids() == {b}
    store.assert_consistent()


# -- the executor ------------------------------------------------------------------------------


def test_missing_file_is_fine(store: Store) -> None:
    store.add("cam1", 40 * 86_400, file=False)
    report = apply(store.catalog, store.root, plan(store.catalog, thirty_days(), NOW, PLENTY))
    assert (report.deleted, report.errors) == (1, [])
    store.assert_consistent()


@contextmanager
def undeletable(path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make ``path`` impossible to unlink: a read-only folder, or for root an immutable file."""
    if os.geteuid() != 0:
        mode = path.parent.stat().st_mode
        path.parent.chmod(0o555)
        try:
            yield
        finally:
            path.parent.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr and subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode == 0:
        try:
            yield
        finally:
            subprocess.run([chattr, "-i", str(path)], check=True)
        return
    real = Path.unlink  # no way to refuse root here (tmpfs, no CAP_LINUX_IMMUTABLE): simulate it

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        real(self, missing_ok)

    with monkeypatch.context() as m:
        m.setattr(Path, "unlink", refuse)
        yield


def test_unlink_error_is_reported_and_the_garbage_row_kept(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = store.add("cam1", 41 * 86_400)
    store.add("cam1", 40 * 86_400)
    kept = store.add("cam1", 1000)
    stuck_path = store.catalog.recording(stuck).file_path  # type: ignore[union-attr]
    with undeletable(store.root / stuck_path, monkeypatch):
        report = apply(store.catalog, store.root, plan(store.catalog, thirty_days(), NOW, PLENTY))
        assert report.deleted == 2
        (error,) = report.errors
        assert error.startswith(f"cannot delete {stuck_path} (")
        assert "retried on the next pass" in error
        (row,) = store.catalog.garbage()
        assert row.file_path == stuck_path
        assert collect_garbage(store.catalog, store.root) == 0  # still refused
    assert store.ids() == {kept}
    assert store.files() == {stuck_path, store.catalog.recording(kept).file_path}  # type: ignore[union-attr]
    assert collect_garbage(store.catalog, store.root) == 1
    store.assert_consistent()


def test_emergency_free_deletes_oldest_of_any_camera(store: Store) -> None:
    p = store.add("cam2", 5000, size=MB, protected=True)
    a = store.add("cam1", 4000, size=MB)
    b = store.add("cam2", 3000, size=MB)
    c = store.add("cam1", 2000, size=MB)
    report = emergency_free(store.catalog, store.root, 1_500_000)
    assert (report.deleted, report.freed_bytes, report.by_reason) == (2, 2 * MB, {"emergency": 2})
    assert report.errors == []
    assert store.ids() == {p, c}
    store.assert_consistent()
    report = emergency_free(store.catalog, store.root, 3 * MB)
    assert report.deleted == 1
    (error,) = report.errors
    assert error.startswith(
        "the disk is full and no unprotected recording is left to delete (2MB short of 3MB)"
    )
    assert store.ids() == {p}
    assert a not in store.ids() and b not in store.ids()


def test_batches_and_several_directories(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCH_ROWS", 4)
    old = [store.add(f"cam{i % 3}", (31 + i) * 86_400) for i in range(10)]  # 10 day folders
    young = store.add("cam1", 1000)
    report = apply(store.catalog, store.root, plan(store.catalog, thirty_days(), NOW, PLENTY))
    assert report.deleted == len(old)
    assert store.ids() == {young}
    store.assert_consistent()


def test_max_seconds_leaves_the_rest_for_the_next_pass(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH_ROWS", 4)
    for i in range(10):
        store.add("cam1", (31 + i) * 86_400)
    p = plan(store.catalog, thirty_days(), NOW, PLENTY)
    report = apply(store.catalog, store.root, p, max_seconds=0)
    assert (report.deleted, report.remaining) == (0, 10)
    ticks = iter(range(100))  # a clock that moves one second per reading
    monkeypatch.setattr(retention, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    report = apply(store.catalog, store.root, p, max_seconds=1.5)  # time for one batch
    assert (report.deleted, report.remaining) == (4, 6)
    report = apply(store.catalog, store.root, plan(store.catalog, thirty_days(), NOW, PLENTY))
    assert (report.deleted, report.remaining) == (6, 0)
    store.assert_consistent()


# -- crashes -----------------------------------------------------------------------------------

CRASHING_CHILD = """
import os, sys
from pathlib import Path
from nvr.storage import retention
from nvr.storage.catalog import Catalog

point, db, root = sys.argv[1:]
catalog = Catalog(db)
retention.BATCH_ROWS = 4
unlinked = 0
real_unlink = Path.unlink

def unlink(self, missing_ok=False):
    global unlinked
    if point == "after_move" or (point == "half_unlinked" and unlinked == 6):
        os._exit(3)
    real_unlink(self, missing_ok)
    unlinked += 1

def trace(cursor, sql, bindings):
    if point == "in_move" and sql.startswith("DELETE FROM recordings"):
        os._exit(3)  # rows copied to garbage, not yet deleted, nothing committed
    return True

def drop(ids):
    os._exit(3)

Path.unlink = unlink
catalog._connection().exec_trace = trace
if point == "before_drop":
    catalog.drop_garbage = drop
retention.emergency_free(catalog, Path(root), 10**12)
os._exit(0)
"""


# Batches of 4 out of 10 recordings. Crash point -> (garbage rows, files that have lost their
# recordings row, recordings gone once collect_garbage has run).
AFTER_CRASH = {
    "in_move": (0, 0, 0),  # inside the first move transaction: nothing committed
    "after_move": (4, 4, 4),  # first batch moved, no file unlinked yet
    "half_unlinked": (4, 2, 8),  # first batch done, 2 of the second batch's files unlinked
    "before_drop": (4, 0, 4),  # first batch unlinked and fsynced, garbage rows not dropped
}


@pytest.mark.parametrize("point", list(AFTER_CRASH))
def test_crash_at_each_step_is_finished_by_collect_garbage(tmp_path: Path, point: str) -> None:
    store = Store(tmp_path)
    ids = [store.add(f"cam{i % 2}", 1000 * (10 - i)) for i in range(10)]
    kept = store.add("cam1", 10, protected=True)
    store.catalog.close()
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASHING_CHILD), point, str(store.catalog.path)]
        + [str(store.root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 3, child.stderr  # it died where the test put the crash

    store = Store(tmp_path)  # the next start
    rows = {r.file_path for r in store.catalog.recordings()}
    garbage = {g.file_path for g in store.catalog.garbage()}
    files = store.files()
    assert rows <= files  # no row without its file, at any crash point
    assert files <= rows | garbage  # no file that nobody tracks
    assert not rows & garbage
    in_garbage, unrowed, gone = AFTER_CRASH[point]
    assert (len(garbage), len(files - rows)) == (in_garbage, unrowed)

    assert collect_garbage(store.catalog, store.root) == in_garbage
    store.assert_consistent()
    assert store.ids() == set(ids[gone:]) | {kept}  # oldest first; the protected one stays
    store.catalog.close()


# -- volume ------------------------------------------------------------------------------------


def test_thirty_days_of_sixteen_cameras(store: Store) -> None:
    cameras, days, seg_s = 16, 30, 60
    per_camera = days * 86_400 // seg_s
    total = cameras * per_camera  # 691,200 one-minute segments
    t = time.perf_counter()
    with store.catalog.transaction():
        for i in range(per_camera):
            end = NOW - (per_camera - 1 - i) * seg_s * S
            for c in range(cameras):
                cam = f"cam{c:02d}"
                store.catalog.add_recording(
                    NewRecording(
                        cam,
                        end - seg_s * S,
                        end,
                        seg_s * 90_000,
                        f"{cam}/{(end - seg_s * S) // DAY}/{cam}-{end}.mp4",
                        4_000_000,
                        "motion" if i % 4 == 0 else "continuous",
                    )
                )
    build_s = time.perf_counter() - t
    oldest = store.catalog.recordings(limit=cameras * 10)
    protected = {r.id for r in oldest[::10]}  # one protected segment per camera, in the old days
    for rid in protected:
        store.catalog.set_protected(rid, True)
    real = oldest[1::10][:8] + store.catalog.recordings(start_ns=NOW - 3600 * S)[:8]
    for r in real:  # a few real files: 8 to delete, 8 to keep
        path = store.root / r.file_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"segment")

    # motion kept 29 days, the rest 28: the oldest 2 days go, minus 1 day of motion
    cfg = config(
        *(
            (f"cam{c:02d}", RetentionConfig(max_days=28, per_type_days=TypeDays(motion=29)))
            for c in range(cameras)
        )
    )
    t = time.perf_counter()
    p = plan(store.catalog, cfg, NOW, PLENTY)
    plan_s = time.perf_counter() - t
    cutoff_28, cutoff_29 = NOW - 28 * DAY, NOW - 29 * DAY
    expected = [
        r.id
        for r in store.catalog.recordings(end_ns=cutoff_28 + 1)
        if not r.protected
        and r.end_ns <= (cutoff_29 if r.recording_type == "motion" else cutoff_28)
    ]
    assert [d.recording.id for d in p.deletions] == expected  # oldest first, same order
    assert len(expected) == cameras * (2 * 1440 * 3 // 4 + 1440 // 4) - len(protected)

    t = time.perf_counter()
    report = apply(store.catalog, store.root, p)
    apply_s = time.perf_counter() - t
    assert report.deleted == len(expected) and report.errors == []
    assert report.freed_bytes == len(expected) * 4_000_000
    assert store.catalog.garbage() == []
    left = store.catalog.recordings(end_ns=cutoff_28 + 1)
    assert all(
        r.protected or r.end_ns > (cutoff_29 if r.recording_type == "motion" else cutoff_28)
        for r in left
    )
    assert protected <= store.ids()
    assert store.files() == {r.file_path for r in real[8:]}
    usage = store.catalog.bytes_by_camera()
    assert sum(usage.values()) == (total - len(expected)) * 4_000_000
    t = time.perf_counter()
    assert plan(store.catalog, cfg, NOW, PLENTY).deletions == ()
    replan_s = time.perf_counter() - t
    print(
        f"\n{total:,} rows ({cameras} cameras x {days} days of 1-minute segments) built in"
        f" {build_s:.1f} s; plan {plan_s:.2f} s ({total / plan_s:,.0f} catalogued rows/s,"
        f" {len(expected):,} to delete); apply {apply_s:.2f} s"
        f" ({len(expected) / apply_s:,.0f} deletions/s); next plan {replan_s * 1e3:.1f} ms"
    )
