"""An index of the engine's JSON-lines logs, so a query never re-reads every file.

The log files (``supervisor.log``, ``worker-<camera>.log`` and their rotated days) are read
incrementally into ``<log dir>/index.db``: one row per entry (time, level, camera, component,
message) and a full-text index (SQLite FTS5) of the messages. Each file is followed by its inode
and the offset read so far, so a rotation (the file renamed, a new one begun) loses and repeats
nothing; a file that shrank was replaced and is read again from its start. Entries of files
retention deleted are dropped with them.

The index is a cache: deleting ``index.db`` rebuilds it from the files at the next query.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import apsw

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
MAX_LIMIT = 10_000
_BATCH_BYTES = 8 << 20
_WORKER_FILE = re.compile(r"^worker-(?P<camera>.+?)\.log")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    file TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    level INTEGER NOT NULL,
    camera TEXT NOT NULL,
    component TEXT NOT NULL,
    message TEXT NOT NULL,
    exception TEXT
);
CREATE INDEX IF NOT EXISTS entries_time ON entries (ts_ns);
CREATE INDEX IF NOT EXISTS entries_file ON entries (file);
CREATE VIRTUAL TABLE IF NOT EXISTS entries_text USING fts5(
    message, content='entries', content_rowid='id'
);
CREATE TABLE IF NOT EXISTS files (
    name TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    offset INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    ts_ns: int
    level: str
    camera_id: str  # "" for the supervisor
    component: str  # the logger, e.g. "nvr.supervisor.loop"
    message: str
    exception: str | None = None


class LogIndex:
    """The index of one log folder; thread-safe (one connection, behind a lock)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._lock = threading.Lock()
        log_dir.mkdir(parents=True, exist_ok=True)
        self._conn = apsw.Connection(str(log_dir / "index.db"))
        self._conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF")
        self._conn.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def update(self) -> int:
        """Read what the log files gained since the last update; the entries added."""
        with self._lock:
            added = 0
            present = set()
            # Oldest first: a rotated file is recognised (by inode) before its successor takes
            # its name.
            paths = [p for p in self.log_dir.glob("*.log*") if p.is_file()]
            for path in sorted(paths, key=lambda p: (p.stat().st_mtime, p.name)):
                present.add(path.name)
                added += self._follow(path)
            self._forget(present)
            return added

    def query(
        self,
        *,
        level: str | None = None,
        camera_id: str | None = None,
        component: str | None = None,
        text: str | None = None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        limit: int = 500,
    ) -> list[LogEntry]:
        """Entries at ``level`` or above, of a camera ("" the supervisor), a component (a logger
        name prefix), containing every word of ``text`` (prefixes match), in a time range;
        newest first."""
        where: list[str] = []
        params: dict[str, int | str] = {}
        if level is not None:
            where.append("e.level >= :level")
            params["level"] = LEVELS[level]
        if camera_id is not None:
            where.append("e.camera = :camera")
            params["camera"] = camera_id
        if component:
            where.append("e.component >= :component AND e.component < :component_end")
            params["component"], params["component_end"] = component, component + "\uffff"
        if since_ns is not None:
            where.append("e.ts_ns >= :since")
            params["since"] = since_ns
        if until_ns is not None:
            where.append("e.ts_ns < :until")
            params["until"] = until_ns
        source = "entries AS e"
        words = _fts_query(text or "")
        if words:
            source = "entries_text JOIN entries AS e ON e.id = entries_text.rowid"
            where.append("entries_text MATCH :words")
            params["words"] = words
        sql = (
            "SELECT e.id, e.ts_ns, e.level, e.camera, e.component, e.message, e.exception"
            f" FROM {source}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY e.ts_ns DESC, e.id DESC LIMIT :limit"
        )
        params["limit"] = max(1, min(limit, MAX_LIMIT))
        names = {v: k for k, v in LEVELS.items()}
        with self._lock:
            rows = list(self._conn.execute(sql, params))
        return [
            LogEntry(i, ts, names.get(lv, str(lv)), cam, comp, msg, exc)
            for i, ts, lv, cam, comp, msg, exc in rows
        ]

    # -- internals ---------------------------------------------------------------------------

    def _follow(self, path: Path) -> int:
        stat = path.stat()
        known = list(
            self._conn.execute("SELECT name, offset FROM files WHERE inode = ?", (stat.st_ino,))
        )
        name, offset = known[0] if known else (path.name, 0)
        if name != path.name:  # rotated: the same file under its day's name
            self._conn.execute(
                "UPDATE files SET name = ? WHERE inode = ?", (path.name, stat.st_ino)
            )
            self._conn.execute("UPDATE entries SET file = ? WHERE file = ?", (path.name, name))
        if stat.st_size < offset:  # replaced by a shorter file: read it again
            self._conn.execute("DELETE FROM entries WHERE file = ?", (path.name,))
            offset = 0
        if stat.st_size == offset:
            return 0
        camera = m["camera"] if (m := _WORKER_FILE.match(path.name)) else ""
        added = 0
        with open(path, "rb") as fh:
            fh.seek(offset)
            while True:
                chunk = fh.read(_BATCH_BYTES)
                end = chunk.rfind(b"\n") + 1  # a line being written waits for the next update
                if end == 0:
                    break
                fh.seek(offset + end)
                offset += end
                with self._conn:
                    added += self._insert(path.name, camera, chunk[:end])
                    self._conn.execute(
                        "INSERT INTO files (name, inode, offset) VALUES (?, ?, ?) ON CONFLICT"
                        " (name) DO UPDATE SET inode = excluded.inode, offset = excluded.offset",
                        (path.name, stat.st_ino, offset),
                    )
                if len(chunk) < _BATCH_BYTES:
                    break
        return added

    def _insert(self, file: str, camera: str, data: bytes) -> int:
        added = 0
        for line in data.splitlines():
            try:
                entry = json.loads(line)
                ts_ns = _ts_ns(entry["ts"])
                level = LEVELS.get(entry.get("level", "INFO"), 20)
                message = str(entry.get("message", ""))
            except (ValueError, KeyError, TypeError):
                continue  # not one of ours (a partial line from a crash): skipped
            self._conn.execute(
                "INSERT INTO entries (file, ts_ns, level, camera, component, message, exception)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    file,
                    ts_ns,
                    level,
                    str(entry.get("camera_id") or camera),
                    str(entry.get("logger", "")),
                    message,
                    entry.get("exception"),
                ),
            )
            self._conn.execute(
                "INSERT INTO entries_text (rowid, message) VALUES (last_insert_rowid(), ?)",
                (message,),
            )
            added += 1
        return added

    def _forget(self, present: set[str]) -> None:
        """Drop the entries of files that are gone (log retention deleted them)."""
        gone = [n for (n,) in self._conn.execute("SELECT name FROM files") if n not in present]
        for name in gone:
            with self._conn:
                ids = [
                    i
                    for (i,) in self._conn.execute("SELECT id FROM entries WHERE file = ?", (name,))
                ]
                for entry_id in ids:
                    self._conn.execute(
                        "INSERT INTO entries_text (entries_text, rowid, message) SELECT"
                        " 'delete', id, message FROM entries WHERE id = ?",
                        (entry_id,),
                    )
                self._conn.execute("DELETE FROM entries WHERE file = ?", (name,))
                self._conn.execute("DELETE FROM files WHERE name = ?", (name,))


def _ts_ns(text: str) -> int:
    """A log line's local time stamp (``2026-12-05T14:03:07.250``) as epoch nanoseconds."""
    moment = datetime.fromisoformat(text)
    return int(moment.timestamp() * 1_000_000) * 1000


def _fts_query(text: str) -> str:
    """Every word of ``text`` as a quoted prefix term: user text is never FTS5 syntax."""
    words = re.findall(r"\w+", text)
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words[:16])
