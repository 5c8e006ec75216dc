"""What the System view shows, computed from the engine's health without a window: the storage
dashboard's rows and the disk line, the worker table's rows, and the edits a retention change
sends (``save_config``). Every figure comes from the health just polled; nothing is guessed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from nvr.config import format_size, parse_size
from nvr.protocol.health import CameraStatus, Health, StorageStatus

LOW_DAYS = 3.0  # days until full under which the disk line warns
TYPES = ("continuous", "motion", "scheduled", "manual", "panic")


@dataclass(frozen=True, slots=True)
class StorageRow:
    camera_id: str
    camera: str
    size: str
    days: str
    oldest: str
    rate: str  # what it writes now
    by_type: str
    protected: str


@dataclass(frozen=True, slots=True)
class DiskLine:
    text: str
    level: str  # ok | warn | error


@dataclass(frozen=True, slots=True)
class WorkerRow:
    camera_id: str
    camera: str
    state: str
    level: str  # ok | warn | error | off
    uptime: str
    restarts: str  # count, with the last exit
    fps: str  # in / out
    bitrate: str
    frame_age: str
    cpu: str
    memory: str
    ring: str
    recording: str
    enabled: bool
    recording_now: bool


def size(value: float | None) -> str:
    return "-" if value is None else format_size(int(value))


def duration(seconds: float) -> str:
    """``42 s``, ``12 min``, ``3 h 05``, ``4 d 02 h``."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d}"
    return f"{s // 86400} d {s % 86400 // 3600:02d} h"


def _days(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} d" if value < 10 else f"{value:.0f} d"


def storage_rows(health: Health) -> list[StorageRow]:
    """One row per camera of the config, then any camera whose footage is still kept."""
    storage = health.storage
    names = {c.id: c.name or c.id for c in health.cameras.values()}
    ids = list(health.cameras) + [c for c in storage.cameras if c not in health.cameras]
    rows = []
    for cid in ids:
        kept = storage.cameras.get(cid)
        cam = health.cameras.get(cid)
        writing = cam is not None and cam.recording.active
        rate = f"{cam.bitrate_bps / 8e6:.2f} MB/s" if writing and cam else "not writing"
        by_type = ", ".join(
            f"{kind} {size(n)}" for kind, n in (kept.bytes_by_type if kept else {}).items() if n
        )
        rows.append(
            StorageRow(
                cid,
                names.get(cid, f"{cid} (removed)"),
                size(kept.bytes if kept else 0),
                _days(kept.days_retained) if kept and kept.bytes else "-",
                _when(kept.oldest_ns) if kept and kept.oldest_ns else "-",
                rate,
                by_type or "-",
                size(kept.protected_bytes) if kept and kept.protected_bytes else "-",
            )
        )
    return rows


def disk_line(storage: StorageStatus) -> DiskLine:
    """Free space, reserve, budget and the forecast; warns when space runs short."""
    parts = [
        f"{size(storage.free_bytes)} free of {size(storage.total_bytes)}",
        f"reserve {size(storage.min_free_bytes)}",
        f"recordings {size(storage.recordings_bytes)}"
        + (f" of a {size(storage.max_bytes)} budget" if storage.max_bytes else "")
        + (f" + {size(storage.writing_bytes)} being written" if storage.writing_bytes else ""),
        f"writing {storage.write_rate_bps / 8e6:.2f} MB/s",
    ]
    if storage.days_until_full is not None:
        parts.append(f"full (reserve reached) in {_days(storage.days_until_full)}")
    if storage.days_capacity is not None:
        parts.append(f"holds {_days(storage.days_capacity)} of footage at this rate")
    level = "ok"
    if storage.warning or (storage.retention and storage.retention.unmet):
        level = "error"
        parts.insert(
            0,
            storage.warning
            or "retention cannot meet: "
            + "; ".join(storage.retention.unmet if storage.retention else ()),
        )
    elif storage.free_bytes < storage.min_free_bytes:
        level = "warn"
        parts.insert(0, "SPACE SHORT: the oldest recordings are being deleted to keep the reserve")
    elif storage.days_until_full is not None and storage.days_until_full < LOW_DAYS:
        level = "warn"
        parts.insert(
            0,
            f"Space runs short: at this rate the reserve is reached in "
            f"{_days(storage.days_until_full)}, then the oldest recordings are deleted",
        )
    return DiskLine(" · ".join(parts), level)


