"""What each tile and the status bar say, computed from the engine's health and the live feeds.

Plain functions over the typed health (``nvr.protocol.health``), no Dear PyGui, so the wording
and the states are unit tested.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nvr.protocol.alarms import KIND_TITLES, Alarm
from nvr.protocol.health import CameraStatus, Health

# Tile states, by what the operator must know first.
LIVE = "live"
WAITING = "waiting"  # the camera is live but no picture reached the console yet
STALLED = "stalled"  # pictures stopped arriving
STARTING = "starting"
OFFLINE = "offline"
MAIN_DOWN = "main down"  # the main stream is lost (nothing records) while the sub stream plays
ERROR = "error"
DISABLED = "disabled"
NO_ENGINE = "no engine"

STALL_S = 3.0
PENDING_TIMEOUT_S = 12.0  # a command with no answer after this long is shown as failed
_UNKNOWN = CameraStatus(id="")  # what is read of a camera the engine does not know


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
    mode: str = ""  # recording mode and whether its schedule is in force, e.g. "MOTION ARMED"
    alarm: str | None = None  # the camera's alarm, e.g. "ALARM Offline"
    alarm_urgent: bool = False  # not acknowledged yet
    picture: str = ""  # the stream shown and its size, for a camera shown alone

    @property
    def shows_video(self) -> bool:
        return self.state in (LIVE, STALLED, MAIN_DOWN)


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


def _offline_reason(camera: CameraStatus) -> str:
    state, error = camera.state, camera.error
    if state == "restarting":
        last_exit = camera.last_exit
        return f"worker restarting after {last_exit}" if last_exit else "worker restarting"
    if state == "reconnecting":
        return (
            f"camera unreachable: {error}; reconnecting" if error else "reconnecting to the camera"
        )
    if state == "stopped":
        return "not running"
    return error or f"camera {state}"


def _main_trouble(camera: CameraStatus) -> str:
    """What is wrong with a camera's main stream, in words."""
    if camera.main is not None and camera.main.error:
        return f"does not decode ({camera.main.error})"
    if camera.error:
        return f"unreachable ({camera.error})"
    return "unreachable"


def mode_label(camera: CameraStatus) -> str:
    """What the camera records when nobody asks ("idle on motion" is not "off"), and whether
    motion raises an alarm now. It names the mode, not the state ("REC MODE: OFF" beside a manual
    recording's "REC manual 0:05"; "REC: OFF" there read as a contradiction)."""
    window = "" if camera.armed else ", OFF-WINDOW"
    record = {
        "off": "REC MODE: OFF",
        "continuous": "REC MODE: CONTINUOUS",
        "motion": f"REC MODE: ON MOTION{window}",
        "scheduled": f"REC MODE: SCHEDULED{window}",
    }.get(camera.mode, f"REC MODE: {camera.mode.upper()}")
    return f"{record} · MOTION ALARM ON" if camera.motion_alarm else record


