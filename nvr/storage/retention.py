"""Retention: which recordings to delete (``plan``) and deleting them crash-safely (``apply``).

No threads and no clock of its own: the supervisor, the catalog's one writer, calls these on its
thread and passes the time and the disk's free bytes. Protected recordings are never deleted.
Deletion order (survives a crash at any line, see docs/catalog.md): in one transaction the rows
move from ``recordings`` to ``garbage``; then the files are unlinked and their directories
fsynced; then the garbage rows are dropped. ``collect_garbage`` finishes what a crash left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nvr.config import Config, RetentionConfig, format_size
from nvr.protocol.health import RetentionReport
from nvr.storage.catalog import RECORDING_TYPES, Candidate, Catalog, Garbage
from nvr.storage.durable import fsync_dir

log = logging.getLogger(__name__)

REASONS = ("age", "camera_budget", "global_budget", "free_space", "emergency")
BATCH_ROWS = 1000  # recordings moved to garbage per transaction, then unlinked
_DAY_NS = 86_400 * 1_000_000_000
_MAX_ERRORS = 10  # error lines kept in a report; the rest are counted
_DEFAULT_RETENTION = RetentionConfig()  # for recordings of cameras no longer configured


@dataclass(frozen=True, slots=True)
class Deletion:
    """A recording to delete and the rule that chose it (one of ``REASONS``)."""

    recording: Candidate
    reason: str


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """Deletions, oldest first, and the goals that protected recordings keep from being met."""

    deletions: tuple[Deletion, ...]
    unmet: tuple[str, ...] = ()

    @property
    def size_bytes(self) -> int:
        """Catalogued bytes of the planned deletions."""
        return sum(d.recording.size_bytes for d in self.deletions)


def plan(catalog: Catalog, config: Config, now_ns: int, free_bytes: int) -> RetentionPlan:
    """What to delete now and why; never a protected recording.

    Rules, each on what the earlier ones left, each taking the oldest unprotected recordings:
    ``age`` (per camera and recording type: ended more than ``days_for(type)`` days before
    ``now_ns``), ``camera_budget`` (a camera's catalogued bytes over its ``max_bytes``),
    ``global_budget`` (all catalogued bytes over ``storage.max_bytes``) and ``free_space``
    (``free_bytes`` under ``storage.min_free_bytes``, counting planned deletions as freed).
    Cameras in the catalog but not in ``config`` keep the default ``RetentionConfig``.
    """
    usage = catalog.bytes_by_camera()
    configured = {cam.id: cam.retention for cam in config.cameras}
    policies = {cam: configured.get(cam, _DEFAULT_RETENTION) for cam in usage}
    chosen: dict[int, Deletion] = {}
    freed = dict.fromkeys(usage, 0)
    unmet: list[str] = []

    def take(candidates: Iterable[Candidate], reason: str) -> int:
        total = 0
        for cand in candidates:
            chosen[cand.id] = Deletion(cand, reason)
            freed[cand.camera_id] += cand.size_bytes
            total += cand.size_bytes
        return total

    def make_room(need: int, camera_id: str | None, reason: str, goal: str, fix: str) -> None:
        if need <= 0:
            return
        short = need - take(catalog.oldest_unprotected(need, camera_id, skip=chosen), reason)
        if short > 0:
            unmet.append(
                f"{goal}, and no unprotected recording is left to delete ({format_size(short)} "
                f"short): unprotect recordings or {fix}"
            )

    for cam, policy in policies.items():
        for recording_type in RECORDING_TYPES:
            days = policy.days_for(recording_type)
            if days is not None:
                cutoff = now_ns - days * _DAY_NS
                take(catalog.deletion_candidates(cam, recording_type, cutoff), "age")
    for cam, policy in policies.items():
        if policy.max_bytes is not None:
            make_room(
                usage[cam] - freed[cam] - policy.max_bytes,
                cam,
                "camera_budget",
                f"camera {cam} is over its retention.max_bytes of {format_size(policy.max_bytes)}",
                "raise that camera's retention.max_bytes",
            )
    storage = config.storage
    if storage.max_bytes is not None:
        make_room(
            sum(usage.values()) - sum(freed.values()) - storage.max_bytes,
            None,
            "global_budget",
            f"recordings are over storage.max_bytes of {format_size(storage.max_bytes)}",
            "raise storage.max_bytes",
        )
    make_room(
        storage.min_free_bytes - free_bytes - sum(freed.values()),
        None,
        "free_space",
        f"the disk has {format_size(free_bytes)} free, under storage.min_free_bytes of "
        f"{format_size(storage.min_free_bytes)}",
        "free space on the disk or lower storage.min_free_bytes",
    )
    deletions = sorted(chosen.values(), key=lambda d: (d.recording.start_ns, d.recording.id))
    return RetentionPlan(tuple(deletions), tuple(unmet))


def apply(
    catalog: Catalog,
    recordings_root: Path,
    plan: RetentionPlan,
    *,
    max_seconds: float | None = None,
) -> RetentionReport:
    """Delete the planned recordings in garbage-table order, ``BATCH_ROWS`` at a time.

    Recordings protected (or deleted) since the plan was made are skipped. A missing file is
    fine. A file that cannot be unlinked (EACCES, EIO) is reported and its garbage row kept, so
    the next ``collect_garbage`` retries it. ``errors`` also carries the plan's unmet goals.
    With ``max_seconds``, no batch starts after that long; the rest is left for the next pass.
    """
    started = time.perf_counter()
    by_reason: dict[str, int] = {}
    errors = list(plan.unmet)
    deleted = freed = attempted = 0
    while attempted < len(plan.deletions):
        if max_seconds is not None and time.perf_counter() - started >= max_seconds:
            break
        batch = plan.deletions[attempted : attempted + BATCH_ROWS]
        attempted += len(batch)
        reasons = {d.recording.file_path: d.reason for d in batch}
        moved = catalog.move_to_garbage(d.recording.id for d in batch)
        for row in moved:
            reason = reasons.get(row.file_path)
            if reason is None:  # the recording's thumbnail or one of its events'
                continue
            by_reason[reason] = by_reason.get(reason, 0) + 1
            freed += row.size_bytes
            deleted += 1
        _finish(catalog, recordings_root, moved, errors)
    report = RetentionReport(
        deleted,
        freed,
        by_reason,
        _trimmed(errors),
        round(time.perf_counter() - started, 3),
        len(plan.deletions) - attempted,
        plan.unmet,
    )
    if deleted:
        log.info(
            "retention: deleted %d recording(s), %s, in %.2f s (%s)",
            deleted,
            format_size(freed),
            report.seconds,
            ", ".join(f"{n} {reason}" for reason, n in sorted(by_reason.items())),
        )
    if report.remaining:
        log.info("retention: %d planned deletion(s) left for the next pass", report.remaining)
    for error in report.errors:
        log.error("retention: %s", error)
    return report


def collect_garbage(catalog: Catalog, recordings_root: Path) -> int:
    """Finish deletions an earlier pass or a crash left in ``garbage``; returns rows finished.

    Run it at start before anything indexes orphan files (a file still listed in garbage is
    not an orphan), and before each retention pass to retry files that could not be unlinked.
    """
    errors: list[str] = []
    finished = after_id = 0
    while rows := catalog.garbage(after_id, BATCH_ROWS):
        finished += _finish(catalog, recordings_root, rows, errors)
        after_id = rows[-1].id
    if finished:
        log.info("retention: finished %d deletion(s) left in the garbage table", finished)
    for error in _trimmed(errors):
        log.error("retention: %s", error)
    return finished


def emergency_free(catalog: Catalog, recordings_root: Path, need_bytes: int) -> RetentionReport:
    """Disk full (ENOSPC): delete the oldest unprotected recordings of any camera.

    Deletes until ``need_bytes`` of catalogued bytes are gone, whatever the retention settings,
    and reports it when only protected recordings are left.
    """
    picked = catalog.oldest_unprotected(need_bytes)
    short = need_bytes - sum(c.size_bytes for c in picked)
    unmet = (
        (
            f"the disk is full and no unprotected recording is left to delete "
            f"({format_size(short)} short of {format_size(need_bytes)}): unprotect recordings or "
            "free space on the disk",
        )
        if short > 0
        else ()
    )
    log.warning(
        "retention: disk full; deleting the oldest %s of recordings", format_size(need_bytes)
    )
    return apply(
        catalog,
        recordings_root,
        RetentionPlan(tuple(Deletion(c, "emergency") for c in picked), unmet),
    )


def _finish(catalog: Catalog, root: Path, rows: list[Garbage], errors: list[str]) -> int:
    """Unlink the files of these garbage rows, fsync their directories, drop the rows.

    A row is dropped only once its file is gone for good (missing, or unlinked and the directory
    fsynced); a failed unlink or fsync keeps it for the next pass. Returns the rows dropped.
    """
    gone: list[int] = []
    unlinked: dict[Path, list[int]] = {}
    for row in rows:
        path = root / row.file_path
        try:
            path.unlink()
        except FileNotFoundError:
            gone.append(row.id)
        except OSError as err:
            errors.append(
                f"cannot delete {row.file_path} ({err.strerror}); it stays in the garbage table "
                f"and is retried on the next pass: check the disk and the permissions of {root}"
            )
        else:
            unlinked.setdefault(path.parent, []).append(row.id)
    for directory, ids in unlinked.items():
        try:
            fsync_dir(directory)
        except OSError as err:
            errors.append(f"cannot fsync {directory} ({err.strerror}); retried on the next pass")
        else:
            gone += ids
    return catalog.drop_garbage(gone) if gone else 0


def _trimmed(errors: list[str]) -> list[str]:
    """At most ``_MAX_ERRORS`` lines, the rest counted in a last line."""
    if len(errors) <= _MAX_ERRORS:
        return errors
    return [*errors[:_MAX_ERRORS], f"... and {len(errors) - _MAX_ERRORS} more"]
