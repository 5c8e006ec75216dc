"""The health document: built in the supervisor's loop from what each part knows, published
as one immutable ``Health`` that API threads read without touching the supervisor's state."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime

from nvr.config import CameraConfig
from nvr.protocol.codec import to_json
from nvr.protocol.health import (
    CameraStatus,
    CatalogCheck,
    ConfigStatus,
    Health,
    PtzStatus,
    RecordingStatus,
    RecoveryReport,
    StorageStatus,
)
from nvr.supervisor.usage import ProcessUsage
from nvr.supervisor.workers import WorkerHandle


def camera_status(
    cam: CameraConfig,
    handle: WorkerHandle | None,
    now_ns: int,
    local: datetime,
    *,
    manual: bool,
    panic: bool,
    segments: int,
    motion_events: int,
    usage: ProcessUsage | None = None,
    uptime_s: float = 0.0,
) -> CameraStatus:
    """One camera, from its configuration, its worker's last heartbeat and the requests in force."""
    hb = handle.heartbeat if handle else None
    if not cam.enabled:
        state = "disabled"
    elif handle is None:
        state = "stopped"
    elif handle.restart_at is not None:
        state = "restarting"
    elif hb is None:
        state = "starting"
    else:
        state = hb.state
    analysis = (hb.sub or hb.main) if hb else None
    since = hb.recording_since_ns if hb else None
    return CameraStatus(
        id=cam.id,
        name=cam.display_name,
        enabled=cam.enabled,
        state=state,
        pid=handle.pid if handle and handle.running else None,
        restarts=handle.restarts if handle else 0,
        last_exit=handle.last_exit if handle else None,
        error=hb.error if hb else None,
        fps_in=hb.main.fps if hb else 0.0,
        fps_out=analysis.decoded_fps if analysis else 0.0,
        bitrate_bps=hb.main.bitrate_bps if hb else 0.0,
        last_frame_age_s=hb.main.last_age_s if hb else None,
        main=hb.main if hb else None,
        sub=hb.sub if hb else None,
        recording=RecordingStatus(
            active=bool(hb and hb.recording),
            type=hb.recording_type if hb else None,
            since_ns=since,
            duration_s=round((now_ns - since) / 1e9, 1) if since else 0.0,
            error=hb.write_error if hb else None,
        ),
        manual=manual,
        panic=panic,
        motion=bool(hb and hb.motion),
        mode=cam.record.mode,
        armed=cam.record.schedule_active(local),
        motion_alarm=cam.alarms.armed(local),
        ring=hb.ring if hb else None,
        main_ring=hb.main_ring if hb else None,
        uptime_s=round(uptime_s, 1),
        cpu_pct=usage.cpu_pct if usage else None,
        rss_bytes=usage.rss_bytes if usage else None,
        segments=segments,
        motion_events=motion_events,
        ptz=_ptz(cam, handle),
    )


def _ptz(cam: CameraConfig, handle: WorkerHandle | None) -> PtzStatus | None:
    """The camera's PTZ as its worker reports it; why there is none yet; None without onvif."""
    if cam.onvif is None:
        return None
    if handle is not None and handle.ptz is not None:
        return handle.ptz
    if handle is None or not handle.running:
        return PtzStatus(error="the camera's worker is not running")
    return PtzStatus(error="connecting to the camera's ONVIF service")


def engine_health(
    cameras: list[CameraStatus],
    *,
    uptime_s: float,
    panic: bool,
    config_status: ConfigStatus,
    recovery: RecoveryReport,
    storage: StorageStatus,
    usage: list[ProcessUsage] | None = None,
    catalog_bytes: int = 0,
    catalog_check: CatalogCheck | None = None,
) -> Health:
    """The whole document: "ok" while every enabled camera is live and can write and the file
    is in force; else "degraded", with each problem named."""
    problems = []
    for camera in cameras:
        if not camera.enabled:
            continue
        if camera.state != "live":
            why = f": {camera.error}" if camera.error else ""
            state = "in error" if camera.state == "error" else camera.state
            problems.append(f"{camera.name or camera.id} is {state}{why}")
        name = camera.name or camera.id
        if camera.recording.error:
            problems.append(f"{name} cannot write: {camera.recording.error}")
        if camera.sub and camera.sub.error:
            blind = (
                "no motion detection, so no motion recording"
                if camera.mode == "motion"
                else ("no motion detection")
            )
            problems.append(f"{name}: {camera.sub.error}; {blind}")
        if camera.main and camera.main.clock_rate:
            problems.append(
                f"{name}: the camera's clock runs {camera.main.clock_rate:.2f}x real time "
                "(recordings are dated by arrival); set its clock or NTP server"
            )
    if catalog_check is not None and not catalog_check.ok:
        problems.append(
            "the catalog's integrity check failed ("
            + "; ".join(catalog_check.problems[:2])
            + "): restore it from a backup (nvr restore)"
        )
    if not config_status.ok:
        problems.append("the last config edit was rejected: " + "; ".join(config_status.errors))
    return Health(
        status="degraded" if problems else "ok",
        problems=tuple(problems),
        pid=os.getpid(),
        uptime_s=round(uptime_s, 1),
        cpu_pct=round(sum(u.cpu_pct for u in usage), 1) if usage else None,
        rss_bytes=sum(u.rss_bytes for u in usage) if usage else None,
        catalog_bytes=catalog_bytes,
        catalog_check=catalog_check,
        panic=panic,
        config=config_status,
        recovery=recovery,
        storage=storage,
        cameras={c.id: c for c in cameras},
    )


class HealthBoard:
    """The latest published ``Health`` and its JSON, encoded once per publication."""

    def __init__(self, first: Health) -> None:
        self._lock = threading.Lock()
        self._health = first
        self._json: bytes | None = None

    def publish(self, health: Health) -> None:
        with self._lock:
            self._health, self._json = health, None

    def latest(self) -> Health:
        with self._lock:
            return self._health

    def latest_json(self) -> bytes:
        with self._lock:
            if self._json is None:
                self._json = json.dumps(to_json(self._health)).encode()
            return self._json
