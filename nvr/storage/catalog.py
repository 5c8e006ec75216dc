"""Recordings/events catalog: one SQLite file (WAL) written by the supervisor, read by the rest.

Times are integers whose unit is in the name: ``*_ns`` is Unix epoch nanoseconds (wall clock),
``duration_90k`` is media duration in 90 kHz ticks. ``file_path`` is relative to the
recordings folder.
The schema version lives in ``PRAGMA user_version``; ``nvr/storage/migrations/`` holds one file
per version, applied at open, one transaction each. SQLite's errors stay in this module: a write
the disk refuses raises ``CatalogFullError``, anything else that fails to open ``CatalogError``.
See ``docs/catalog.md`` for the design.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Container, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import apsw

from nvr.errors import CatalogError, CatalogFullError
from nvr.protocol.alarms import Alarm
from nvr.storage.migrations import MIGRATIONS

RECORDING_TYPES = ("continuous", "motion", "scheduled", "manual", "panic")

_BUSY_TIMEOUT_MS = 5000

SCHEMA_VERSION: int = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)
class NewRecording:
    """A finished segment file to catalogue."""

    camera_id: str
    start_ns: int
    end_ns: int
    duration_90k: int
    file_path: str
    size_bytes: int
    recording_type: str
    motion_events: int = 0
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    thumbnail_path: str | None = None
    status: str = "ok"  # "repaired": cut after its last complete fragment by recovery


@dataclass(frozen=True, slots=True)
class Recording:
    """One row of ``recordings``; ``motion_events`` is the recorder's count, stored as given."""

    id: int
    camera_id: str
    start_ns: int
    end_ns: int
    duration_90k: int
    file_path: str
    motion_events: int
    size_bytes: int
    thumbnail_path: str | None
    recording_type: str
    video_codec: str | None
    width: int | None
    height: int | None
    status: str
    protected: bool
    created_ns: int


@dataclass(frozen=True, slots=True)
class NewMotionEvent:
    """A motion event; ``end_ns`` is None while it lasts. Boxes are ``(x, y, w, h)`` pixels."""

    camera_id: str
    start_ns: int
    end_ns: int | None
    confidence: float
    boxes: tuple[tuple[int, int, int, int], ...] = ()
    frame_thumbnail: str | None = None  # relative to the recordings folder


@dataclass(frozen=True, slots=True)
class MotionEvent:
    """One row of ``motion_events``; ``recording_id`` is the segment holding ``start_ns``."""

    id: int
    recording_id: int | None
    camera_id: str
    start_ns: int
    end_ns: int | None
    confidence: float
    boxes: tuple[tuple[int, int, int, int], ...]
    frame_thumbnail: str | None


GAP_KINDS = (
    "stream_lost",  # the camera stopped sending, or could not be reached
    "discontinuity",  # its timestamps jumped or its stream parameters changed
    "worker_exit",  # its worker crashed, was killed or hung
    "worker_restart",  # its worker was restarted to apply a config change
    "engine_down",  # the engine was not running
    "disk_full",  # the segment could not be written: the disk was full
    "write_error",  # the segment could not be written: another I/O error
)


@dataclass(frozen=True, slots=True)
class Gap:
    """A time span with no recording for a camera (``end_ns`` None while it lasts)."""

    id: int
    camera_id: str
    start_ns: int
    end_ns: int | None
    cause: str
    kind: str  # one of GAP_KINDS


@dataclass(frozen=True, slots=True)
class Preset:
    """A named PTZ position of a camera."""

    id: int
    camera_id: str
    preset_name: str
    position: dict[str, Any]
    created_ns: int


