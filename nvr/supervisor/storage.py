"""The storage keeper: room on the disk for the next segment, whatever happens.

It runs retention in bounded passes, holds the reserve file, answers a full disk with an
emergency cleanup, and keeps the figures ``/health`` shows (footage per camera, write rate,
the last warning). It runs in the supervisor's loop thread.
"""

from __future__ import annotations

import errno
import logging
import shutil
import time
from collections import deque
from pathlib import Path

from nvr.clock import Clock
from nvr.config import Config, format_size
from nvr.errors import CatalogError
from nvr.protocol.health import CameraStorage, RetentionReport, StorageStatus
from nvr.storage.catalog import Catalog
from nvr.storage.reserve import StorageReserve
from nvr.storage.retention import apply, collect_garbage, emergency_free, plan

log = logging.getLogger(__name__)

RETENTION_SLICE_S = 0.5  # longest retention work per pass: pipes and acks keep flowing
EMERGENCY_WRITE_S = 180.0  # disk full: free at least this long of writing at the current rate
RESERVE_ADVICE_S = 60.0  # storage.min_free_bytes under this long of writing gets a warning
WRITE_RATE_WINDOW_S = 300.0
MIN_RATE_SPAN_S = 30.0
FOOTAGE_S = 30.0  # per-camera footage figures are read from the catalog at least this often
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class StorageKeeper:
    def __init__(self, root: Path, catalog: Catalog, storage_id: str, clock: Clock) -> None:
        self.root = root
        self.recordings = root / "recordings"
        self.catalog = catalog
        self.storage_id = storage_id
        self.clock = clock
        self.reserve = StorageReserve(root)
        self.reserve.restore()
        self.warning: str | None = None  # until every camera that could not write can again
        self._failing: set[str] = set()  # cameras whose last write failed
        self._advised: int | None = None  # the min_free_bytes last warned about
        self.retention: RetentionReport | None = None
        self.cameras: dict[str, CameraStorage] = {}
        self._footage_at = -FOOTAGE_S  # monotonic: when ``cameras`` was last read
        self._next_pass = 0.0  # monotonic
        self._written: deque[tuple[float, int]] = deque()  # (monotonic, bytes) of closed segments
        self._started = clock.monotonic()

    def run_soon(self) -> None:
        """Run a pass on the next tick (a backlog, a full disk, changed budgets)."""
        self._next_pass = 0.0

    def due(self) -> bool:
        return self.clock.monotonic() >= self._next_pass

    def run_pass(self, config: Config, bitrate_bps: float) -> None:
        """One bounded retention pass; the next one in ``storage.retention_check_s`` (or on the
        next tick while deletions are left over). ``bitrate_bps``: every camera's, now."""
        now = self.clock.monotonic()
        self._advise(config.storage.min_free_bytes, bitrate_bps)
        self.reserve.restore()
        check_s = config.storage.retention_check_s
        self._next_pass = now + check_s
        try:
            collect_garbage(self.catalog, self.recordings)
            free = shutil.disk_usage(self.root).free
            todo = plan(self.catalog, config, self.clock.wall_ns(), free)
            report = apply(self.catalog, self.recordings, todo, max_seconds=RETENTION_SLICE_S)
            self._read_footage(now)
        except Exception:
            log.exception("retention pass failed; retrying in %.0f s", check_s)
            return
        if report.remaining:
            self._next_pass = now
        if self.retention is None or report.unmet != self.retention.unmet:
            for problem in report.unmet:
                log.warning("retention: %s", problem)
        self.retention = report

    def _advise(self, min_free_bytes: int, bitrate_bps: float) -> None:
        """Warn (once per setting) when the free-space reserve is under a minute of writing."""
        minute_bytes = int(bitrate_bps * RESERVE_ADVICE_S / 8)
        if min_free_bytes < minute_bytes and min_free_bytes != self._advised:
            self._advised = min_free_bytes
            log.warning(
                "storage.min_free_bytes is %s, less than a minute of writing at the cameras' "
                "current rate (%s): the disk fills up between retention passes; raise it to a "
                "few minutes of writing (at least %s)",
                format_size(min_free_bytes),
                format_size(minute_bytes),
                format_size(3 * minute_bytes),
            )

    def segment_written(self, size_bytes: int) -> None:
        self._written.append((self.clock.monotonic(), size_bytes))

    def write_failed(
        self, camera_id: str, code: int | None, message: str, config: Config, bitrate_bps: float
    ) -> None:
        """A worker could not write: free room at once if the disk is full, and say so."""
        self._failing.add(camera_id)
        if code in DISK_FULL:
            self.reserve.release()  # room for the catalog writes the cleanup needs
            usage = shutil.disk_usage(self.root)
            # Minutes of writing, not a share of the disk: a small disk must not fill up again
            # seconds later (it did every 8 s when a tenth of a 12 MB disk was freed).
            need = max(
                config.storage.min_free_bytes - usage.free, bitrate_bps * EMERGENCY_WRITE_S / 8
            )
            emergency_free(self.catalog, self.recordings, int(need))
            self.run_soon()  # and a normal pass right after
            self.warning = (
                f"storage full at {time.strftime('%Y-%m-%d %H:%M:%S')}: recording resumed after "
                "an emergency cleanup; lower retention or add disk space"
            )
        else:
            self.warning = f"write error on {camera_id}: {message}"

    def segment_opened(self, camera_id: str) -> None:
        """The camera writes again; the warning goes once every camera does."""
        self._failing.discard(camera_id)
        if not self._failing:
            self.warning = None

    def status(
        self, config: Config, writing_bps: float = 0.0, writing: tuple[str, ...] = ()
    ) -> StorageStatus:
        """The storage now; ``writing_bps``: what the recording cameras stream now, the write
        rate until closed segments have covered the rate's window; ``writing``: the segments
        being written (paths under the recordings folder), counted apart."""
        if self.clock.monotonic() - self._footage_at >= FOOTAGE_S:  # the dashboard's figures
            self._read_footage(self.clock.monotonic())
        horizon = self.clock.monotonic() - WRITE_RATE_WINDOW_S
        while self._written and self._written[0][0] < horizon:
            self._written.popleft()
        written = sum(size for _, size in self._written)
        # Over the time since the engine started while that is shorter than the window (else
        # the first minutes would forecast a rate several times too low).
        span_s = max(
            MIN_RATE_SPAN_S, min(WRITE_RATE_WINDOW_S, self.clock.monotonic() - self._started)
        )
        warning = self.warning
        try:
            usage = shutil.disk_usage(self.root)
            free, total, used = usage.free, usage.total, usage.used
        except OSError as err:  # the disk went away: say so, keep supervising
            free = total = used = 0
            warning = f"storage {self.root} cannot be read ({err}); check its disk and mount"
        rate_bps = written * 8 / span_s
        if self.clock.monotonic() - self._started < WRITE_RATE_WINDOW_S:
            # Segments close a segment's length late: the streams tell the rate sooner.
            rate_bps = max(rate_bps, writing_bps)
        daily = rate_bps / 8 * 86400  # bytes a day at this rate
        room = max(0, free - config.storage.min_free_bytes)
        recordings = sum(c.bytes for c in self.cameras.values())
        holds = recordings + room
        if config.storage.max_bytes is not None:
            holds = min(holds, config.storage.max_bytes)
        return StorageStatus(
            path=str(self.root),
            id=self.storage_id,
            free_bytes=free,
            total_bytes=total,
            used_bytes=used,
            min_free_bytes=config.storage.min_free_bytes,
            max_bytes=config.storage.max_bytes,
            recordings_bytes=recordings,
            writing_bytes=sum(file_size(self.root / "recordings" / path) for path in writing),
            cameras=self.cameras,
            write_rate_bps=round(rate_bps, 1),
            days_until_full=round(room / daily, 2) if daily else None,
            days_capacity=round(holds / daily, 2) if daily else None,
            warning=warning,
            retention=self.retention,
        )

    def _read_footage(self, now: float) -> None:
        self._footage_at = now
        try:
            self.cameras = self._footage()
        except CatalogError as err:  # the figures stay as they were; recording goes on
            log.warning("cannot read the footage figures from the catalog: %s", err)

    def _footage(self) -> dict[str, CameraStorage]:
        """Bytes and days of footage kept, per camera (cheap indexed queries)."""
        now_ns = self.clock.wall_ns()
        by_type = self.catalog.usage_by_type()
        out = {}
        for camera_id, used in self.catalog.bytes_by_camera().items():
            oldest = self.catalog.recordings(camera_id, limit=1)
            days = (now_ns - oldest[0].start_ns) / 86400e9 if oldest else 0.0
            kinds = by_type.get(camera_id, {})
            out[camera_id] = CameraStorage(
                bytes=used,
                days_retained=round(days, 3),
                oldest_ns=oldest[0].start_ns if oldest else None,
                bytes_by_type={kind: size for kind, (size, _) in kinds.items()},
                protected_bytes=sum(protected for _, protected in kinds.values()),
            )
        return out


def file_size(path: Path) -> int:
    """A file's size in bytes; 0 when it is gone."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
