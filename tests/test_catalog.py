"""Catalog tests on real SQLite files: schema, migrations, one writer + readers, queries."""

from __future__ import annotations

import time
from pathlib import Path

import apsw
import pytest

from nvr.errors import CatalogError
from nvr.storage import catalog as catalog_mod
from nvr.storage.catalog import (
    RECORDING_TYPES,
    SCHEMA_VERSION,
    Catalog,
    Garbage,
    NewMotionEvent,
    NewRecording,
)

S = 1_000_000_000  # one second in ns
T0 = 1_700_000_000 * S
HOUR = 3600 * S
MIN = 60 * S


def rec(camera: str, start_s: float, end_s: float, name: str | None = None, **kw) -> NewRecording:
    """A recording of ``camera`` from ``T0 + start_s`` to ``T0 + end_s``."""
    start, end = T0 + int(start_s * S), T0 + int(end_s * S)
    return NewRecording(
        camera_id=camera,
        start_ns=start,
        end_ns=end,
        duration_90k=(end - start) * 90_000 // S,
        file_path=name or f"{camera}/{start}.mp4",
        size_bytes=kw.pop("size_bytes", 1000),
        recording_type=kw.pop("recording_type", "continuous"),
        **kw,
    )


def event(camera: str, start_s: float, end_s: float | None = None) -> NewMotionEvent:
    end = None if end_s is None else T0 + int(end_s * S)
    return NewMotionEvent(camera, T0 + int(start_s * S), end, 0.5, ((1, 2, 3, 4),))


@pytest.fixture
def cat(tmp_path: Path):
    with Catalog(tmp_path / "catalog.db") as c:
        yield c


def raw(path: Path) -> apsw.Connection:
    return apsw.Connection(str(path))


# -- opening, migrations, errors ---------------------------------------------------------------