@dataclass(frozen=True, slots=True)
class ConfigVersion:
    """A configuration the engine put in force (``text`` empty where not asked for)."""

    version: int
    saved_ns: int
    saved_by: str
    note: str
    sha256: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An unprotected recording that retention may delete."""

    id: int
    camera_id: str
    recording_type: str
    start_ns: int
    end_ns: int
    file_path: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Garbage:
    """A deleted recording whose file may still be on disk (``file_path`` as catalogued)."""

    id: int
    camera_id: str
    file_path: str
    size_bytes: int
    created_ns: int


_RECORDING_COLUMNS = ", ".join(Recording.__slots__)
_CANDIDATE_COLUMNS = ", ".join(Candidate.__slots__)
_GARBAGE_COLUMNS = ", ".join(Garbage.__slots__)
_PAGE_ROWS = 4096
_EVENT_COLUMNS = (
    "id, recording_id, camera_id, start_ns, end_ns, confidence, bbox_json, frame_thumbnail"
)
_GAP_COLUMNS = "id, camera_id, start_ns, end_ns, cause, kind"
_ALARM_COLUMNS = ", ".join(Alarm.__slots__)
# No recording is longer (segment_s is at most an hour): a longer row is a clock that jumped,
# and would add a slot row for every 5 minutes of its span.
MAX_SPAN_NS = 31 * 86_400 * 1_000_000_000
SLOT_SCALES_S = (300, 3600)  # the slots of ``timeline_sums`` and ``event_sums`` (schema 4)
# The recorded time per camera, slot and type of the recordings picked by {picked}: each row
# split at slot boundaries, for both scales.
_SLOT_PIECES = """WITH RECURSIVE
pieces (camera_id, recording_type, scale, slot, start_ns, end_ns) AS (
    SELECT camera_id, recording_type, scale, start_ns / (scale * 1000000000), start_ns, end_ns
    FROM recordings, (SELECT 300 AS scale UNION ALL SELECT 3600) WHERE {picked}
    UNION ALL
    SELECT camera_id, recording_type, scale, slot + 1, (slot + 1) * scale * 1000000000, end_ns
    FROM pieces WHERE (slot + 1) * scale * 1000000000 < end_ns
)"""
_SLOT_SUMS = (
    "SELECT camera_id, scale, slot, recording_type,"
    " sum(min(end_ns, (slot + 1) * scale * 1000000000) - start_ns) AS ns"
    " FROM pieces WHERE true GROUP BY camera_id, scale, slot, recording_type"
)


def _slot_pieces(start_ns: int, end_ns: int) -> Iterator[tuple[int, int, int]]:
    """(scale, slot, ns of ``[start_ns, end_ns)`` in it) for every slot of both scales."""
    for scale in SLOT_SCALES_S:
        slot_ns = scale * 1_000_000_000
        at = start_ns
        while at < end_ns:
            slot = at // slot_ns
            upto = min(end_ns, (slot + 1) * slot_ns)
            yield scale, slot, upto - at
            at = upto


def _recording(row: Sequence[Any]) -> Recording:
    values = list(row)
    values[14] = bool(values[14])  # protected
    return Recording(*values)


def _event(row: Sequence[Any]) -> MotionEvent:
    values = list(row)
    values[6] = tuple(tuple(b) for b in json.loads(row[6])) if row[6] else ()  # bbox_json
    return MotionEvent(*values)


def _boxes_json(boxes: Iterable[Iterable[int]]) -> str:
    rows = [[int(v) for v in box] for box in boxes]
    if any(len(r) != 4 for r in rows):
        raise ValueError(f"motion boxes must be (x, y, w, h), got {rows}")
    return json.dumps(rows)


def _span_bound(table: str) -> str:
    return f"(SELECT coalesce(max(end_ns - start_ns), 0) FROM {table})"


def _open_error(path: Path, readonly: bool, exc: BaseException) -> CatalogError:
    """Turn a failure to open ``path`` into a message that names the cause and the fix."""
    if isinstance(exc, apsw.NotADBError | apsw.CorruptError):
        fix = "move it aside (the supervisor then creates a new catalog) or restore a backup"
        return CatalogError(f"catalog {path} is unusable ({exc}); {fix}")
    if isinstance(exc, apsw.BusyError):
        return CatalogError(
            f"catalog {path} stayed locked for {_BUSY_TIMEOUT_MS / 1000:g} s ({exc}); "
            "is another supervisor running? Only one process may write the catalog"
        )
    if readonly:
        fix = "check the path; a read-only open needs a catalog the supervisor has created"
    else:
        fix = "check that the directory exists and is writable by this user"
    reason = (exc.strerror or exc) if isinstance(exc, OSError) else exc
    return CatalogError(f"cannot open catalog {path} ({reason}); {fix}")


class Catalog:
    """The catalog database. The supervisor opens it writable (the one writer); others read-only.

    A ``Catalog`` object is not thread-safe: use each one from a single thread (open one per
    thread that needs it). Writes outside ``transaction()`` commit one call at a time.
    """

    # Why ~40 methods: one per statement the schema needs, grouped by table below. This class is
    # the only place SQL lives and every method shares one connection and transaction model;
    # split by table, each part would need that model too and no query would get simpler.

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        """Open (and when writable: create and migrate) the catalog; CatalogError on failure."""
        self.path = Path(path)
        self._readonly = readonly
        self._conn: apsw.Connection | None = None
        try:
            if readonly:
                flags = apsw.SQLITE_OPEN_READONLY
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                flags = apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
            self._conn = apsw.Connection(str(self.path), flags=flags)
            self._conn.set_busy_timeout(_BUSY_TIMEOUT_MS)
            self._check_version(migrating=not readonly)
            if not readonly:
                self._configure_writer()
                self._migrate()
            self._conn.execute("PRAGMA foreign_keys = ON")
        except (OSError, apsw.Error) as exc:
            self.close()
            raise _open_error(self.path, readonly, exc) from exc
        except CatalogError:
            self.close()
            raise

    @property
    def schema_version(self) -> int:
        """The database's ``PRAGMA user_version``."""
        return self._scalar("PRAGMA user_version")

    def close(self) -> None:
        """Close the connection (idempotent); the last one to close checkpoints the WAL."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Catalog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self, durable: bool = False) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error); nested use joins the outer.

        An inner block adds nothing of its own: its writes commit or roll back with the outer one.
        ``durable``: the commit is on disk when it returns (the WAL is fsynced,
        ``synchronous=FULL``), for a commit that a following file operation relies on across a
        power cut; other commits may lose their last few to one (``synchronous=NORMAL``).
        SQLite reads this setting only outside a transaction, so a durable block inside another
        joins it like any inner block: the outer block must be durable itself.
        """
        conn = self._writer()
        if conn.in_transaction:
            yield
            return
        if durable:
            conn.execute("PRAGMA synchronous = FULL")
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except apsw.BusyError as exc:
                raise _open_error(self.path, False, exc) from exc
            try:
                yield
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:  # SQLite may have rolled back (disk full, I/O error)
                    conn.execute("ROLLBACK")
                if isinstance(exc, apsw.FullError | apsw.IOError):
                    raise CatalogFullError(
                        f"catalog {self.path} cannot write ({exc}); free space on its disk"
                    ) from exc
                raise
        finally:
            if durable:
                with suppress(apsw.Error):  # never hide the error being raised
                    conn.execute("PRAGMA synchronous = NORMAL")

    # -- recordings -------------------------------------------------------------------------

    def add_recording(self, rec: NewRecording) -> int:
        """Insert a segment and link this camera's unlinked events starting in it; return its id.

        ValueError on an invalid field or a ``file_path`` already catalogued.
        """
        if rec.recording_type not in RECORDING_TYPES:
            raise ValueError(f"recording_type {rec.recording_type!r} not in {RECORDING_TYPES}")
        if rec.end_ns < rec.start_ns or rec.duration_90k < 0 or rec.size_bytes < 0:
            raise ValueError(f"negative span, duration or size in {rec}")
        if rec.end_ns - rec.start_ns > MAX_SPAN_NS:
            raise ValueError(f"a recording spans at most 31 days: {rec.file_path!r} spans more")
        path = rec.file_path
        if os.path.isabs(path) or ".." in path.replace("\\", "/").split("/"):
            raise ValueError(
                f"file_path must be relative to the recordings folder: {rec.file_path!r}"
            )
        with self.transaction():
            conn = self._writer()
            try:
                conn.execute(
                    "INSERT INTO recordings (camera_id, start_ns, end_ns, duration_90k, file_path,"
                    " motion_events, size_bytes, thumbnail_path, recording_type, video_codec,"
                    " width, height, status, created_ns)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        rec.camera_id,
                        rec.start_ns,
                        rec.end_ns,
                        rec.duration_90k,
                        rec.file_path,
                        rec.motion_events,
                        rec.size_bytes,
                        rec.thumbnail_path,
                        rec.recording_type,
                        rec.video_codec,
                        rec.width,
                        rec.height,
                        rec.status,
                        time.time_ns(),
                    ),
                )
            except apsw.ConstraintError as exc:
                raise ValueError(f"cannot add {rec.file_path!r}: {exc}") from exc
            rec_id = conn.last_insert_rowid()
            conn.execute(  # inside a range an operator protected (even before it was written)
                "UPDATE recordings SET protected = 1 WHERE id = ? AND EXISTS (SELECT 1 FROM"
                " protected_ranges WHERE camera_id = ? AND start_ns < ? AND end_ns > ?)",
                (rec_id, rec.camera_id, rec.end_ns, rec.start_ns),
            )
            kept_bytes = rec.size_bytes if conn.changes() else 0
            conn.execute(
                "UPDATE motion_events SET recording_id = ? WHERE camera_id = ?"
                " AND start_ns >= ? AND start_ns < ? AND recording_id IS NULL",
                (rec_id, rec.camera_id, rec.start_ns, rec.end_ns),
            )
            conn.executemany(
                "INSERT INTO timeline_sums (camera_id, scale, slot, recording_type, recorded_ns)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT DO UPDATE SET recorded_ns = recorded_ns + excluded.recorded_ns",
                [
                    (rec.camera_id, scale, slot, rec.recording_type, ns)
                    for scale, slot, ns in _slot_pieces(rec.start_ns, rec.end_ns)
                ],
            )
            conn.execute(
                "INSERT INTO camera_usage (camera_id, recordings, size_bytes) VALUES (?, 1, ?)"
                " ON CONFLICT (camera_id) DO UPDATE SET recordings = recordings + 1,"
                " size_bytes = size_bytes + excluded.size_bytes",
                (rec.camera_id, rec.size_bytes),
            )
            conn.execute(
                "INSERT INTO type_usage (camera_id, recording_type, recordings, size_bytes,"
                " protected_bytes) VALUES (?, ?, 1, ?, ?) ON CONFLICT DO UPDATE SET"
                " recordings = recordings + 1, size_bytes = size_bytes + excluded.size_bytes,"
                " protected_bytes = protected_bytes + excluded.protected_bytes",
                (rec.camera_id, rec.recording_type, rec.size_bytes, kept_bytes),
            )
            # A path is in recordings or in garbage, never both: a file catalogued again (an
            # orphan indexed before its garbage row was finished) must not be unlinked later.
            conn.execute("DELETE FROM garbage WHERE file_path = ?", (rec.file_path,))
        return rec_id

    def recordings(
        self,
        camera_id: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[Recording]:
        """Recordings overlapping ``[start_ns, end_ns)`` (either bound optional), by start time
        (newest first when ``descending``), at most ``limit``."""
        sql, params = self._overlap_sql(
            "recordings",
            _RECORDING_COLUMNS,
            camera_id,
            start_ns,
            end_ns,
            open_rows=False,
            limit=limit,
            descending=descending,
        )
        return [_recording(r) for r in self._rows(sql, params)]

    def recording_by_path(self, file_path: str) -> Recording | None:
        """The recording stored at ``file_path`` (relative to the recordings folder), if any."""
        rows = self._rows(
            f"SELECT {_RECORDING_COLUMNS} FROM recordings WHERE file_path = ?", (file_path,)
        )
        return _recording(rows[0]) if rows else None

    def recording(self, recording_id: int) -> Recording | None:
        """The recording with this id, or None."""
        rows = self._rows(
            f"SELECT {_RECORDING_COLUMNS} FROM recordings WHERE id = ?", (recording_id,)
        )
        return _recording(rows[0]) if rows else None

    def set_protected(self, recording_id: int, protected: bool) -> bool:
        """Mark a recording as kept from retention (or not); False when the id is unknown."""
        with self.transaction():
            conn = self._writer()
            sign = 1 if protected else -1
            conn.execute(  # before the flag changes: only a recording whose flag does
                "UPDATE type_usage SET protected_bytes = protected_bytes + ? * r.size_bytes"
                " FROM (SELECT camera_id, recording_type, size_bytes FROM recordings"
                " WHERE id = ? AND protected != ?) AS r WHERE type_usage.camera_id = r.camera_id"
                " AND type_usage.recording_type = r.recording_type",
                (sign, recording_id, int(protected)),
            )
            conn.execute(
                "UPDATE recordings SET protected = ? WHERE id = ?", (int(protected), recording_id)
            )
            return conn.changes() > 0

    def protect_range(
        self, camera_id: str, start_ns: int, end_ns: int, protected: bool, by: str
    ) -> int:
        """Keep ``[start_ns, end_ns)`` of a camera from retention: the recordings overlapping it
        now, and any catalogued later that overlap it (the segment being written). Releasing
        deletes the protected ranges it overlaps and unflags the recordings it overlaps. The
        number of recordings whose flag changed."""
        if end_ns <= start_ns:
            raise ValueError(f"an empty range: {start_ns} to {end_ns}")
        with self.transaction():
            conn = self._writer()
            if protected:
                conn.execute(
                    "INSERT INTO protected_ranges (camera_id, start_ns, end_ns, protected_by,"
                    " created_ns) VALUES (?, ?, ?, ?, ?)",
                    (camera_id, start_ns, end_ns, by, time.time_ns()),
                )
            else:
                conn.execute(
                    "DELETE FROM protected_ranges WHERE camera_id = ? AND start_ns < ?"
                    " AND end_ns > ?",
                    (camera_id, end_ns, start_ns),
                )
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM recordings WHERE camera_id = ? AND start_ns < ?"
                    " AND end_ns > ? AND protected != ?",
                    (camera_id, end_ns, start_ns, int(protected)),
                )
            ]
            return sum(self.set_protected(rid, protected) for rid in ids)

    def protected_ranges(self, camera_id: str | None = None) -> list[tuple[str, int, int, str]]:
        """The protected ranges (camera, start, end, who), by camera and start."""
        where, params = ("WHERE camera_id = ?", (camera_id,)) if camera_id else ("", ())
        return [
            (r[0], r[1], r[2], r[3])
            for r in self._rows(
                "SELECT camera_id, start_ns, end_ns, protected_by FROM protected_ranges"
                f" {where} ORDER BY camera_id, start_ns",
                params,
            )
        ]

    def stats(self) -> dict[str, dict[str, int]]:
        """Per camera: recording count, total bytes, first start and last end (ns)."""
        rows = self._rows(
            "SELECT camera_id, count(*), sum(size_bytes), min(start_ns), max(end_ns)"
            " FROM recordings GROUP BY camera_id ORDER BY camera_id"
        )
        return {
            cam: {"recordings": n, "bytes": total, "first_start_ns": first, "last_end_ns": last}
            for cam, n, total, first, last in rows
        }

    def usage_by_type(self) -> dict[str, dict[str, tuple[int, int]]]:
        """Per camera and recording type: (bytes, protected bytes); O(cameras x types)."""
        out: dict[str, dict[str, tuple[int, int]]] = {}
        for cam, kind, size, protected in self._rows(
            "SELECT camera_id, recording_type, size_bytes, protected_bytes FROM type_usage"
        ):
            out.setdefault(cam, {})[kind] = (size, protected)
        return out

    def bytes_by_camera(self) -> dict[str, int]:
        """Catalogued bytes per camera with recordings; O(cameras), read from ``camera_usage``."""
        return dict(self._rows("SELECT camera_id, size_bytes FROM camera_usage ORDER BY camera_id"))

    # -- retention --------------------------------------------------------------------------

    def deletion_candidates(
        self,
        camera_id: str | None = None,
        recording_type: str | None = None,
        ended_before_ns: int | None = None,
    ) -> Iterator[Candidate]:
        """Unprotected recordings, oldest first (``start_ns``, then id), optionally filtered.

        ``ended_before_ns`` keeps rows with ``end_ns <= ended_before_ns``. Rows are read in
        index-ranged pages, so stopping early reads little and no statement stays open between
        pages. Camera with type uses ``recordings_retention``, camera alone
        ``recordings_camera_start`` and neither ``recordings_start``; none sorts.
        """
        where = ["protected = 0"]
        if camera_id is not None:
            where.append("camera_id = :camera_id")
        if recording_type is not None:
            where.append("recording_type = :recording_type")
        if ended_before_ns is not None:
            where += ["start_ns <= :before", "end_ns <= :before"]
        params: dict[str, Any] = {
            "camera_id": camera_id,
            "recording_type": recording_type,
            "before": ended_before_ns,
            "page": _PAGE_ROWS,
        }
        sql = f"SELECT {_CANDIDATE_COLUMNS} FROM recordings WHERE {' AND '.join(where)}"
        after = " AND (start_ns, id) > (:after_start, :after_id)"
        order = " ORDER BY start_ns, id LIMIT :page"
        rows = self._rows(sql + order, params)
        while rows:
            yield from (Candidate(*r) for r in rows)
            if len(rows) < _PAGE_ROWS:
                return
            params["after_start"], params["after_id"] = rows[-1][3], rows[-1][0]
            rows = self._rows(sql + after + order, params)

    def oldest_unprotected(
        self, need_bytes: int, camera_id: str | None = None, skip: Container[int] = ()
    ) -> list[Candidate]:
        """The oldest unprotected recordings (of one camera or all) totalling ``need_bytes``.

        Rows whose id is in ``skip`` are passed over. Fewer bytes come back when the unprotected
        rows do not add up to ``need_bytes``.
        """
        chosen: list[Candidate] = []
        total = 0
        if need_bytes <= 0:
            return chosen
        for cand in self.deletion_candidates(camera_id):
            if cand.id in skip:
                continue
            chosen.append(cand)
            total += cand.size_bytes
            if total >= need_bytes:
                break
        return chosen

    def move_to_garbage(self, recording_ids: Iterable[int]) -> list[Garbage]:
        """In one transaction, move these recordings' rows to ``garbage``; return the new rows.

        Protected and unknown ids are skipped. The caller then unlinks each file and drops its
        garbage row (``drop_garbage``); see docs/catalog.md for the order. The commit is durable
        before this returns: a power cut after an unlink must not bring the recording row back.
        """
        ids = json.dumps(sorted(set(recording_ids)))
        picked = "id IN (SELECT value FROM json_each(:ids)) AND protected = 0"
        params = {"ids": ids, "now": time.time_ns()}
        with self.transaction(durable=True):
            conn = self._writer()
            conn.execute(
                "UPDATE camera_usage SET recordings = recordings - gone.n,"
                " size_bytes = camera_usage.size_bytes - gone.bytes FROM (SELECT camera_id,"
                f" count(*) AS n, sum(size_bytes) AS bytes FROM recordings WHERE {picked}"
                " GROUP BY camera_id) AS gone WHERE camera_usage.camera_id = gone.camera_id",
                params,
            )
            conn.execute("DELETE FROM camera_usage WHERE recordings <= 0")
            conn.execute(
                "UPDATE type_usage SET recordings = recordings - gone.n,"
                " size_bytes = type_usage.size_bytes - gone.bytes FROM (SELECT camera_id,"
                f" recording_type, count(*) AS n, sum(size_bytes) AS bytes FROM recordings WHERE"
                f" {picked} GROUP BY camera_id, recording_type) AS gone"
                " WHERE type_usage.camera_id = gone.camera_id"
                " AND type_usage.recording_type = gone.recording_type",
                params,
            )
            conn.execute("DELETE FROM type_usage WHERE recordings <= 0")
            conn.execute(
                _SLOT_PIECES.format(picked=picked)
                + " UPDATE timeline_sums SET recorded_ns = recorded_ns - gone.ns FROM ("
                + _SLOT_SUMS
                + ") AS gone WHERE timeline_sums.camera_id = gone.camera_id"
                " AND timeline_sums.scale = gone.scale AND timeline_sums.slot = gone.slot"
                " AND timeline_sums.recording_type = gone.recording_type",
                params,
            )
            conn.execute("DELETE FROM timeline_sums WHERE recorded_ns <= 0")
            rows = self._rows(
                "INSERT INTO garbage (camera_id, file_path, size_bytes, created_ns)"
                f" SELECT camera_id, file_path, size_bytes, :now FROM recordings WHERE {picked}"
                f" ORDER BY id RETURNING {_GARBAGE_COLUMNS}",
                params,
            )
            # Thumbnails go with their recording: its own and its events' (the events stay).
            rows += self._rows(
                "INSERT INTO garbage (camera_id, file_path, size_bytes, created_ns)"
                " SELECT camera_id, thumbnail_path, 0, :now FROM recordings"
                f" WHERE {picked} AND thumbnail_path IS NOT NULL"
                " UNION ALL SELECT camera_id, frame_thumbnail, 0, :now FROM motion_events"
                f" WHERE recording_id IN (SELECT id FROM recordings WHERE {picked})"
                f" AND frame_thumbnail IS NOT NULL RETURNING {_GARBAGE_COLUMNS}",
                params,
            )
            conn.execute(
                "UPDATE motion_events SET frame_thumbnail = NULL"
                f" WHERE recording_id IN (SELECT id FROM recordings WHERE {picked})",
                params,
            )
            conn.execute(f"DELETE FROM recordings WHERE {picked}", params)
        return sorted((Garbage(*r) for r in rows), key=lambda g: g.id)

    def garbage(self, after_id: int = 0, limit: int | None = None) -> list[Garbage]:
        """Garbage rows with ``id > after_id``, by id (at most ``limit``)."""
        return [
            Garbage(*r)
            for r in self._rows(
                f"SELECT {_GARBAGE_COLUMNS} FROM garbage WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, -1 if limit is None else limit),
            )
        ]

    def drop_garbage(self, garbage_ids: Iterable[int]) -> int:
        """Delete garbage rows whose file is gone; returns how many were dropped."""
        with self.transaction():
            conn = self._writer()
            conn.execute(
                "DELETE FROM garbage WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(garbage_ids)),),
            )
            return conn.changes()

    # -- motion events ----------------------------------------------------------------------

    def add_motion_event(self, ev: NewMotionEvent) -> int:
        """Insert an event, linked to this camera's recording holding ``ev.start_ns`` if any.

        When several recordings hold it (overlapping types), the latest-starting one is chosen.
        """
        if ev.end_ns is not None and ev.end_ns < ev.start_ns:
            raise ValueError(f"motion event ends before it starts: {ev}")
        with self.transaction():
            conn = self._writer()
            conn.execute(
                "INSERT INTO motion_events (recording_id, camera_id, start_ns, end_ns, confidence,"
                " bbox_json, frame_thumbnail) VALUES ((SELECT id FROM recordings"
                " WHERE camera_id = :cam AND start_ns <= :t"
                f" AND start_ns > :t - {_span_bound('recordings')} AND end_ns > :t"
                " ORDER BY start_ns DESC, id DESC LIMIT 1),"
                " :cam, :t, :end, :conf, :boxes, :thumb)",
                {
                    "cam": ev.camera_id,
                    "t": ev.start_ns,
                    "end": ev.end_ns,
                    "conf": ev.confidence,
                    "boxes": _boxes_json(ev.boxes),
                    "thumb": ev.frame_thumbnail,
                },
            )
            event_id = conn.last_insert_rowid()
            for scale in SLOT_SCALES_S:
                conn.execute(
                    "INSERT INTO event_sums (camera_id, scale, slot, events) VALUES (?, ?, ?, 1)"
                    " ON CONFLICT DO UPDATE SET events = events + 1",
                    (ev.camera_id, scale, ev.start_ns // (scale * 1_000_000_000)),
                )
            return event_id

    def end_motion_event(
        self, event_id: int, end_ns: int, confidence: float, boxes: Iterable[Iterable[int]]
    ) -> None:
        """Close an event with its final confidence and boxes; LookupError for an unknown id."""
        with self.transaction():
            self._check_end("motion_events", event_id, end_ns)
            self._writer().execute(
                "UPDATE motion_events SET end_ns = ?, confidence = ?, bbox_json = ? WHERE id = ?",
                (end_ns, confidence, _boxes_json(boxes), event_id),
            )

    def motion_events(
        self,
        camera_id: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        recording_id: int | None = None,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[MotionEvent]:
        """Events overlapping ``[start_ns, end_ns)`` (open events last forever), by start time
        (newest first when ``descending``), at most ``limit``."""
        sql, params = self._overlap_sql(
            "motion_events",
            _EVENT_COLUMNS,
            camera_id,
            start_ns,
            end_ns,
            open_rows=True,
            extra=() if recording_id is None else ("recording_id = :recording_id",),
            limit=limit,
            descending=descending,
        )
        params["recording_id"] = recording_id
        return [_event(r) for r in self._rows(sql, params)]

    def set_event_thumbnail(self, event_id: int, thumbnail_path: str) -> None:
        """Name the picture of an event's start (relative to the recordings folder)."""
        with self.transaction():
            self._writer().execute(
                "UPDATE motion_events SET frame_thumbnail = ? WHERE id = ?",
                (thumbnail_path, event_id),
            )

    def set_thumbnail(self, recording_id: int, thumbnail_path: str) -> bool:
        """Name a recording's thumbnail (relative to the recordings folder); False when the
        recording is gone."""
        with self.transaction():
            conn = self._writer()
            conn.execute(
                "UPDATE recordings SET thumbnail_path = ? WHERE id = ?",
                (thumbnail_path, recording_id),
            )
            return conn.changes() > 0

    def without_thumbnail(self, before_ns: int, limit: int) -> list[Recording]:
        """Recordings with no thumbnail yet (and a file) starting before ``before_ns``, newest
        first (``recordings_no_thumbnail``)."""
        return [
            _recording(r)
            for r in self._rows(
                f"SELECT {_RECORDING_COLUMNS} FROM recordings INDEXED BY recordings_no_thumbnail"
                " WHERE thumbnail_path IS NULL AND start_ns < ? AND status != 'missing'"
                " ORDER BY start_ns DESC LIMIT ?",
                (before_ns, limit),
            )
        ]

    def motion_event(self, event_id: int) -> MotionEvent | None:
        rows = self._rows(f"SELECT {_EVENT_COLUMNS} FROM motion_events WHERE id = ?", (event_id,))
        return _event(rows[0]) if rows else None

    # -- the timeline at a glance (schema 4) -------------------------------------------------

    def slot_coverage(
        self, camera_ids: Sequence[str], scale_s: int, first: int, end: int
    ) -> list[tuple[str, int, str, int]]:
        """(camera, slot, recording type, recorded ns) for slots of ``scale_s`` seconds
        (``SLOT_SCALES_S``) in ``[first, end)``."""
        return self._rows(
            "SELECT camera_id, slot, recording_type, recorded_ns FROM timeline_sums"
            " WHERE camera_id IN (SELECT value FROM json_each(?)) AND scale = ?"
            " AND slot >= ? AND slot < ?",
            (json.dumps(list(camera_ids)), scale_s, first, end),
        )

    def slot_events(
        self, camera_ids: Sequence[str], scale_s: int, first: int, end: int
    ) -> list[tuple[str, int, int]]:
        """(camera, slot, motion events starting in it) for slots in ``[first, end)``."""
        return self._rows(
            "SELECT camera_id, slot, events FROM event_sums"
            " WHERE camera_id IN (SELECT value FROM json_each(?)) AND scale = ?"
            " AND slot >= ? AND slot < ?",
            (json.dumps(list(camera_ids)), scale_s, first, end),
        )

    def event_counts(
        self, camera_id: str, start_ns: int, end_ns: int, bucket_ns: int
    ) -> dict[int, int]:
        """Motion events starting in ``[start_ns, end_ns)``, counted per bucket of
        ``bucket_ns`` from ``start_ns`` (bucket index -> count)."""
        return dict(
            self._rows(
                "SELECT (start_ns - :start) / :bucket, count(*) FROM motion_events"
                " WHERE camera_id = :cam AND start_ns >= :start AND start_ns < :end GROUP BY 1",
                {"cam": camera_id, "start": start_ns, "end": end_ns, "bucket": bucket_ns},
            )
        )

    # -- stream gaps ------------------------------------------------------------------------

    def close_dangling(self, now_ns: int) -> tuple[int, int]:
        """Close rows an earlier run left open; returns (events, gaps) closed.

        An event's end is unknown: it ends where it started. A gap lasted until ``now_ns`` (this
        start): nothing was recorded for that camera in between.
        """
        with self.transaction():
            conn = self._writer()
            conn.execute("UPDATE motion_events SET end_ns = start_ns WHERE end_ns IS NULL")
            events = conn.changes()
            conn.execute(
                "UPDATE stream_gaps SET end_ns = max(start_ns, ?) WHERE end_ns IS NULL", (now_ns,)
            )
            return events, conn.changes()

    def start_run(self, now_ns: int) -> tuple[int, int | None, bool]:
        """Record this engine's start; (its run id, when the previous run was last seen alive
        or None, whether that run stopped cleanly)."""
        with self.transaction():
            rows = self._rows(
                "SELECT coalesce(stopped_ns, alive_ns), stopped_ns IS NOT NULL FROM engine_runs"
                " ORDER BY id DESC LIMIT 1"
            )
            conn = self._writer()
            conn.execute(
                "INSERT INTO engine_runs (started_ns, alive_ns) VALUES (?, ?)", (now_ns, now_ns)
            )
            run_id = conn.last_insert_rowid()
        return (run_id, rows[0][0], bool(rows[0][1])) if rows else (run_id, None, True)

    def run_alive(self, run_id: int, now_ns: int, stopped: bool = False) -> None:
        """This run is alive at ``now_ns`` (or stopped then, cleanly)."""
        column = "stopped_ns = :now, alive_ns" if stopped else "alive_ns"
        with self.transaction():
            self._writer().execute(
                f"UPDATE engine_runs SET {column} = :now WHERE id = :id",
                {"now": now_ns, "id": run_id},
            )

    def last_recording_end_ns(self, camera_id: str) -> int | None:
        """The end of the camera's latest recording (None: it has none)."""
        rows = self._rows(
            "SELECT end_ns FROM recordings WHERE camera_id = ? ORDER BY start_ns DESC LIMIT 1",
            (camera_id,),
        )
        return rows[0][0] if rows else None

    def last_covered_ns(self, camera_id: str) -> int | None:
        """The end of the camera's latest recording or closed gap (None: no history)."""
        ends = [
            self._rows(
                f"SELECT end_ns FROM {table} WHERE camera_id = ? AND end_ns IS NOT NULL"
                " ORDER BY start_ns DESC LIMIT 1",  # the latest start: an indexed lookup
                (camera_id,),
            )
            for table in ("recordings", "stream_gaps")
        ]
        return max((rows[0][0] for rows in ends if rows), default=None)

    def add_gap(
        self,
        camera_id: str,
        start_ns: int,
        cause: str,
        end_ns: int | None = None,
        kind: str = "stream_lost",
    ) -> int:
        """Add a gap for a camera, open (it lasts) or closed (``end_ns``; zero-length when no
        time was lost), with its cause in words and its ``kind`` (``GAP_KINDS``); its id."""
        if end_ns is not None and end_ns < start_ns:
            raise ValueError(f"a gap cannot end at {end_ns}, before it starts at {start_ns}")
        if kind not in GAP_KINDS:
            raise ValueError(f"gap kind {kind!r} not in {GAP_KINDS}")
        with self.transaction():
            conn = self._writer()
            conn.execute(
                "INSERT INTO stream_gaps (camera_id, start_ns, end_ns, cause, kind)"
                " VALUES (?, ?, ?, ?, ?)",
                (camera_id, start_ns, end_ns, cause, kind),
            )
            return conn.last_insert_rowid()

    def end_gap(self, gap_id: int, end_ns: int) -> None:
        """Close a gap; LookupError for an unknown id, ValueError if it ends before it starts."""
        with self.transaction():
            self._check_end("stream_gaps", gap_id, end_ns)
            self._writer().execute(
                "UPDATE stream_gaps SET end_ns = ? WHERE id = ?", (end_ns, gap_id)
            )

    def gaps(
        self,
        camera_id: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[Gap]:
        """Gaps overlapping ``[start_ns, end_ns)`` (open gaps last forever), by start time
        (newest first when ``descending``), at most ``limit``."""
        sql, params = self._overlap_sql(
            "stream_gaps",
            _GAP_COLUMNS,
            camera_id,
            start_ns,
            end_ns,
            open_rows=True,
            limit=limit,
            descending=descending,
        )
        return [Gap(*r) for r in self._rows(sql, params)]

    # -- alarms -----------------------------------------------------------------------------

    def save_alarm(self, alarm: Alarm) -> int:
        """Insert an alarm (``id`` 0) or update the row of its id; returns its id."""
        values = {name: getattr(alarm, name) for name in Alarm.__slots__}
        with self.transaction():
            conn = self._writer()
            if alarm.id:
                sets = ", ".join(f"{n} = :{n}" for n in Alarm.__slots__ if n != "id")
                conn.execute(f"UPDATE alarms SET {sets} WHERE id = :id", values)
                return alarm.id
            names = [n for n in Alarm.__slots__ if n != "id"]
            conn.execute(
                f"INSERT INTO alarms ({', '.join(names)})"
                f" VALUES ({', '.join(':' + n for n in names)})",
                values,
            )
            return conn.last_insert_rowid()

    def uncleared_alarms(self) -> list[Alarm]:
        """The alarms not yet cleared, newest first."""
        rows = self._rows(
            f"SELECT {_ALARM_COLUMNS} FROM alarms INDEXED BY alarms_open"
            " WHERE cleared_ns IS NULL ORDER BY raised_ns DESC, id DESC"
        )
        return [Alarm(*r) for r in rows]

    def alarm_log(
        self,
        camera_id: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        limit: int | None = None,
    ) -> list[Alarm]:
        """Alarms raised in ``[start_ns, end_ns)``, newest first, at most ``limit``."""
        where, params = [], {"camera_id": camera_id, "start_ns": start_ns, "end_ns": end_ns}
        if camera_id is not None:
            where.append("camera_id = :camera_id")
        if start_ns is not None:
            where.append("raised_ns >= :start_ns")
        if end_ns is not None:
            where.append("raised_ns < :end_ns")
        sql = f"SELECT {_ALARM_COLUMNS} FROM alarms INDEXED BY alarms_raised"
        sql += (
            " WHERE " + " AND ".join(where) if where else ""
        ) + " ORDER BY raised_ns DESC, id DESC"
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = limit
        return [Alarm(*r) for r in self._rows(sql, params)]

    # -- configuration history ----------------------------------------------------------------

    def add_config_version(self, text: str, sha256: str, saved_ns: int, by: str, note: str) -> int:
        """Record a configuration put in force; returns its version number."""
        with self.transaction(durable=True):
            conn = self._writer()
            conn.execute(
                "INSERT INTO config_versions (saved_ns, saved_by, note, sha256, text)"
                " VALUES (?, ?, ?, ?, ?)",
                (saved_ns, by, note, sha256, text),
            )
            return conn.last_insert_rowid()

    def config_versions(self, limit: int = 100) -> list[ConfigVersion]:
        """The newest configurations first, without their text."""
        rows = self._rows(
            "SELECT version, saved_ns, saved_by, note, sha256 FROM config_versions"
            " ORDER BY version DESC LIMIT ?",
            (limit,),
        )
        return [ConfigVersion(*r) for r in rows]

    def config_version(self, version: int | None = None) -> ConfigVersion | None:
        """One configuration with its text (None: the newest); None if there is no such."""
        rows = self._rows(
            "SELECT version, saved_ns, saved_by, note, sha256, text FROM config_versions"
            + (" WHERE version = ?" if version is not None else " ORDER BY version DESC LIMIT 1"),
            () if version is None else (version,),
        )
        return ConfigVersion(*rows[0]) if rows else None

    # -- PTZ presets ------------------------------------------------------------------------

    def save_preset(self, camera_id: str, name: str, position: dict[str, Any]) -> int:
        """Create or replace the named preset (keeping its id and created_ns); return its id."""
        with self.transaction():
            rows = self._rows(
                "INSERT INTO camera_presets (camera_id, preset_name, ptz_position_json, created_ns)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (camera_id, preset_name)"
                " DO UPDATE SET ptz_position_json = excluded.ptz_position_json RETURNING id",
                (camera_id, name, json.dumps(position, sort_keys=True), time.time_ns()),
            )
            return int(rows[0][0])

    def presets(self, camera_id: str) -> list[Preset]:
        """The camera's presets, by name."""
        rows = self._rows(
            "SELECT id, camera_id, preset_name, ptz_position_json, created_ns FROM camera_presets"
            " WHERE camera_id = ? ORDER BY preset_name",
            (camera_id,),
        )
        return [Preset(i, c, n, json.loads(p) if p else {}, t) for i, c, n, p, t in rows]

    def delete_preset(self, camera_id: str, name: str) -> bool:
        """Delete the named preset; False when there was none."""
        with self.transaction():
            conn = self._writer()
            conn.execute(
                "DELETE FROM camera_presets WHERE camera_id = ? AND preset_name = ?",
                (camera_id, name),
            )
            return conn.changes() > 0

    def sync_presets(self, camera_id: str, presets: dict[str, dict[str, Any]]) -> None:
        """Mirror the presets a camera holds now (name: position): others of it are deleted."""
        with self.transaction():
            conn = self._writer()
            conn.execute(
                "DELETE FROM camera_presets WHERE camera_id = ? AND preset_name NOT IN"
                " (SELECT value FROM json_each(?))",
                (camera_id, json.dumps(list(presets))),
            )
            for name, position in presets.items():
                self.save_preset(camera_id, name, position)

    def file_statuses(self) -> dict[str, str]:
        """Every cataloged file path with its status (for start-up recovery's file scan)."""
        return dict(self._rows("SELECT file_path, status FROM recordings"))

    def mark_missing(self, file_paths: Iterable[str]) -> int:
        """Mark recordings whose file is gone as ``missing``; returns how many rows changed."""
        changed = 0
        with self.transaction():
            conn = self._writer()
            for path in file_paths:
                conn.execute(
                    "UPDATE recordings SET status = 'missing' WHERE file_path = ?", (path,)
                )
                changed += conn.changes()
        return changed

    def copy_to(self, path: Path) -> None:
        """A consistent copy of the whole catalog at ``path`` (SQLite's online backup API), made
        while the engine writes: from one read snapshot (WAL), so the writer never waits."""
        dest = apsw.Connection(str(path))
        try:
            with dest.backup("main", self._connection(), "main") as backup:
                backup.step(-1)
            dest.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        except apsw.Error as err:
            raise CatalogError(f"cannot copy the catalog to {path}: {err}") from err
        finally:
            dest.close()

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check`` lines: ``["ok"]`` when the file is sound."""
        return [r[0] for r in self._rows("PRAGMA integrity_check")]

    # -- internals --------------------------------------------------------------------------

    def _connection(self) -> apsw.Connection:
        if self._conn is None:
            raise CatalogError(f"catalog {self.path} is closed")
        return self._conn

    def _writer(self) -> apsw.Connection:
        if self._readonly:
            raise CatalogError(
                f"catalog {self.path} is open read-only; only the supervisor writes to it"
            )
        return self._connection()

    def _rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self._connection().execute(sql, params).fetchall()

    def _scalar(self, sql: str) -> int:
        return int(self._rows(sql)[0][0])

    def _check_version(self, *, migrating: bool) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"catalog {self.path} has schema version {version}, newer than this software"
                f" supports ({SCHEMA_VERSION}); upgrade the NVR software to open it"
            )
        if version < SCHEMA_VERSION and not migrating:
            raise CatalogError(
                f"catalog {self.path} has schema version {version}, this software needs"
                f" {SCHEMA_VERSION}; start the supervisor once to migrate it"
            )

    def _configure_writer(self) -> None:
        conn = self._connection()
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchall()[0][0]
        if mode != "wal":
            raise CatalogError(
                f"catalog {self.path} cannot use WAL (journal_mode is {mode!r});"
                " keep the catalog on a local filesystem"
            )
        conn.execute("PRAGMA synchronous = NORMAL")

    def _migrate(self) -> None:
        """Apply pending migrations, one transaction each, foreign keys checked before commit."""
        conn = self._connection()
        conn.execute("PRAGMA foreign_keys = OFF")  # lets a migration rebuild a referenced table
        while True:
            with self.transaction():
                version = self.schema_version  # re-read under the write lock
                if version >= SCHEMA_VERSION:
                    return
                try:
                    conn.execute(MIGRATIONS[version])
                    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
                except apsw.Error as exc:
                    raise self._migration_error(version, exc) from exc
                if broken:
                    raise self._migration_error(version, f"foreign key violations {broken[:3]}")
                conn.execute(f"PRAGMA user_version = {version + 1}")

    def _migration_error(self, version: int, cause: object) -> CatalogError:
        return CatalogError(
            f"migration {version + 1} of catalog {self.path} failed ({cause}); it is left at"
            f" schema version {version}: restore a backup or run the previous software version,"
            " and report this bug"
        )

    def _check_end(self, table: str, row_id: int, end_ns: int) -> None:
        rows = self._rows(f"SELECT start_ns FROM {table} WHERE id = ?", (row_id,))
        if not rows:
            raise LookupError(f"no row {row_id} in {table}")
        if end_ns < rows[0][0]:
            raise ValueError(f"{table} row {row_id} cannot end at {end_ns}, before it starts")

    @staticmethod
    def _overlap_sql(
        table: str,
        columns: str,
        camera_id: str | None,
        start_ns: int | None,
        end_ns: int | None,
        *,
        open_rows: bool,
        extra: tuple[str, ...] = (),
        limit: int | None = None,
        descending: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """SELECT rows overlapping ``[start_ns, end_ns)``, with each lower bound index-ranged.

        Closed rows are searched in ``(camera_id, start_ns)`` between ``start_ns - max span`` and
        ``end_ns``; rows still open (``end_ns IS NULL``) come from the small partial index.
        """
        common = list(extra)
        if camera_id is not None:
            common.append("camera_id = :camera_id")
        if end_ns is not None:
            common.append("start_ns < :end_ns")
        params = {"camera_id": camera_id, "start_ns": start_ns, "end_ns": end_ns}
        if start_ns is None:
            branches = [(table, common)]
        else:
            closed = [*common, "end_ns > :start_ns", f"start_ns > :start_ns - {_span_bound(table)}"]
            branches = [(table, closed)]
            if open_rows:
                branches.append((f"{table} INDEXED BY {table}_open", [*common, "end_ns IS NULL"]))
        selects = [
            f"SELECT {columns} FROM {source}" + (f" WHERE {' AND '.join(w)}" if w else "")
            for source, w in branches
        ]
        order = " ORDER BY start_ns DESC, id DESC" if descending else " ORDER BY start_ns, id"
        sql = " UNION ALL ".join(selects) + order
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = limit
        return sql, params
