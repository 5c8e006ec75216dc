"""Catalog maintenance: integrity check, statistics for the query planner, WAL checkpoint.

Runs on a thread of its own with its own connections, every ``EVERY_S`` and when the
``maintain_catalog`` command asks. Nothing in it holds the catalog's write lock for long, so the
loop's writes (segments, events) never wait past a fragment: the integrity check reads from a
snapshot (WAL); ``PRAGMA optimize`` (ANALYZE of what needs it, bounded by ``analysis_limit``)
is one short write; the checkpoint is PASSIVE (it copies what no reader needs and never blocks).
The result goes to the log and to ``/health`` (``catalog_check``).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import apsw

from nvr.protocol.health import CatalogCheck

log = logging.getLogger(__name__)

EVERY_S = 24 * 3600.0
FIRST_AFTER_S = 600.0  # the first run waits for the start-up work to settle
_BUSY_MS = 2000


class CatalogMaintenance:
    """``start``/``stop`` the thread; ``request`` a run now; ``last`` the latest result."""

    def __init__(self, catalog_path: Path) -> None:
        self.catalog_path = catalog_path
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._last: CatalogCheck | None = None
        self._thread = threading.Thread(target=self._run, name="catalog-maintenance", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def request(self) -> None:
        self._wake.set()

    @property
    def last(self) -> CatalogCheck | None:
        with self._lock:
            return self._last

    def run_once(self) -> CatalogCheck:
        """Check, optimise and checkpoint now; the result (also logged)."""
        started, at_ns = time.monotonic(), time.time_ns()
        try:
            problems = self._check()
            self._optimise()
        except apsw.Error as err:
            problems = [f"maintenance failed: {err}"]
        seconds = round(time.monotonic() - started, 2)
        result = CatalogCheck(at_ns, not problems, tuple(problems[:10]), seconds)
        if result.ok:
            log.info(
                "catalog maintenance: integrity ok, statistics and WAL done in %.2f s",
                result.seconds,
            )
        else:
            log.error(
                "catalog maintenance found problems: %s; restore catalog.db from a backup "
                "(nvr restore) or move it aside so recovery rebuilds it",
                "; ".join(result.problems),
            )
        with self._lock:
            self._last = result
        return result

    def _run(self) -> None:
        wait_s = FIRST_AFTER_S
        while not self._stop.is_set():
            self._wake.wait(wait_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.run_once()
            wait_s = EVERY_S

    def _check(self) -> list[str]:
        conn = apsw.Connection(str(self.catalog_path), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            conn.set_busy_timeout(_BUSY_MS)
            lines = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
        return [] if lines == ["ok"] else lines

    def _optimise(self) -> None:
        conn = apsw.Connection(str(self.catalog_path), flags=apsw.SQLITE_OPEN_READWRITE)
        try:
            conn.set_busy_timeout(_BUSY_MS)
            conn.execute("PRAGMA analysis_limit = 1000; PRAGMA optimize")
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()
