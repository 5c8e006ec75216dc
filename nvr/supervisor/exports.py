"""Export jobs for the API: clips made in the background, one job at a time.

``POST /api/export`` queues a job (``ExportJobs.submit``); one thread runs them in order with
its own read-only catalog, so an export never holds up recording, the supervisor or other API
requests. ``GET /api/export/{id}`` reports a job's state, progress and files. Clips go to
``<storage>/exports/<job id>/<camera>.mp4`` with their reports. Jobs are kept in memory (the
last ``KEEP_JOBS``); the files stay until someone deletes them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from nvr.errors import EngineBusyError, NvrError
from nvr.storage.catalog import Catalog
from nvr.storage.export import export_clip

log = logging.getLogger(__name__)

KEEP_JOBS = 32
MAX_QUEUED = 4


@dataclass(slots=True)
class ExportJob:
    id: str
    camera_ids: list[str]
    start_ns: int
    end_ns: int
    created_ns: int
    state: str = "queued"  # queued | running | done | failed
    progress: float = 0.0  # 0..1, over all its cameras
    files: list[dict[str, object]] = field(default_factory=list)
    gaps: list[dict[str, object]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    folder: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "camera_ids": self.camera_ids,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "created_ns": self.created_ns,
            "state": self.state,
            "progress": round(self.progress, 3),
            "folder": self.folder,
            "files": self.files,
            "gaps": self.gaps,
            "errors": self.errors,
        }


class ExportJobs:
    """Thread-safe: the API's threads submit and read; one thread of its own exports."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self._jobs: dict[str, ExportJob] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[ExportJob | None] = queue.Queue()
        self._count = 0
        self._thread: threading.Thread | None = None

    def submit(self, camera_ids: list[str], start_ns: int, end_ns: int) -> ExportJob:
        with self._lock:
            if self._queue.qsize() >= MAX_QUEUED:
                raise EngineBusyError(f"{MAX_QUEUED} exports are waiting; try again later")
            self._count += 1
            job_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{self._count}"
            job = ExportJob(job_id, camera_ids, start_ns, end_ns, time.time_ns())
            self._jobs[job_id] = job
            for old in list(self._jobs)[:-KEEP_JOBS]:
                if self._jobs[old].state in ("done", "failed"):
                    del self._jobs[old]
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="exports", daemon=True)
                self._thread.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> dict[str, object] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.to_json() if job is not None else None

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)  # an export running on is abandoned (.part left)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._export(job)
            except Exception as err:  # a failed job says why; the API keeps serving
                log.exception("export %s failed", job.id)
                with self._lock:
                    job.state, job.errors = "failed", [*job.errors, f"internal error: {err}"]

    def _export(self, job: ExportJob) -> None:
        folder = self.storage / "exports" / job.id
        with self._lock:
            job.state, job.folder = "running", str(folder)
        share = 1 / len(job.camera_ids)
        recordings = self.storage / "recordings"
        with Catalog(self.storage / "catalog.db", readonly=True) as catalog:
            for n, camera_id in enumerate(job.camera_ids):

                def progress(fraction: float, n: int = n) -> None:
                    with self._lock:
                        job.progress = (n + fraction) * share

                try:
                    clip = export_clip(
                        catalog,
                        recordings,
                        camera_id,
                        job.start_ns,
                        job.end_ns,
                        folder / f"{camera_id}.mp4",
                        progress,
                    )
                except NvrError as err:
                    with self._lock:
                        job.errors.append(str(err))
                    continue
                with self._lock:
                    job.files += [
                        {
                            "camera_id": camera_id,
                            "path": str(f.path),
                            "start_ns": f.start_ns,
                            "end_ns": f.end_ns,
                            "frames": f.frames,
                            "size_bytes": f.size_bytes,
                        }
                        for f in clip.files
                    ]
                    job.files.append(
                        {"camera_id": camera_id, "path": str(clip.report), "report": True}
                    )
                    job.gaps += [
                        {"camera_id": camera_id, "start_ns": s, "end_ns": e, "why": why}
                        for s, e, why in clip.holes
                    ]
        with self._lock:
            job.progress = 1.0
            job.state = "done" if any("frames" in f for f in job.files) else "failed"
        log.info("export %s %s: %d file(s)", job.id, job.state, len(job.files))
