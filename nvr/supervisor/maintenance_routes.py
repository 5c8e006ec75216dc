"""API routes for the admin's upkeep from a console or the web: backups and the health report.

- ``POST /api/backup``  ``{"with_recordings": false}``: start a backup (``nvr.storage.backup``:
  the config and an online copy of the catalog, with the config history in it) into
  ``<storage>/backups/nvr-backup-<time>.tar``, on a thread of its own while the engine records;
  one at a time (409 while one runs). 202 with the job.
- ``GET /api/backup``   the job (``state`` idle, running, done or failed, ``progress`` text,
  ``archive``, ``files``, ``bytes``, ``seconds``, ``error``) and the archives in the folder
- ``POST /api/restore`` ``{"archive": "nvr-backup-....tar", "by": "who"}``: restore one of the
  archives in that folder (by name only: no other path is taken). The archive is checked whole
  on a thread of its own while the engine records, with its configuration (it must load, and
  keep the same storage and API address); a bad one is refused and nothing changes. Then the
  engine stops its workers, puts the archive back (``nvr.storage.backup.put_back``: the replaced
  catalog and config kept in ``<storage>/before-restore-<time>/``) and starts again on it, its
  recovery reconciling the catalog with the footage on disk. Meanwhile the API answers 503,
  except ``GET /api/backup``, whose ``restore`` tells the job (``checking``, ``restoring``,
  ``done`` or ``failed``, with ``progress``, ``by``, ``kept`` and ``error``). 202 with the job.
- ``GET /api/report``   the health report (``nvr.report``), one self-contained HTML page
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nvr.config import Config, load_config
from nvr.errors import ConflictError, NotFoundError, NvrError, RequestError
from nvr.protocol.commands import load_json
from nvr.protocol.health import Health
from nvr.report import render_report
from nvr.storage.backup import Staged, check_archive, create_backup
from nvr.supervisor.httpserver import Response

log = logging.getLogger(__name__)

BACKUP = "/api/backup"
RESTORE = "/api/restore"
REPORT = "/api/report"
ROUTES = (BACKUP, RESTORE, REPORT)
FOLDER = "backups"
LISTED = 20  # archives listed, newest first


class MaintenanceRoutes:
    def __init__(
        self,
        storage: Path,
        config_file: Path | None,
        config: Callable[[], Config],
        health: Callable[[], Health],
        restart_from: Callable[[Staged, str], None] | None = None,
    ) -> None:
        """``restart_from(staged, by)`` stops the engine, puts ``staged`` back and starts it
        again (``nvr.cli.run``), reporting through ``restored``; None where it cannot."""
        self._folder = storage / FOLDER
        self._storage = storage
        self._config_file = config_file
        self._config = config
        self._health = health
        self._lock = threading.Lock()
        self._job: dict[str, Any] = {"state": "idle"}
        self._thread: threading.Thread | None = None
        self._restart_from = restart_from
        self._restore: dict[str, Any] = {"state": "idle"}

    @staticmethod
    def method(path: str, request_method: str) -> str:
        """``/api/backup`` takes GET and POST, ``/api/restore`` POST, the report GET."""
        if path == RESTORE:
            return "POST"
        return request_method if path == BACKUP and request_method == "POST" else "GET"

    def answer(self, path: str, method: str, body: bytes) -> Response:
        if path == REPORT:
            page = render_report(self._config(), self._health(), "running")
            return Response(200, page.encode(), "text/html; charset=utf-8")
        if path == RESTORE:
            return self._start_restore(body)
        if method == "POST":
            return self._start(body)
        with self._lock:
            job, restore = dict(self._job), dict(self._restore)
        return Response.json(200, {"job": job, "restore": restore, "archives": self._archives()})

    def _start(self, body: bytes) -> Response:
        data = load_json(body or b"{}", "backup request")
        if not isinstance(data, dict) or set(data) - {"with_recordings"}:
            raise RequestError('bad backup request: send {"with_recordings": false}')
        with_recordings = data.get("with_recordings", False)
        if not isinstance(with_recordings, bool):
            raise RequestError("bad backup request: with_recordings is true or false")
        if self._config_file is None:
            raise RequestError("this engine runs without a config file; use nvr backup")
        with self._lock:
            if self._job["state"] == "running":
                raise ConflictError("a backup is running; wait for it (GET /api/backup)")
            if self.restoring:
                raise ConflictError("a restore is under way; wait for it (GET /api/backup)")
            out = self._folder / time.strftime("nvr-backup-%Y%m%d-%H%M%S.tar")
            self._job = {
                "state": "running",
                "archive": str(out),
                "with_recordings": with_recordings,
                "progress": "starting",
                "started_ns": time.time_ns(),
            }
            job = dict(self._job)
        self._thread = threading.Thread(
            target=self._run, args=(out, with_recordings), name="backup", daemon=True
        )
        self._thread.start()
        return Response.json(202, {"job": job})

    def _run(self, out: Path, with_recordings: bool) -> None:
        assert self._config_file is not None
        started = time.monotonic()

        def progress(text: str) -> None:
            with self._lock:
                self._job["progress"] = text

        try:
            self._folder.mkdir(mode=0o700, exist_ok=True)
            summary = create_backup(
                self._config_file,
                self._storage,
                out,
                with_recordings=with_recordings,
                progress=progress,
            )
        except NvrError as err:
            log.error("backup failed: %s", err)
            with self._lock:
                self._job.update(state="failed", error=str(err))
            return
        except Exception as err:  # the thread must report, whatever happened
            log.exception("backup failed")
            with self._lock:
                self._job.update(state="failed", error=f"internal error: {err}")
            return
        seconds = time.monotonic() - started
        log.info(
            "backup written: %s (%d files, %d bytes, %.1f s)",
            out,
            summary.files,
            summary.bytes,
            seconds,
        )
        with self._lock:
            self._job.update(
                state="done",
                progress="done",
                files=summary.files,
                bytes=out.stat().st_size,  # the archive as it lies on disk
                seconds=round(seconds, 2),
            )

    # -- restore ---------------------------------------------------------------------------

    @property
    def restoring(self) -> bool:
        return self._restore["state"] in ("checking", "restoring")

    def _start_restore(self, body: bytes) -> Response:
        data = load_json(body or b"{}", "restore request")
        if (
            not isinstance(data, dict)
            or set(data) - {"archive", "by"}
            or not isinstance(data.get("archive"), str)
            or not isinstance(data.get("by", ""), str)
        ):
            raise RequestError('bad restore request: send {"archive": "nvr-backup-....tar"}')
        name, by = data["archive"], (data.get("by") or "an unnamed client")[:100]
        if self._restart_from is None or self._config_file is None:
            raise RequestError("this engine cannot restore itself; stop it and use nvr restore")
        if name not in {p["name"] for p in self._archives()}:
            raise NotFoundError(
                f"no archive {name[:100]!r} in {self._folder}; pick one of GET /api/backup's"
            )
        with self._lock:
            if self._job["state"] == "running" or self.restoring:
                raise ConflictError("a backup or a restore is under way; wait for it")
            self._restore = {
                "state": "checking",
                "archive": name,
                "by": by,
                "progress": "checking the archive",
                "started_ns": time.time_ns(),
            }
            job = dict(self._restore)
        log.warning("restore of %s asked by %s", name, by)
        self._thread = threading.Thread(
            target=self._check, args=(self._folder / name, by), name="restore", daemon=True
        )
        self._thread.start()
        return Response.json(202, {"restore": job})

    def _check(self, archive: Path, by: str) -> None:
        """Check the archive and its config while the engine records; if sound, hand it to
        the engine to put back between a stop and a start."""
        assert self._restart_from is not None

        def progress(text: str) -> None:
            with self._lock:
                self._restore["progress"] = text

        try:
            staged = check_archive(archive, self._storage, progress=progress)
            try:
                self._same_place(staged)
            except NvrError:
                staged.discard()
                raise
        except NvrError as err:
            log.error("restore of %s refused: %s", archive.name, err)
            self.restored(None, str(err))
            return
        except Exception as err:  # the thread must report, whatever happened
            log.exception("restore of %s failed", archive.name)
            self.restored(None, f"internal error: {err}")
            return
        with self._lock:
            self._restore.update(state="restoring", progress="stopping the engine")
        self._restart_from(staged, by)

    def _same_place(self, staged: Staged) -> None:
        """The archive's config must load, and keep this engine's storage and API address:
        otherwise the console would lose the engine it restored (``nvr restore`` can)."""
        config = load_config(staged.config)
        now = self._config()
        if Path(config.storage.path).resolve() != Path(now.storage.path).resolve():
            raise RequestError(
                f"the archive's config keeps its footage in storage.path {config.storage.path}, "
                f"this engine in {now.storage.path}: stop the engine and use nvr restore"
            )
        if (config.api.host, config.api.port) != (now.api.host, now.api.port):
            raise RequestError(
                f"the archive's config serves the API on {config.api.host}:{config.api.port}, "
                f"this engine on {now.api.host}:{now.api.port}: stop the engine and use nvr "
                "restore"
            )

    def restore_progress(self, text: str) -> None:
        with self._lock:
            self._restore["progress"] = text

    def restored(self, kept: Path | None, error: str | None = None) -> None:
        """The restore's end: done (the replaced catalog and config in ``kept``) or failed."""
        with self._lock:
            self._restore.update(
                state="failed" if error else "done",
                progress="failed" if error else "done",
                finished_ns=time.time_ns(),
                **({"error": error} if error else {"kept": str(kept)}),
            )

    def _archives(self) -> list[dict[str, Any]]:
        try:
            found = sorted(self._folder.glob("nvr-backup-*.tar"), reverse=True)[:LISTED]
            return [
                {
                    "name": p.name,
                    "path": str(p),
                    "bytes": p.stat().st_size,
                    "mtime": p.stat().st_mtime,
                }
                for p in found
            ]
        except OSError:
            return []
