"""Thumbnails for the recordings that have none (recovered, older, imported segments).

A background thread walks the catalog's recordings without a thumbnail, newest first, and
makes each from its segment's first keyframe (keyframes only are decoded); it reads the catalog
through its own read-only connection. The supervisor's loop (the one writer) names each new
thumbnail in the catalog at its next turn (``collect``). A segment whose thumbnail cannot be
made is skipped until the next sweep; a sweep starts at engine start and then every
``SWEEP_S``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from pathlib import Path

import av

from nvr.errors import CatalogError
from nvr.storage import thumbnails
from nvr.storage.catalog import Catalog

log = logging.getLogger(__name__)

SWEEP_S = 300.0
BATCH = 32
PAUSE_S = 0.02  # between two segments: the backfill yields the CPU to the cameras


class ThumbnailBackfill:
    def __init__(self, catalog_path: Path, recordings: Path) -> None:
        self.catalog_path = catalog_path
        self.recordings = recordings
        self.made = 0  # thumbnails made since start
        self._done: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="thumbnail-backfill", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def collect(self, catalog: Catalog) -> int:
        """Name the thumbnails made since the last call in the catalog; how many."""
        named = 0
        while True:
            try:
                recording_id, rel = self._done.get_nowait()
            except queue.Empty:
                return named
            if catalog.set_thumbnail(recording_id, rel):
                named += 1
            else:  # deleted by retention meanwhile: its picture goes too
                with contextlib.suppress(OSError):
                    (self.recordings / rel).unlink()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with Catalog(self.catalog_path, readonly=True) as catalog:
                    self._sweep(catalog)
            except CatalogError as err:
                log.warning("thumbnail backfill: %s", err)
            self._stop.wait(SWEEP_S)

    def _sweep(self, catalog: Catalog) -> None:
        before = 2**63 - 1
        while not self._stop.is_set():
            rows = catalog.without_thumbnail(before, BATCH)
            if not rows:
                return
            for rec in rows:
                if self._stop.is_set():
                    return
                rel = thumbnails.segment_thumbnail(rec.file_path)
                if not (self.recordings / rel).exists():
                    try:
                        jpeg = thumbnails.from_segment(self.recordings / rec.file_path)
                        thumbnails.write(self.recordings, rel, jpeg)
                    except (OSError, ValueError, av.error.FFmpegError) as err:
                        log.info("no thumbnail for %s: %s", rec.file_path, err)
                        continue
                    self.made += 1
                    time.sleep(PAUSE_S)
                self._done.put((rec.id, rel))
            before = rows[-1].start_ns
