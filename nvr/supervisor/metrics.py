"""Prometheus text exposition (``GET /metrics``) of a published ``Health``."""

from __future__ import annotations

from collections.abc import Callable

from nvr.protocol.health import CameraStatus, Health


def render_metrics(health: Health) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{labels} {value}" for labels, value in samples)

    def engine(value: float) -> list[tuple[str, float]]:
        return [("", value)]

    def per_camera(value: Callable[[CameraStatus], float]) -> list[tuple[str, float]]:
        return [(f'{{camera="{c.id}"}}', float(value(c))) for c in health.cameras.values()]

    storage = health.storage
    footage = storage.cameras.items()
    metric("nvr_up", "gauge", "1 while the engine runs.", engine(1))
    metric("nvr_uptime_seconds", "gauge", "Engine uptime.", engine(health.uptime_s))
    metric("nvr_panic", "gauge", "1 while panic recording is on.", engine(int(health.panic)))
    metric(
        "nvr_memory_bytes",
        "gauge",
        "Resident memory of the supervisor and its workers.",
        engine(health.rss_bytes or 0),
    )
    metric("nvr_catalog_bytes", "gauge", "Catalog file and WAL.", engine(health.catalog_bytes))
    metric(
        "nvr_camera_cpu_percent",
        "gauge",
        "CPU of the camera's worker process, percent of one core.",
        per_camera(lambda c: c.cpu_pct or 0.0),
    )
    metric(
        "nvr_camera_memory_bytes",
        "gauge",
        "Resident memory of the camera's worker process.",
        per_camera(lambda c: c.rss_bytes or 0),
    )
    steered = [c for c in health.cameras.values() if c.ptz is not None]
    metric(
        "nvr_ptz_reachable",
        "gauge",
        "1 while the camera's ONVIF PTZ answers (cameras with onvif only).",
        [(f'{{camera="{c.id}"}}', float(bool(c.ptz and c.ptz.reachable))) for c in steered],
    )
    metric(
        "nvr_ptz_latency_seconds",
        "gauge",
        "The last PTZ command's round trip to the camera.",
        [
            (f'{{camera="{c.id}"}}', (c.ptz.latency_ms or 0.0) / 1000)
            for c in steered
            if c.ptz is not None and c.ptz.latency_ms is not None
        ],
    )
    metric(
        "nvr_config_ok",
        "gauge",
        "0 when the last config edit was rejected.",
        engine(int(health.config.ok)),
    )
    metric(
        "nvr_config_reload_failures_total",
        "counter",
        "Rejected config edits.",
        engine(health.config.failed_reloads),
    )
    metric(
        "nvr_storage_free_bytes",
        "gauge",
        "Free bytes on the storage disk.",
        engine(storage.free_bytes),
    )
    metric(
        "nvr_storage_total_bytes", "gauge", "Size of the storage disk.", engine(storage.total_bytes)
    )
    metric(
        "nvr_storage_recordings_bytes",
        "gauge",
        "Bytes of cataloged recordings.",
        [(f'{{camera="{c}"}}', v.bytes) for c, v in footage],
    )
    metric(
        "nvr_storage_days_retained",
        "gauge",
        "Days of footage kept (oldest recording's age).",
        [(f'{{camera="{c}"}}', v.days_retained) for c, v in footage],
    )
    metric(
        "nvr_storage_write_bps",
        "gauge",
        "Recording write rate over the last 5 minutes.",
        engine(storage.write_rate_bps),
    )
    metric(
        "nvr_storage_warning",
        "gauge",
        "1 after a disk-full or write error.",
        engine(int(bool(storage.warning))),
    )
    metric(
        "nvr_camera_up",
        "gauge",
        "1 while the camera's main stream is live.",
        per_camera(lambda c: c.state == "live"),
    )
    metric(
        "nvr_camera_fps_in",
        "gauge",
        "Main-stream packets per second.",
        per_camera(lambda c: c.fps_in),
    )
    metric(
        "nvr_camera_fps_out",
        "gauge",
        "Decoded frames per second into the ring.",
        per_camera(lambda c: c.fps_out),
    )
    metric(
        "nvr_camera_bitrate_bps",
        "gauge",
        "Main-stream bitrate.",
        per_camera(lambda c: c.bitrate_bps),
    )
    metric(
        "nvr_camera_last_frame_age_seconds",
        "gauge",
        "Seconds since the last main packet.",
        per_camera(lambda c: c.last_frame_age_s if c.last_frame_age_s is not None else -1),
    )
    metric(
        "nvr_camera_restarts_total", "counter", "Worker restarts.", per_camera(lambda c: c.restarts)
    )
    metric(
        "nvr_camera_recording",
        "gauge",
        "1 while a segment is being written.",
        per_camera(lambda c: c.recording.active),
    )
    metric(
        "nvr_camera_motion",
        "gauge",
        "1 while a motion event is active.",
        per_camera(lambda c: c.motion),
    )
    metric(
        "nvr_camera_segments_total",
        "counter",
        "Segments cataloged since start.",
        per_camera(lambda c: c.segments),
    )
    metric(
        "nvr_camera_motion_events_total",
        "counter",
        "Motion events since start.",
        per_camera(lambda c: c.motion_events),
    )
    return "\n".join(lines) + "\n"