def worker_rows(health: Health) -> list[WorkerRow]:
    return [_worker_row(cam) for cam in health.cameras.values()]


def _worker_row(cam: CameraStatus) -> WorkerRow:
    running = cam.state not in ("disabled", "stopped")
    level = {"live": "ok", "starting": "warn", "reconnecting": "warn", "restarting": "warn"}.get(
        cam.state, "off" if not cam.enabled else "error"
    )
    restarts = str(cam.restarts) + (f" (last: {cam.last_exit})" if cam.last_exit else "")
    state = cam.state + (f": {cam.error}" if cam.error and cam.state != "live" else "")
    recording = "-"
    if cam.recording.error:
        recording = f"cannot write: {cam.recording.error}"
    elif cam.recording.active:
        recording = f"REC {cam.recording.type or ''} {duration(cam.recording.duration_s)}"
    elif running:
        recording = "not recording" + (f" ({cam.mode} mode)" if cam.mode != "continuous" else "")
    return WorkerRow(
        cam.id,
        cam.name or cam.id,
        state,
        level,
        duration(cam.uptime_s) if running and cam.pid else "-",
        restarts,
        f"{cam.fps_in:.1f} / {cam.fps_out:.1f}" if running else "-",
        f"{cam.bitrate_bps / 1e6:.2f} Mb/s" if running else "-",
        f"{cam.last_frame_age_s:.1f} s" if cam.last_frame_age_s is not None else "-",
        f"{cam.cpu_pct:.1f} %" if cam.cpu_pct is not None else "-",
        size(cam.rss_bytes),
        "publishing" if cam.ring else "-",
        recording,
        cam.enabled,
        cam.recording.active,
    )


def engine_line(health: Health) -> str:
    cpu = f"{health.cpu_pct:.0f} % of a core" if health.cpu_pct is not None else "CPU -"
    return (
        f"Engine: {health.status}, up {duration(health.uptime_s)}, {cpu}, "
        f"memory {size(health.rss_bytes)}, catalog {size(health.catalog_bytes)}, "
        f"config version {health.config.version or '-'}"
        + (f" by {health.config.saved_by}" if health.config.saved_by else "")
        + (
            f"; NEEDS AN ENGINE RESTART for {', '.join(health.config.needs_restart)}"
            if health.config.needs_restart
            else ""
        )
    )


def _when(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ns / 1e9))


# -- retention edits -----------------------------------------------------------------------


def retention_edits(
    config: dict[str, Any], camera_id: str, days: str, budget: str
) -> list[dict[str, Any]]:
    """The ``save_config`` edits that set a camera's days kept and byte budget, as typed (empty:
    no limit); ``ValueError`` naming a field that is not a number or a size."""
    days = days.strip()
    budget = budget.strip()
    if days and not (days.isdigit() and int(days) > 0):
        raise ValueError(f"days kept must be a whole number of days, or empty; not {days!r}")
    try:
        budget_bytes = parse_size(budget) if budget else None
    except ValueError as err:
        raise ValueError(f"budget: {err}") from None
    cameras = {c["id"]: c for c in config.get("cameras", [])}
    if camera_id not in cameras:
        raise ValueError(f"{camera_id} is not in the configuration any more")
    path = ["cameras", camera_id, "retention"]
    return [
        {"path": [*path, "max_days"], "value": int(days) if days else None},
        {"path": [*path, "max_bytes"], "value": budget if budget_bytes else None},
    ]