def test_migrates_empty_file_and_creates_parent(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "catalog.db"
    with Catalog(path) as c:
        assert c.path == path
        assert c.schema_version == SCHEMA_VERSION
        assert c.integrity_check() == ["ok"]
    tables = {r[0] for r in raw(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"recordings", "motion_events", "camera_presets", "stream_gaps"} <= tables


def test_reopen_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    with Catalog(path) as c:
        rid = c.add_recording(rec("cam1", 0, 60))
    for _ in range(2):
        with Catalog(path) as c:
            assert c.schema_version == SCHEMA_VERSION
            assert [r.id for r in c.recordings()] == [rid]


def test_settings_wal_normal_foreign_keys(cat: Catalog) -> None:
    assert raw(cat.path).execute("PRAGMA journal_mode").fetchall() == [("wal",)]
    assert cat._rows("PRAGMA synchronous") == [(1,)]  # NORMAL
    assert cat._rows("PRAGMA foreign_keys") == [(1,)]


@pytest.mark.parametrize("readonly", [False, True])
def test_too_new_schema_says_upgrade(tmp_path: Path, readonly: bool) -> None:
    path = tmp_path / "catalog.db"
    Catalog(path).close()
    raw(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(CatalogError, match="newer than this software.*upgrade"):
        Catalog(path, readonly=readonly)


def test_corrupt_file_message(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    path.write_bytes(b"this is not sqlite" * 500)
    with pytest.raises(CatalogError, match="file is not a database.*move it aside"):
        Catalog(path)


def test_unwritable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where the directory should be: fails even as root
    with pytest.raises(CatalogError, match="cannot open catalog.*writable"):
        Catalog(blocker / "catalog.db")


def test_readonly_needs_existing_migrated_catalog(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="read-only open needs a catalog"):
        Catalog(tmp_path / "missing.db", readonly=True)
    (tmp_path / "empty.db").touch()
    with pytest.raises(CatalogError, match="start the supervisor once to migrate"):
        Catalog(tmp_path / "empty.db", readonly=True)


def test_failed_migration_rolls_back_and_extra_migration_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "catalog.db"
    Catalog(path).close()
    base = catalog_mod.MIGRATIONS
    monkeypatch.setattr(catalog_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    bad = "CREATE TABLE half_done (a); INSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(catalog_mod, "MIGRATIONS", (*base, bad))
    with pytest.raises(CatalogError, match=f"migration {SCHEMA_VERSION + 1} .* failed"):
        Catalog(path)
    conn = raw(path)
    assert conn.execute("PRAGMA user_version").fetchall() == [(SCHEMA_VERSION,)]
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchall()
    monkeypatch.setattr(catalog_mod, "MIGRATIONS", (*base, "CREATE TABLE extra (a);"))
    with Catalog(path) as c:
        assert c.schema_version == SCHEMA_VERSION + 1


def test_version_1_file_migrates_to_the_latest_with_usage_garbage_gap_kinds_and_hours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "catalog.db"
    with monkeypatch.context() as m:  # a file written by the release that had migration 1 only
        m.setattr(catalog_mod, "MIGRATIONS", catalog_mod.MIGRATIONS[:1])
        m.setattr(catalog_mod, "SCHEMA_VERSION", 1)
        conn = raw(path)
        conn.execute(catalog_mod.MIGRATIONS[0] + "PRAGMA user_version = 1;")
        for i in range(3):
            conn.execute(
                "INSERT INTO recordings (camera_id, start_ns, end_ns, duration_90k, file_path,"
                " size_bytes, recording_type, protected, created_ns)"
                " VALUES (?, ?, ?, 0, ?, ?, 'motion', ?, 0)",
                (f"cam{i % 2}", T0 + i, T0 + i + 1, f"f{i}.mp4", 10 + i, i == 2),
            )
        for cause in ("camera unreachable", "worker killed by SIGKILL"):
            conn.execute(
                "INSERT INTO stream_gaps (camera_id, start_ns, end_ns, cause) VALUES (?, ?, ?, ?)",
                ("cam0", T0, T0 + 1, cause),
            )
        conn.execute(  # 2 h from the last minute of an hour: three clock hours
            "INSERT INTO recordings (camera_id, start_ns, end_ns, duration_90k, file_path,"
            " size_bytes, recording_type, protected, created_ns)"
            " VALUES ('cam2', ?, ?, 0, 'long.mp4', 1, 'continuous', 0, 0)",
            (HOUR * 100 - MIN, HOUR * 102 - MIN),
        )
        conn.execute(
            "INSERT INTO motion_events (camera_id, start_ns, confidence) VALUES ('cam2', ?, 1)",
            (HOUR * 100 + 5,),
        )
        conn.close()
    assert SCHEMA_VERSION == 10
    with Catalog(path) as c:
        assert c.schema_version == SCHEMA_VERSION
        assert c.slot_coverage(["cam2"], 3600, 0, 200) == [
            ("cam2", 99, "continuous", MIN),
            ("cam2", 100, "continuous", HOUR),
            ("cam2", 101, "continuous", HOUR - MIN),
        ]
        assert c.slot_events(["cam2"], 3600, 100, 101) == [("cam2", 100, 1)]
        assert c.slot_events(["cam2"], 300, 1200, 1201) == [("cam2", 1200, 1)]
        assert sum(ns for *_, ns in c.slot_coverage(["cam2"], 300, 0, 2000)) == 2 * HOUR
        assert [g.kind for g in c.gaps()] == ["stream_lost", "worker_exit"]
        assert c.integrity_check() == ["ok"]
        assert c.bytes_by_camera() == {"cam0": 10 + 12, "cam1": 11, "cam2": 1}
        assert c.garbage() == []
        assert [r.id for r in c.deletion_candidates("cam0")] == [1]  # 3 is protected
        names = {r[0] for r in c._rows("SELECT name FROM sqlite_master")}
        assert {"garbage", "camera_usage", "recordings_retention", "garbage_file_path"} <= names
        assert {"config_versions", "protected_ranges"} <= names and c.protected_ranges() == []


def test_second_writer_is_refused_while_one_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_mod, "_BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "catalog.db"
    with Catalog(path) as first, first.transaction():
        first.add_recording(rec("cam1", 0, 60))
        with pytest.raises(CatalogError, match="another supervisor"):
            Catalog(path).add_gap("cam1", T0, "test")


# -- readers and transactions ------------------------------------------------------------------


def test_reader_sees_committed_writes_only_and_cannot_write(cat: Catalog) -> None:
    with Catalog(cat.path, readonly=True) as reader:
        assert reader.recordings() == []
        with cat.transaction():
            cat.add_recording(rec("cam1", 0, 60))
            assert reader.recordings() == []  # not committed yet
        assert len(reader.recordings()) == 1
        with pytest.raises(CatalogError, match="read-only"):
            reader.add_gap("cam1", T0, "x")
        with pytest.raises(CatalogError, match="read-only"):
            reader.set_protected(1, True)


def test_transaction_rolls_back_and_nests(cat: Catalog) -> None:
    with pytest.raises(RuntimeError), cat.transaction():
        cat.add_recording(rec("cam1", 0, 60))
        with cat.transaction():  # inner joins the outer
            cat.add_recording(rec("cam1", 60, 120))
        raise RuntimeError("boom")
    assert cat.recordings() == []
    with cat.transaction(), cat.transaction():
        cat.add_recording(rec("cam1", 0, 60))
    assert len(cat.recordings()) == 1


# -- recordings --------------------------------------------------------------------------------


def test_recording_round_trip_and_validation(cat: Catalog) -> None:
    new = rec("cam1", 0, 60, video_codec="h264", width=1920, height=1080, motion_events=2)
    rid = cat.add_recording(new)
    got = cat.recording(rid)
    assert got is not None
    assert (got.camera_id, got.start_ns, got.end_ns, got.file_path) == (
        "cam1",
        new.start_ns,
        new.end_ns,
        new.file_path,
    )
    assert (got.duration_90k, got.size_bytes, got.video_codec, got.width, got.height) == (
        60 * 90_000,
        1000,
        "h264",
        1920,
        1080,
    )
    assert (got.recording_type, got.status, got.protected, got.motion_events) == (
        "continuous",
        "ok",
        False,
        2,
    )
    assert got.thumbnail_path is None and abs(got.created_ns - time.time_ns()) < 60 * S
    assert cat.recording(rid + 1) is None
    assert "panic" in RECORDING_TYPES
    with pytest.raises(ValueError, match="recording_type"):
        cat.add_recording(rec("cam1", 60, 120, recording_type="sometimes"))
    with pytest.raises(ValueError, match="relative"):
        cat.add_recording(rec("cam1", 60, 120, name="/abs/x.mp4"))
    with pytest.raises(ValueError, match="negative"):
        cat.add_recording(rec("cam1", 120, 60))
    with pytest.raises(ValueError, match="UNIQUE"):
        cat.add_recording(rec("cam1", 60, 120, name=new.file_path))


def test_overlap_queries(cat: Catalog) -> None:
    a = cat.add_recording(rec("cam1", 0, 60))
    b = cat.add_recording(rec("cam1", 60, 120))
    c = cat.add_recording(rec("cam2", 30, 90))
    long_one = cat.add_recording(rec("cam3", -86_400, 86_400))  # a day-long segment

    def ids(**kw) -> list[int]:
        return [r.id for r in cat.recordings(**kw)]

    assert ids() == [long_one, a, c, b]
    assert ids(camera_id="cam1") == [a, b]
    assert ids(camera_id="cam1", start_ns=T0 + 60 * S) == [b]  # half-open: a ends at 60
    assert ids(camera_id="cam1", end_ns=T0 + 60 * S) == [a]  # b starts at 60
    assert ids(camera_id="cam1", start_ns=T0 + 59 * S, end_ns=T0 + 61 * S) == [a, b]
    assert ids(start_ns=T0 + 100 * S, end_ns=T0 + 101 * S) == [long_one, b]
    assert ids(camera_id="cam3", start_ns=T0 + 80_000 * S) == [long_one]
    assert ids(start_ns=T0 + 200_000 * S) == []
    assert ids(limit=2) == [long_one, a]


def test_overlap_query_plan_is_index_ranged(cat: Catalog) -> None:
    sql, params = cat._overlap_sql(
        "recordings", "id", "cam1", T0, T0 + S, open_rows=False
    )  # the SQL recordings() runs
    plan = " | ".join(r[3] for r in cat._rows("EXPLAIN QUERY PLAN " + sql, params))
    assert "USING INDEX recordings_camera_start (camera_id=? AND start_ns>? AND start_ns<?)" in plan
    assert "TEMP B-TREE" not in plan
    sql, params = cat._overlap_sql(
        "motion_events", "id, start_ns", None, T0, T0 + S, open_rows=True
    )
    plan = " | ".join(r[3] for r in cat._rows("EXPLAIN QUERY PLAN " + sql, params))
    assert "motion_events_start (start_ns>? AND start_ns<?)" in plan
    assert "motion_events_open" in plan


def test_protected_flag(cat: Catalog) -> None:
    rid = cat.add_recording(rec("cam1", 0, 60))
    for flag in (True, False):
        assert cat.set_protected(rid, flag)
        got = cat.recording(rid)
        assert got is not None and got.protected is flag
    assert not cat.set_protected(rid + 99, True)


def test_a_protected_range_also_keeps_the_segment_written_when_it_was_asked(cat: Catalog) -> None:
    before = cat.add_recording(rec("cam1", 0, 60))
    other = cat.add_recording(rec("cam2", 60, 120))
    assert cat.protect_range("cam1", T0 + 30 * S, T0 + 90 * S, True, "ann") == 1
    assert cat.recording(before).protected and not cat.recording(other).protected
    # The segment being written then (60-120 s) is catalogued later: kept too, and counted.
    during = cat.add_recording(rec("cam1", 60, 120, size_bytes=500))
    after = cat.add_recording(rec("cam1", 120, 180))
    assert cat.recording(during).protected and not cat.recording(after).protected
    assert cat.usage_by_type()["cam1"]["continuous"] == (2500, 1500)
    assert cat.protected_ranges() == [("cam1", T0 + 30 * S, T0 + 90 * S, "ann")]
    # Releasing part of it ends the whole range and unflags what the release overlaps.
    assert cat.protect_range("cam1", T0 + 70 * S, T0 + 80 * S, False, "bob") == 1
    assert not cat.recording(during).protected and cat.recording(before).protected
    assert cat.protected_ranges("cam1") == []
    late = cat.add_recording(rec("cam1", 50, 55, name="cam1/late.mp4"))  # indexed by recovery
    assert not cat.recording(late).protected
    with pytest.raises(ValueError, match="empty range"):
        cat.protect_range("cam1", T0, T0, True, "ann")


def test_stats(cat: Catalog) -> None:
    assert cat.stats() == {}
    cat.add_recording(rec("cam1", 0, 60, size_bytes=10))
    cat.add_recording(rec("cam1", 60, 120, size_bytes=5))
    cat.add_recording(rec("cam2", 30, 40, size_bytes=7))
    assert cat.stats() == {
        "cam1": {
            "recordings": 2,
            "bytes": 15,
            "first_start_ns": T0,
            "last_end_ns": T0 + 120 * S,
        },
        "cam2": {
            "recordings": 1,
            "bytes": 7,
            "first_start_ns": T0 + 30 * S,
            "last_end_ns": T0 + 40 * S,
        },
    }


# -- retention queries and the garbage table ---------------------------------------------------


def usage_by_scan(cat: Catalog) -> dict[str, int]:
    return dict(cat._rows("SELECT camera_id, sum(size_bytes) FROM recordings GROUP BY camera_id"))


def test_deletion_candidates_order_filters_and_pages(
    cat: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_mod, "_PAGE_ROWS", 3)  # pages end inside runs of equal start_ns
    ids = {}
    for i in range(4):
        for cam in ("cam1", "cam2", "cam3"):
            kind = "motion" if i % 2 else "continuous"
            ids[cam, i] = cat.add_recording(rec(cam, i * 60, i * 60 + 60, recording_type=kind))
    cat.set_protected(ids["cam2", 0], True)
    every = [c.id for c in cat.deletion_candidates()]
    assert every == [r.id for r in cat.recordings() if not r.protected]  # by start_ns, id
    assert set(every) == set(ids.values()) - {ids["cam2", 0]}
    assert [c.id for c in cat.deletion_candidates("cam2")] == [ids["cam2", i] for i in (1, 2, 3)]
    motion = cat.deletion_candidates("cam1", "motion")
    assert [c.id for c in motion] == [ids["cam1", 1], ids["cam1", 3]]
    old = list(cat.deletion_candidates("cam1", ended_before_ns=T0 + 120 * S))  # ends <= 120 s
    assert [c.id for c in old] == [ids["cam1", 0], ids["cam1", 1]]
    assert old[0] == catalog_mod.Candidate(
        ids["cam1", 0], "cam1", "continuous", T0, T0 + 60 * S, f"cam1/{T0}.mp4", 1000
    )
    before = list(cat.deletion_candidates(None, "continuous", T0 + 180 * S))
    assert [c.id for c in before] == [
        ids["cam1", 0],
        ids["cam3", 0],
        ids["cam1", 2],
        ids["cam2", 2],
        ids["cam3", 2],
    ]


def test_deletion_candidate_queries_are_index_ranged(cat: Catalog) -> None:
    for i in range(20):
        cat.add_recording(rec(f"cam{i % 2}", i * 60, i * 60 + 60))
    seen: list[tuple[str, object]] = []

    def trace(cursor: object, sql: str, bindings: object) -> bool:
        seen.append((sql, bindings))
        return True

    cat._connection().exec_trace = trace
    cases = [
        (("cam1", "motion", T0), "recordings_retention (camera_id=? AND recording_type=? AND"),
        (("cam1", None, None), "recordings_camera_start (camera_id=?"),
        ((None, None, None), "recordings_start"),
    ]
    for args, index in cases:
        seen.clear()
        list(cat.deletion_candidates(*args))
        plan = " | ".join(r[3] for r in cat._rows("EXPLAIN QUERY PLAN " + seen[0][0], seen[0][1]))
        assert index in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_oldest_unprotected_takes_bytes_oldest_first(cat: Catalog) -> None:
    a = cat.add_recording(rec("cam1", 0, 60, size_bytes=100))
    b = cat.add_recording(rec("cam2", 30, 90, size_bytes=100))
    p = cat.add_recording(rec("cam1", 60, 120, size_bytes=100))
    c = cat.add_recording(rec("cam1", 120, 180, size_bytes=100))
    cat.set_protected(p, True)

    def ids(need: int, *args, **kw) -> list[int]:
        return [r.id for r in cat.oldest_unprotected(need, *args, **kw)]

    assert ids(0) == []
    assert ids(1) == [a]
    assert ids(101) == [a, b]
    assert ids(150, "cam1") == [a, c]  # the protected one in between is passed over
    assert ids(150, skip={a}) == [b, c]
    assert ids(10_000) == [a, b, c]  # all there is


def test_move_to_garbage_then_drop(cat: Catalog) -> None:
    a = cat.add_recording(rec("cam1", 0, 60, size_bytes=10))
    b = cat.add_recording(rec("cam1", 60, 120, size_bytes=20))
    c = cat.add_recording(rec("cam2", 0, 60, size_bytes=40))
    p = cat.add_recording(rec("cam2", 60, 120, size_bytes=80))
    cat.set_protected(p, True)
    event_id = cat.add_motion_event(event("cam1", 10, 20))
    assert cat.bytes_by_camera() == {"cam1": 30, "cam2": 120}

    before = time.time_ns()
    moved = cat.move_to_garbage([a, c, p, 999])  # protected and unknown ids are skipped
    assert [(g.camera_id, g.file_path, g.size_bytes) for g in moved] == [
        ("cam1", f"cam1/{T0}.mp4", 10),
        ("cam2", f"cam2/{T0}.mp4", 40),
    ]
    assert all(g.created_ns >= before for g in moved)
    assert cat.garbage() == moved
    assert [r.id for r in cat.recordings()] == [b, p]
    assert cat.bytes_by_camera() == {"cam1": 20, "cam2": 80} == usage_by_scan(cat)
    assert cat.motion_events()[0].id == event_id
    assert cat.motion_events()[0].recording_id is None  # the event outlives its segment

    assert cat.garbage(after_id=moved[0].id) == moved[1:]
    assert cat.garbage(limit=1) == moved[:1]
    assert cat.drop_garbage([moved[0].id, 12345]) == 1
    assert cat.garbage() == moved[1:]
    assert cat.move_to_garbage([b, p]) == [
        Garbage(
            moved[1].id + 1, "cam1", f"cam1/{T0 + 60 * S}.mp4", 20, cat.garbage()[-1].created_ns
        )
    ]
    assert cat.bytes_by_camera() == {"cam2": 80}  # cam1 has no recording left
    assert cat.move_to_garbage([]) == []


def test_recataloguing_a_garbage_path_drops_its_garbage_row(cat: Catalog) -> None:
    first = rec("cam1", 0, 60)
    (row,) = cat.move_to_garbage([cat.add_recording(first)])
    cat.add_recording(first)  # e.g. recovery indexed the file before the garbage was finished
    assert cat.garbage() == []
    assert cat.bytes_by_camera() == {"cam1": 1000}


def test_usage_stays_equal_to_a_full_scan(cat: Catalog) -> None:
    with cat.transaction():
        ids = [cat.add_recording(rec(f"cam{i % 3}", i, i + 1, size_bytes=i)) for i in range(300)]
    assert cat.bytes_by_camera() == usage_by_scan(cat)
    cat.move_to_garbage(ids[::7])
    with pytest.raises(ValueError):
        cat.add_recording(rec("cam0", 3, 4, size_bytes=5))  # duplicate path: rolled back
    assert cat.bytes_by_camera() == usage_by_scan(cat)
    with pytest.raises(RuntimeError), cat.transaction():
        cat.move_to_garbage(ids[1::7])
        raise RuntimeError("roll back the whole block")
    assert cat.bytes_by_camera() == usage_by_scan(cat)
    assert sum(cat.bytes_by_camera().values()) == sum(s["bytes"] for s in cat.stats().values())


# -- motion events -----------------------------------------------------------------------------


def test_event_added_after_recording_is_linked(cat: Catalog) -> None:
    a = cat.add_recording(rec("cam1", 0, 60))
    b = cat.add_recording(rec("cam1", 60, 120))
    inside = cat.add_motion_event(event("cam1", 10, 20))
    at_boundary = cat.add_motion_event(event("cam1", 60))
    other_cam = cat.add_motion_event(event("cam2", 10, 20))
    outside = cat.add_motion_event(event("cam1", 500, 510))
    linked = {e.id: e.recording_id for e in cat.motion_events()}
    assert linked == {inside: a, at_boundary: b, other_cam: None, outside: None}
    assert [e.id for e in cat.motion_events(recording_id=a)] == [inside]


def test_recording_added_after_event_links_it(cat: Catalog) -> None:
    before = cat.add_motion_event(event("cam1", -5, 1))
    first = cat.add_motion_event(event("cam1", 0))
    last = cat.add_motion_event(event("cam1", 59.9, 70))
    after = cat.add_motion_event(event("cam1", 60))
    other_cam = cat.add_motion_event(event("cam2", 30))
    rid = cat.add_recording(rec("cam1", 0, 60))
    assert [e.id for e in cat.motion_events(recording_id=rid)] == [first, last]
    unlinked = {e.id for e in cat.motion_events() if e.recording_id is None}
    assert unlinked == {before, after, other_cam}
    # an already linked event keeps its recording when an overlapping one is added
    cat.add_recording(rec("cam1", 0, 30, name="cam1/motion.mp4", recording_type="motion"))
    assert cat.motion_events(recording_id=rid)[0].id == first


def test_event_round_trip_end_and_overlap(cat: Catalog) -> None:
    open_ev = cat.add_motion_event(event("cam1", 10))
    closed = cat.add_motion_event(event("cam1", 0, 5))
    got = cat.motion_events(camera_id="cam1")
    assert [e.id for e in got] == [closed, open_ev]
    assert got[0].boxes == ((1, 2, 3, 4),) and got[0].confidence == 0.5
    assert got[1].end_ns is None and got[1].frame_thumbnail is None
    # an open event overlaps any later window; a closed one only its own span
    far_start, far_end = T0 + 1000 * S, T0 + 2000 * S
    assert [e.id for e in cat.motion_events(start_ns=far_start, end_ns=far_end)] == [open_ev]
    assert [e.id for e in cat.motion_events(start_ns=T0 + 4 * S)] == [closed, open_ev]
    cat.end_motion_event(open_ev, T0 + 30 * S, 0.9, [(5, 6, 7, 8), (0, 0, 1, 1)])
    ended = cat.motion_events(start_ns=T0 + 10 * S)[0]
    assert (ended.end_ns, ended.confidence) == (T0 + 30 * S, 0.9)
    assert ended.boxes == ((5, 6, 7, 8), (0, 0, 1, 1))
    assert cat.motion_events(start_ns=far_start, end_ns=far_end) == []
    with pytest.raises(LookupError):
        cat.end_motion_event(999, T0, 0.1, [])
    with pytest.raises(ValueError, match="before it starts"):
        cat.end_motion_event(closed, T0 - S, 0.1, [])
    with pytest.raises(ValueError, match="x, y, w, h"):
        cat.end_motion_event(closed, T0 + 6 * S, 0.1, [(1, 2, 3)])


# -- gaps and presets --------------------------------------------------------------------------


def test_gaps(cat: Catalog) -> None:
    g1 = cat.add_gap("cam1", T0, "stream lost")
    g2 = cat.add_gap("cam2", T0 + 5 * S, "recorder restart")
    cat.end_gap(g2, T0 + 8 * S)
    assert [(g.id, g.end_ns, g.cause) for g in cat.gaps()] == [
        (g1, None, "stream lost"),
        (g2, T0 + 8 * S, "recorder restart"),
    ]
    assert [g.id for g in cat.gaps(start_ns=T0 + 9 * S)] == [g1]  # still open
    assert [g.id for g in cat.gaps(camera_id="cam2", end_ns=T0 + 5 * S)] == []
    cat.end_gap(g1, T0 + 3 * S)
    assert cat.gaps(start_ns=T0 + 9 * S) == []
    with pytest.raises(LookupError):
        cat.end_gap(999, T0)
    with pytest.raises(ValueError):
        cat.end_gap(g1, T0 - 1)


def test_closed_gaps_of_discontinuities(cat: Catalog) -> None:
    """A discontinuity the stream survived is a closed gap, zero-length when no time was lost."""
    jumped = cat.add_gap("cam1", T0, "timestamps jumped 25.1 s forward", end_ns=T0 + S // 2)
    switched = cat.add_gap("cam1", T0 + 10 * S, "stream parameters changed", end_ns=T0 + 10 * S)
    assert [(g.id, g.end_ns) for g in cat.gaps("cam1")] == [
        (jumped, T0 + S // 2),
        (switched, T0 + 10 * S),
    ]
    assert [g.id for g in cat.gaps("cam1", T0 + 9 * S, T0 + 11 * S)] == [switched]
    assert cat.gaps("cam1", T0 + S, T0 + 9 * S) == []
    with pytest.raises(ValueError):
        cat.add_gap("cam1", T0, "bad", end_ns=T0 - 1)


def test_presets_upsert_and_delete(cat: Catalog) -> None:
    pid = cat.save_preset("cam1", "door", {"pan": 0.1, "tilt": -0.2, "zoom": 0.0})
    assert cat.save_preset("cam1", "door", {"pan": 0.5}) == pid  # upsert keeps the id
    cat.save_preset("cam1", "gate", {"pan": 1.0})
    cat.save_preset("cam2", "door", {"pan": 2.0})
    got = cat.presets("cam1")
    assert [(p.preset_name, p.position) for p in got] == [
        ("door", {"pan": 0.5}),
        ("gate", {"pan": 1.0}),
    ]
    assert got[0].id == pid and got[0].camera_id == "cam1" and got[0].created_ns > 0
    assert cat.delete_preset("cam1", "door")
    assert not cat.delete_preset("cam1", "door")
    assert [p.preset_name for p in cat.presets("cam1")] == ["gate"]
    assert [p.preset_name for p in cat.presets("cam2")] == ["door"]


# -- volume ------------------------------------------------------------------------------------


def test_batch_of_100k_recordings_then_indexed_range_query(cat: Catalog) -> None:
    cameras, per_camera, seg_s = 10, 10_000, 60  # 10 cameras x ~7 days of 1-minute segments
    t = time.perf_counter()
    with cat.transaction():
        for i in range(per_camera):
            for c in range(cameras):
                cat.add_recording(rec(f"cam{c}", i * seg_s, (i + 1) * seg_s))
    insert_s = time.perf_counter() - t

    start, end = T0 + 5000 * seg_s * S, T0 + (5000 * seg_s + 3600) * S  # one hour
    t = time.perf_counter()
    one_cam = cat.recordings("cam3", start, end)
    one_cam_ms = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    all_cams = cat.recordings(None, start, end)
    all_cams_ms = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    cat.add_motion_event(event("cam3", 5000 * seg_s + 1))
    link_ms = (time.perf_counter() - t) * 1e3

    assert len(one_cam) == 60 and len(all_cams) == 600
    assert len(cat.motion_events(recording_id=one_cam[0].id)) == 1
    print(
        f"\n100k recordings in one transaction: {insert_s:.2f} s"
        f" ({cameras * per_camera / insert_s:,.0f}/s);"
        f" 1 h window: one camera {one_cam_ms:.2f} ms (60 rows),"
        f" all cameras {all_cams_ms:.2f} ms (600 rows); event insert+link {link_ms:.2f} ms;"
        f" file {cat.path.stat().st_size / 1e6:.1f} MB"
    )


def test_garbage_commit_is_durable_before_any_unlink(cat: Catalog) -> None:
    """move_to_garbage fsyncs the WAL at its commit (synchronous=FULL for that commit only):
    a power cut after the caller's unlinks must not bring the deleted rows back."""
    a = cat.add_recording(rec("cam1", 0, 60))
    conn = cat._writer()
    statements: list[str] = []
    synchronous_at_commit: list[int] = []

    def trace(_cursor: apsw.Cursor, sql: str, _bindings: object) -> bool:
        statements.append(sql.strip())
        return True

    def on_commit() -> bool:
        synchronous_at_commit.append(conn.execute("PRAGMA synchronous").fetchall()[0][0])
        return False  # go on with the commit

    conn.exec_trace = trace
    conn.set_commit_hook(on_commit)
    try:
        cat.move_to_garbage([a])
        cat.add_recording(rec("cam1", 60, 120))
    finally:
        conn.exec_trace = None
        conn.set_commit_hook(None)
    assert synchronous_at_commit == [2, 1]  # FULL for the garbage commit, NORMAL after
    assert statements[0] == "PRAGMA synchronous = FULL"
    assert "PRAGMA synchronous = NORMAL" in statements

    # Inside an outer block it joins that block: the outer one must be durable itself.
    b = cat.add_recording(rec("cam1", 120, 180))
    c = cat.add_recording(rec("cam1", 180, 240))
    synchronous_at_commit.clear()
    conn.set_commit_hook(on_commit)
    try:
        with cat.transaction():
            cat.move_to_garbage([b])
        with cat.transaction(durable=True):
            cat.move_to_garbage([c])
    finally:
        conn.set_commit_hook(None)
    assert synchronous_at_commit == [1, 2]


def test_hour_sums_follow_the_rows_they_sum(cat: Catalog) -> None:
    """``timeline_sums`` and ``event_sums`` always equal a sum over the rows, whatever is
    added and deleted (a segment across a slot boundary counts in both slots)."""
    import random

    rng = random.Random(3)
    base = T0 // HOUR * HOUR
    ids = []
    for i in range(200):
        start = base + rng.randrange(0, 6 * HOUR)
        kind = rng.choice(["continuous", "motion", "manual"])
        ids.append(
            cat.add_recording(
                rec(
                    "cam1",
                    (start - T0) / S,
                    (start - T0) / S + rng.randrange(1, 900),
                    f"r{i}",
                    recording_type=kind,
                )
            )
        )
        if i % 3 == 0:
            cat.add_motion_event(NewMotionEvent("cam1", start + 1, start + 2, 0.5))
    cat.move_to_garbage(rng.sample(ids, 80))

    for scale in (300, 3600):
        slot_ns = scale * S
        expected: dict[tuple[str, int, str], int] = {}
        for r in cat.recordings():
            at = r.start_ns
            while at < r.end_ns:
                slot = at // slot_ns
                upto = min(r.end_ns, (slot + 1) * slot_ns)
                key = (r.camera_id, slot, r.recording_type)
                expected[key] = expected.get(key, 0) + upto - at
                at = upto
        got = {(c, n, t): ns for c, n, t, ns in cat.slot_coverage(["cam1"], scale, 0, 10**12)}
        assert got == expected
        events: dict[int, int] = {}
        for ev in cat.motion_events("cam1"):
            events[ev.start_ns // slot_ns] = events.get(ev.start_ns // slot_ns, 0) + 1
        assert {n: k for _, n, k in cat.slot_events(["cam1"], scale, 0, 10**12)} == events


def test_bytes_by_type_and_protected_follow_every_change(tmp_path):
    def truth(c: Catalog) -> dict:
        out: dict = {}
        for cam, kind, size, protected in c._rows(  # noqa: SLF001 - the sums checked against rows
            "SELECT camera_id, recording_type, sum(size_bytes),"
            " sum(CASE WHEN protected THEN size_bytes ELSE 0 END) FROM recordings GROUP BY 1, 2"
        ):
            out.setdefault(cam, {})[kind] = (size, protected)
        return out

    with Catalog(tmp_path / "catalog.db") as c:
        ids = [
            c.add_recording(
                rec("door", i * 10, i * 10 + 10, recording_type=kind, size_bytes=100 + i)
            )
            for i, kind in enumerate(["continuous", "motion", "motion", "manual", "continuous"])
        ]
        c.add_recording(rec("yard", 0, 10, size_bytes=7))
        assert c.usage_by_type() == truth(c)
        assert c.set_protected(ids[1], True) and c.set_protected(ids[1], True)  # twice: once
        assert c.usage_by_type()["door"]["motion"] == (203, 101)
        c.move_to_garbage(ids)  # the protected one stays
        assert (
            c.usage_by_type()
            == truth(c)
            == {
                "door": {"motion": (101, 101)},
                "yard": {"continuous": (7, 0)},
            }
        )
        c.set_protected(ids[1], False)
        assert c.usage_by_type() == truth(c)