def tile_info(
    camera: CameraStatus | None,
    camera_id: str,
    *,
    engine_error: str | None,
    frame_age_s: float | None,
    fps: float,
    motion: bool,
    pending: Pending | None,
    now_ns: int | None = None,
    alarm: Alarm | None = None,
    picture: str = "",
) -> TileInfo:
    """The tile of ``camera_id`` given its health (None: unknown to the engine).

    ``frame_age_s`` is the time since the console last showed a new picture of this camera (None:
    never); ``motion`` is the flag of the last frame in its ring; ``engine_error`` is set while
    the engine cannot be reached (``camera`` is then the last entry seen, for its name; the
    banner over the grid carries the error itself).
    """
    now_ns = time.time_ns() if now_ns is None else now_ns
    cam = camera or _UNKNOWN
    title = cam.name or camera_id
    reason: str | None = None
    if engine_error is not None:
        state, label, reason = NO_ENGINE, "NO ENGINE", "engine offline: last picture shown"
    elif camera is None:
        state, label, reason = OFFLINE, "REMOVED", "no longer in the engine's configuration"
    elif not cam.enabled or cam.state == "disabled":
        state, label, reason = DISABLED, "DISABLED", "disabled in the configuration"
    elif cam.state == "live" and cam.sub is not None and cam.sub.error:
        state, label = ERROR, "ERROR"
        reason = f"no live view or motion detection, recording goes on: {cam.sub.error}"
    elif cam.state == "live":
        if frame_age_s is None:
            state, label, reason = WAITING, "LIVE", "waiting for the first picture…"
        elif frame_age_s > STALL_S:
            state, label = STALLED, "STALLED"
            reason = f"no new picture for {format_duration(frame_age_s)}"
        else:
            state, label = LIVE, "LIVE"
    elif (
        cam.state in ("reconnecting", "error")
        and cam.sub is not None
        and cam.sub.connected
        and frame_age_s is not None
        and frame_age_s <= STALL_S
    ):  # a moving picture must not read "unreachable": only the recording stream is
        state, label = MAIN_DOWN, "NOT RECORDING"
        reason = f"not recording: main stream {_main_trouble(cam)}; live view from the sub stream"
    elif cam.state == "starting" and frame_age_s is not None and frame_age_s <= STALL_S:
        # Pictures flow while the engine still judges the main stream: no shade, no "connecting".
        state, label = LIVE, "STARTING"
    elif cam.state == "starting":
        state, label, reason = STARTING, "STARTING", "connecting to the camera…"
    elif cam.state == "error":
        state, label, reason = ERROR, "ERROR", _offline_reason(cam)
    else:
        state, label, reason = OFFLINE, "OFFLINE", _offline_reason(cam)

    rec = cam.recording
    panic = cam.panic
    active = rec.active and engine_error is None
    recording: str | None = None
    confirmed = True
    if pending is not None and pending.active != (active and cam.manual):
        confirmed = False
        recording = "REC requested…" if pending.active else "stopping…"
    elif active:
        since = rec.since_ns
        running = format_duration((now_ns - since) / 1e9) if since else "0:00"
        kind = "PANIC" if panic else rec.type or ""
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
        # The ring's last frame counts only while its pictures are fresh: a stale frame's flag
        # is no motion now. The engine's own flag (the worker's detector) always does.
        motion=(cam.motion or (motion and state == LIVE)) and engine_error is None,
        fps=fps,
        mode=mode_label(cam) if camera is not None and engine_error is None else "",
        alarm=(
            f"ALARM {KIND_TITLES.get(alarm.kind, alarm.kind)}"
            + ("" if alarm.active else " (ended)")
            if alarm
            else None
        ),
        alarm_urgent=alarm is not None and not alarm.acknowledged,
        picture=picture if state == LIVE else "",
    )


@dataclass(frozen=True, slots=True)
class StatusLine:
    """The status bar's fields: each short enough for its place, with the whole story in its
    ``*_detail`` (the field's tooltip)."""

    engine: str
    engine_ok: bool
    engine_detail: str
    recordings: str
    recordings_detail: str
    disk: str
    disk_warning: bool
    disk_detail: str


def status_line(
    health: Health | None, engine_error: str | None, now_ns: int | None = None
) -> StatusLine:
    """The status bar: engine health and its problems, recordings with durations, disk."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    if engine_error is not None or health is None:
        why = engine_error or "connecting…"
        return StatusLine(
            engine="Engine: NOT CONNECTED" if engine_error else "Engine: connecting…",
            engine_ok=False,
            engine_detail=f"Engine: {why}",
            recordings="Recording: unknown",
            recordings_detail="What records is unknown while the engine cannot be reached.",
            disk="Disk: unknown",
            disk_warning=False,
            disk_detail="The disk is unknown while the engine cannot be reached.",
        )
    cameras = list(health.cameras.values())
    enabled = [c for c in cameras if c.enabled]
    live = sum(1 for c in enabled if c.state == "live")
    problems = list(health.problems)
    if not health.config.ok and not any("config" in p for p in problems):
        problems.append("a config edit was rejected: the running configuration stays")
    engine = f"Engine {health.status} · {live}/{len(enabled)} live"
    if problems:
        engine += f" · {len(problems)} problem{'s' if len(problems) > 1 else ''}"
    engine_detail = "\n".join([engine, *(f"- {p}" for p in problems)])

    active = []
    for cam in cameras:
        if cam.recording.active:
            since = cam.recording.since_ns
            running = format_duration((now_ns - since) / 1e9) if since else "0:00"
            kind = f" ({cam.recording.type})" if cam.recording.type else ""
            active.append(f"{cam.name or cam.id} {running}{kind}")
    recordings = f"Recording {len(active)} of {len(cameras)}" if active else "Recording: none"
    recordings_detail = "\n".join(active) if active else "No camera is recording."

    storage = health.storage
    disk = "Disk: unknown"
    if storage.total_bytes:  # 0: the engine has not measured its disk
        disk = (
            f"Disk {format_bytes(storage.free_bytes)} free of {format_bytes(storage.total_bytes)}"
        )
    disk_detail = disk
    if storage.warning:
        disk += " · warning"
        disk_detail += f"\n{storage.warning}"
    return StatusLine(
        engine,
        health.status == "ok",
        engine_detail,
        recordings,
        recordings_detail,
        disk,
        bool(storage.warning),
        disk_detail,
    )
