"""API routes for the admin's upkeep from a console or the web: backups and the health report.

- ``POST /api/backup``  ``{"with_recordings": false}``: start a backup (``nvr.storage.backup``:
  the config and an online copy of the catalog, with the config history in it) into
  ``<storage>/backups/nvr-backup-<time>.tar``, on a thread of its own while the engine records;
  one at a time (409 while one runs). 202 with the job.
- ``GET /api/backup``   the job (``state`` idle, running, done or failed, ``progress`` text,
  ``archive``, ``files``, ``bytes``, ``seconds``, ``error``) and the archives in the folder
- ``GET /api/report``   the health report (``nvr.report``), one self-contained HTML page

Restoring needs the engine stopped (``nvr restore``): it is not an API route.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nvr.config import Config
from nvr.errors import ConflictError, NvrError, RequestError
from nvr.protocol.commands import load_json
from nvr.protocol.health import Health
from nvr.report import render_report
from nvr.storage.backup import create_backup
from nvr.supervisor.httpserver import Response

log = logging.getLogger(__name__)

BACKUP = "/api/backup"
REPORT = "/api/report"
ROUTES = (BACKUP, REPORT)
FOLDER = "backups"
LISTED = 20  # archives listed, newest first


class MaintenanceRoutes:
    def __init__(
        self,
        storage: Path,
        config_file: Path | None,
        config: Callable[[], Config],
        health: Callable[[], Health],
    ) -> None:
        self._folder = storage / FOLDER
        self._storage = storage
        self._config_file = config_file
        self._config = config
        self._health = health
        self._lock = threading.Lock()
        self._job: dict[str, Any] = {"state": "idle"}
        self._thread: threading.Thread | None = None

    @staticmethod
    def method(path: str, request_method: str) -> str:
        """``/api/backup`` takes GET and POST; the report GET."""
        return request_method if path == BACKUP and request_method == "POST" else "GET"

    def answer(self, path: str, method: str, body: bytes) -> Response:
        if path == REPORT:
            page = render_report(self._config(), self._health(), "running")
            return Response(200, page.encode(), "text/html; charset=utf-8")
        if method == "POST":
            return self._start(body)
        with self._lock:
            job = dict(self._job)
        return Response.json(200, {"job": job, "archives": self._archives()})

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
                bytes=summary.bytes,
                seconds=round(seconds, 2),
            )

    def _archives(self) -> list[dict[str, Any]]:
        try:
            found = sorted(self._folder.glob("nvr-backup-*.tar"), reverse=True)[:LISTED]
            return [{"path": str(p), "bytes": p.stat().st_size} for p in found]
        except OSError:
            return []
