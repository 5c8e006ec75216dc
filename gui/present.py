"""What each tile and the status bar say, computed from the engine's health and the live feeds.

Plain functions over plain data (no Dear PyGui), so the wording and the states are unit tested.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

# Tile states, by what the operator must know first.
LIVE = "live"
WAITING = "waiting"  # the camera is live but no picture reached the console yet
STALLED = "stalled"  # pictures stopped arriving
STARTING = "starting"
OFFLINE = "offline"
ERROR = "error"
DISABLED = "disabled"
NO_ENGINE = "no engine"

STALL_S = 3.0
PENDING_TIMEOUT_S = 12.0  # a command with no answer after this long is shown as failed


@dataclass(frozen=True, slots=True)
class Pending:
    """A recording change the operator asked for and the engine has not confirmed yet."""

    active: bool
    asked_at: float  # time.monotonic()


@dataclass(frozen=True, slots=True)
class TileInfo:
    """Everything drawn over one tile."""

    camera_id: str
    title: str
    state: str
    state_label: str  # short badge text, e.g. "LIVE"
    reason: str | None  # shown over the placeholder when there is no live picture
    recording: str | None  # e.g. "REC continuous 12:03", None when not recording
    recording_confirmed: bool  # False while a start/stop waits for the engine's acknowledgement
    panic: bool
    motion: bool
    fps: float

    @property
    def shows_video(self) -> bool:
        return self.state in (LIVE, STALLED)


def format_duration(seconds: float) -> str:
    """``0:05``, ``12:03``, ``1:02:03``."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def _offline_reason(camera: dict[str, Any]) -> str:
    state = camera.get("state")
    error = camera.get("error")
    if state == "restarting":
        last_exit = camera.get("last_exit")
        return f"worker restarting after {last_exit}" if last_exit else "worker restarting"
    if state == "reconnecting":
        return (
            f"camera unreachable: {error}; reconnecting" if error else "reconnecting to the camera"
        )
    if state == "stopped":
        return "not running"
    return error or f"camera {state}"


def tile_info(
    camera: dict[str, Any] | None,
    camera_id: str,
    *,
    engine_error: str | None,
    frame_age_s: float | None,
    fps: float,
    motion: bool,
    pending: Pending | None,
    now_ns: int | None = None,
) -> TileInfo:
    """The tile of ``camera_id`` given its ``/health`` entry (None: unknown to the engine).

    ``frame_age_s`` is the time since the console last showed a new picture of this camera (None:
    never); ``engine_error`` is set while the engine cannot be reached (``camera`` is then the
    last entry seen, for its name; the banner over the grid carries the error itself).
    """
    now_ns = time.time_ns() if now_ns is None else now_ns
    cam = camera or {}
    title = str(cam.get("name") or camera_id)
    reason: str | None = None
    if engine_error is not None:
        state, label, reason = NO_ENGINE, "NO ENGINE", "engine offline: last picture shown"
    elif camera is None:
        state, label, reason = OFFLINE, "REMOVED", "no longer in the engine's configuration"
    elif not cam.get("enabled", True) or cam.get("state") == "disabled":
        state, label, reason = DISABLED, "DISABLED", "disabled in the configuration"
    elif cam.get("state") == "live":
        if frame_age_s is None:
            state, label, reason = WAITING, "LIVE", "waiting for the first picture…"
        elif frame_age_s > STALL_S:
            state, label = STALLED, "STALLED"
            reason = f"no new picture for {format_duration(frame_age_s)}"
        else:
            state, label = LIVE, "LIVE"
    elif cam.get("state") == "starting":
        state, label, reason = STARTING, "STARTING", "connecting to the camera…"
    elif cam.get("state") == "error":
        state, label, reason = ERROR, "ERROR", _offline_reason(cam)
    else:
        state, label, reason = OFFLINE, "OFFLINE", _offline_reason(cam)

    rec = cam.get("recording") or {}
    panic = bool(cam.get("panic"))
    active = bool(rec.get("active")) and engine_error is None
    recording: str | None = None
    confirmed = True
    if pending is not None and pending.active != (active and bool(cam.get("manual"))):
        confirmed = False
        recording = "REC requested…" if pending.active else "stopping…"
    elif active:
        since = rec.get("since_ns")
        running = format_duration((now_ns - since) / 1e9) if since else "0:00"
        kind = "PANIC" if panic else str(rec.get("type") or "")
        recording = f"REC {kind} {running}".replace("  ", " ")
    return TileInfo(
        camera_id=camera_id,
        title=title,
        state=state,
        state_label=label,
        reason=reason,
        recording=recording,
        recording_confirmed=confirmed,
        panic=panic and engine_error is None,
        motion=(motion or bool(cam.get("motion"))) and engine_error is None,
        fps=fps,
    )


@dataclass(frozen=True, slots=True)
class StatusLine:
    engine: str
    engine_ok: bool
    recordings: str
    disk: str
    disk_warning: bool


def status_line(
    health: dict[str, Any] | None, engine_error: str | None, now_ns: int | None = None
) -> StatusLine:
    """The status bar: engine health, active recordings with durations, disk free."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    if engine_error is not None or health is None:
        return StatusLine(
            engine="Engine: " + (engine_error or "connecting…"),
            engine_ok=False,
            recordings="Recordings: unknown",
            disk="Disk: unknown",
            disk_warning=False,
        )
    cameras = list((health.get("cameras") or {}).values())
    enabled = [c for c in cameras if c.get("enabled", True)]
    live = sum(1 for c in enabled if c.get("state") == "live")
    config = health.get("config") or {}
    problems = []
    if live < len(enabled):
        problems.append(f"{len(enabled) - live} camera(s) not live")
    if config and not config.get("ok", True):
        problems.append("config edit rejected: " + str(config.get("error") or "see the log"))
    engine = f"Engine {health.get('status', '?')} · {live}/{len(enabled)} live"
    if problems:
        engine += " · " + "; ".join(problems)

    active = []
    for cam in cameras:
        rec = cam.get("recording") or {}
        if rec.get("active"):
            since = rec.get("since_ns")
            running = format_duration((now_ns - since) / 1e9) if since else "0:00"
            active.append(f"{cam.get('name') or cam.get('id')} {running}")
    recordings = f"Recording {len(active)}: " + ", ".join(active) if active else "Recording: none"

    storage = health.get("storage") or {}
    free, total = storage.get("free_bytes"), storage.get("total_bytes")
    disk = "Disk: unknown"
    if free is not None and total:
        disk = f"Disk {format_bytes(free)} free of {format_bytes(total)}"
    warning = storage.get("warning")
    if warning:
        disk += f" · {warning}"
    return StatusLine(engine, health.get("status") == "ok", recordings, disk, bool(warning))
