"""Clips the web server asked the engine for, and the share links that play them (schema 10's
``web_exports`` and ``shares``).

A clip is an engine export job (``POST /api/export``: stream copy, exact start); this store
remembers whose it is and, once made, its files (paths relative to ``<storage>/exports``), so a
user fetches it later and nobody else does. A share link's token is handed out once; only its
SHA-256 is stored, like a session's.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw

from web.accounts import token_hash

_BUSY_TIMEOUT_MS = 5000
_EXPORT_COLUMNS = "job_id, user_name, camera_id, start_ns, end_ns, created_ns, state, files, error"
_SHARE_COLUMNS = (
    "id, job_id, camera_id, start_ns, end_ns, event_id, download, note, created_by, created_ns,"
    " expires_ns, revoked_ns, revoked_by, views, last_view_ns"
)


@dataclass(frozen=True, slots=True)
class Clip:
    """A clip asked for through the web: ``files`` (relative paths and sizes) once made."""

    job_id: str
    user: str
    camera_id: str
    start_ns: int
    end_ns: int
    created_ns: int
    state: str  # queued | running | done | failed
    files: tuple[dict[str, Any], ...]
    error: str
    progress: float = 0.0  # while it is made: the engine's figure, 0..1 (not stored)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.job_id,
            "user": self.user,
            "camera_id": self.camera_id,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "created_ns": self.created_ns,
            "state": self.state,
            "files": [
                {
                    "url": f"/api/v1/exports/{self.job_id}/{n}.mp4",
                    **{k: f[k] for k in f if k != "path"},
                }
                for n, f in enumerate(self.files, 1)
            ],
            "error": self.error,
            "progress": 1.0 if self.state == "done" else self.progress,
        }


@dataclass(frozen=True, slots=True)
class Share:
    id: int
    job_id: str
    camera_id: str
    start_ns: int
    end_ns: int
    event_id: int | None
    download: bool
    note: str
    created_by: str
    created_ns: int
    expires_ns: int
    revoked_ns: int | None
    revoked_by: str | None
    views: int
    last_view_ns: int | None

    def state(self, now_ns: int) -> str:
        if self.revoked_ns is not None:
            return "revoked"
        return "expired" if now_ns >= self.expires_ns else "active"


class Clips:
    """The two tables of one catalog; safe to use from several threads."""

    def __init__(self, catalog_path: Path, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = apsw.Connection(str(catalog_path))
        self._conn.set_busy_timeout(_BUSY_TIMEOUT_MS)
        self._conn.execute("PRAGMA foreign_keys = ON")

    def close(self) -> None:
        self._conn.close()

    # -- clips --------------------------------------------------------------------------------

    def add_clip(self, job_id: str, user: str, camera_id: str, start_ns: int, end_ns: int) -> Clip:
        with self._lock:
            self._conn.execute(
                "INSERT INTO web_exports (job_id, user_name, camera_id, start_ns, end_ns,"
                " created_ns) VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, user, camera_id, start_ns, end_ns, self._clock()),
            )
        found = self.clip(job_id)
        assert found is not None
        return found

    def clip(self, job_id: str) -> Clip | None:
        rows = self._rows(f"SELECT {_EXPORT_COLUMNS} FROM web_exports WHERE job_id = ?", (job_id,))
        return _clip(rows[0]) if rows else None

    def clips(self, user: str | None = None, limit: int = 100) -> list[Clip]:
        """Clips asked for as downloads (not those made for share links), newest first; every
        user's when ``user`` is None."""
        where = "WHERE job_id NOT IN (SELECT job_id FROM shares)"
        params: tuple[str, ...] = ()
        if user is not None:
            where, params = where + " AND user_name = ?", (user,)
        rows = self._rows(
            f"SELECT {_EXPORT_COLUMNS} FROM web_exports {where} ORDER BY created_ns DESC LIMIT ?",
            (*params, limit),
        )
        return [_clip(r) for r in rows]

    def update_clip(
        self, job_id: str, state: str, files: list[dict[str, Any]], error: str = ""
    ) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE web_exports SET state = ?, files = ?, error = ? WHERE job_id = ?",
                (state, json.dumps(files), error[:500], job_id),
            )

    def old_clips(self, before_ns: int) -> list[Clip]:
        """Clips made before ``before_ns`` that no live share plays (their files may go)."""
        rows = self._rows(
            f"SELECT {_EXPORT_COLUMNS} FROM web_exports e WHERE created_ns < ? AND files != '[]'"
            " AND NOT EXISTS (SELECT 1 FROM shares s WHERE s.job_id = e.job_id"
            " AND s.revoked_ns IS NULL AND s.expires_ns > ?)",
            (before_ns, self._clock()),
        )
        return [_clip(r) for r in rows]

    # -- share links ----------------------------------------------------------------------------

    def add_share(
        self,
        job_id: str,
        camera_id: str,
        start_ns: int,
        end_ns: int,
        event_id: int | None,
        download: bool,
        note: str,
        by: str,
        lifetime_ns: int,
    ) -> tuple[Share, str]:
        """A new share link, valid for ``lifetime_ns`` from now, and its token (given out once:
        only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._conn.execute(
                "INSERT INTO shares (token_sha256, job_id, camera_id, start_ns, end_ns, event_id,"
                " download, note, created_by, created_ns, expires_ns)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token_hash(token),
                    job_id,
                    camera_id,
                    start_ns,
                    end_ns,
                    event_id,
                    int(download),
                    note[:200],
                    by,
                    now,
                    now + lifetime_ns,
                ),
            )
            share_id = self._conn.last_insert_rowid()
        found = self.share(share_id)
        assert found is not None
        return found, token

    def share(self, share_id: int) -> Share | None:
        rows = self._rows(f"SELECT {_SHARE_COLUMNS} FROM shares WHERE id = ?", (share_id,))
        return _share(rows[0]) if rows else None

    def share_by_token(self, token: str) -> Share | None:
        if not token or len(token) > 100:
            return None
        rows = self._rows(
            f"SELECT {_SHARE_COLUMNS} FROM shares WHERE token_sha256 = ?", (token_hash(token),)
        )
        return _share(rows[0]) if rows else None

    def shares(self, user: str | None = None, limit: int = 200) -> list[Share]:
        where, params = ("WHERE created_by = ?", (user,)) if user is not None else ("", ())
        rows = self._rows(
            f"SELECT {_SHARE_COLUMNS} FROM shares {where} ORDER BY created_ns DESC LIMIT ?",
            (*params, limit),
        )
        return [_share(r) for r in rows]

    def revoke(self, share_id: int, by: str) -> bool:
        """End a link now; False when it was already revoked or does not exist."""
        with self._lock:
            self._conn.execute(
                "UPDATE shares SET revoked_ns = ?, revoked_by = ?"
                " WHERE id = ? AND revoked_ns IS NULL",
                (self._clock(), by, share_id),
            )
            return self._conn.changes() == 1

    def viewed(self, share_id: int) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE shares SET views = views + 1, last_view_ns = ? WHERE id = ?",
                (self._clock(), share_id),
            )

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())


def _clip(r: tuple[Any, ...]) -> Clip:
    return Clip(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(json.loads(r[7])), r[8])


def _share(r: tuple[Any, ...]) -> Share:
    return Share(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], r[9], r[10], r[11],
                 r[12], r[13], r[14])  # fmt: skip
