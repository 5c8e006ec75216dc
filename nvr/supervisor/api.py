"""Loopback HTTP API: health, Prometheus metrics, commands, catalog queries (JSON).

Routes (documented in the README):
- ``GET /health``                   engine and per-camera health
- ``GET /metrics``                  Prometheus text format
- ``GET /api/cameras``              cameras with state and frame-ring names (for the console)
- ``GET /api/config``               the config in force and the last reload result
- ``GET /api/recordings``           ``?camera_id=&start_ns=&end_ns=&limit=``
- ``GET /api/events``               motion events, same filters
- ``GET /api/gaps``                 stream gaps, same filters
- ``POST /api/command``             a ``UICommandMessage`` as JSON
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from nvr.errors import RequestError
from nvr.protocol.commands import parse_command
from nvr.storage.catalog import Catalog
from nvr.supervisor.engine import Supervisor

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


def render_metrics(health: dict[str, Any]) -> str:
    """Prometheus text exposition of a ``Supervisor.health()`` snapshot."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{labels} {value}" for labels, value in samples)

    cams = list(health["cameras"].values())

    def per_camera(value: Any) -> list[tuple[str, float]]:
        return [(f'{{camera="{c["id"]}"}}', float(value(c))) for c in cams]

    metric("nvr_up", "gauge", "1 while the engine runs.", [("", 1)])
    metric("nvr_uptime_seconds", "gauge", "Engine uptime.", [("", health["uptime_s"])])
    metric("nvr_panic", "gauge", "1 while panic recording is on.", [("", int(health["panic"]))])
    metric(
        "nvr_config_ok",
        "gauge",
        "0 when the last config edit was rejected.",
        [("", int(health["config"]["ok"]))],
    )
    metric(
        "nvr_config_reload_failures_total",
        "counter",
        "Rejected config edits.",
        [("", health["config"]["failed_reloads"])],
    )
    storage = health["storage"]
    metric(
        "nvr_storage_free_bytes",
        "gauge",
        "Free bytes on the storage disk.",
        [("", storage["free_bytes"])],
    )
    metric(
        "nvr_storage_total_bytes",
        "gauge",
        "Size of the storage disk.",
        [("", storage["total_bytes"])],
    )
    by_camera = storage["cameras"].items()
    metric(
        "nvr_storage_recordings_bytes",
        "gauge",
        "Bytes of cataloged recordings.",
        [(f'{{camera="{c}"}}', v["bytes"]) for c, v in by_camera],
    )
    metric(
        "nvr_storage_days_retained",
        "gauge",
        "Days of footage kept (oldest recording's age).",
        [(f'{{camera="{c}"}}', v["days_retained"]) for c, v in by_camera],
    )
    metric(
        "nvr_storage_write_bps",
        "gauge",
        "Recording write rate over the last 5 minutes.",
        [("", storage["write_rate_bps"])],
    )
    metric(
        "nvr_storage_warning",
        "gauge",
        "1 after a disk-full or write error.",
        [("", int(bool(storage["warning"])))],
    )
    metric(
        "nvr_camera_up",
        "gauge",
        "1 while the camera's main stream is live.",
        per_camera(lambda c: c["state"] == "live"),
    )
    metric(
        "nvr_camera_fps_in",
        "gauge",
        "Main-stream packets per second.",
        per_camera(lambda c: c["fps_in"]),
    )
    metric(
        "nvr_camera_fps_out",
        "gauge",
        "Decoded frames per second into the ring.",
        per_camera(lambda c: c["fps_out"]),
    )
    metric(
        "nvr_camera_bitrate_bps",
        "gauge",
        "Main-stream bitrate.",
        per_camera(lambda c: c["bitrate_bps"]),
    )
    metric(
        "nvr_camera_last_frame_age_seconds",
        "gauge",
        "Seconds since the last main packet.",
        per_camera(lambda c: c["last_frame_age_s"] if c["last_frame_age_s"] is not None else -1),
    )
    metric(
        "nvr_camera_restarts_total",
        "counter",
        "Worker restarts.",
        per_camera(lambda c: c["restarts"]),
    )
    metric(
        "nvr_camera_recording",
        "gauge",
        "1 while a segment is being written.",
        per_camera(lambda c: c["recording"]["active"]),
    )
    metric(
        "nvr_camera_motion",
        "gauge",
        "1 while a motion event is active.",
        per_camera(lambda c: c["motion"]),
    )
    metric(
        "nvr_camera_segments_total",
        "counter",
        "Segments cataloged since start.",
        per_camera(lambda c: c["segments"]),
    )
    metric(
        "nvr_camera_motion_events_total",
        "counter",
        "Motion events since start.",
        per_camera(lambda c: c["motion_events"]),
    )
    return "\n".join(lines) + "\n"


class ApiServer:
    """Serves the API on a loopback address in background threads."""

    def __init__(self, supervisor: Supervisor, host: str, port: int) -> None:
        self.supervisor = supervisor
        handler = type("Handler", (_Handler,), {"supervisor": supervisor})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="api", daemon=True)

    @property
    def url(self) -> str:
        address, port = self.httpd.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else str(address)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()
        log.info("API listening on %s", self.url)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    supervisor: Supervisor
    server_version = "nvr"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = (body if isinstance(body, str) else json.dumps(body, default=_json)).encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        sup = self.supervisor
        if url.path == "/health":
            self._send(200, sup.health())
        elif url.path == "/metrics":
            self._send(200, render_metrics(sup.health()), "text/plain; version=0.0.4")
        elif url.path == "/api/cameras":
            self._send(200, {"cameras": sup.cameras()})
        elif url.path == "/api/config":
            with sup.lock:
                self._send(200, sup.status.as_dict())
        elif url.path in ("/api/recordings", "/api/events", "/api/gaps"):
            self._catalog_query(url.path.rsplit("/", 1)[1], query)
        else:
            self._send(404, {"ok": False, "error": f"no route {url.path}; see the README"})

    def _catalog_query(self, what: str, query: dict[str, str]) -> None:
        try:
            camera = query.get("camera_id") or None
            start = int(query["start_ns"]) if "start_ns" in query else None
            end = int(query["end_ns"]) if "end_ns" in query else None
            limit = int(query["limit"]) if "limit" in query else None
        except ValueError:
            self._send(400, {"ok": False, "error": "start_ns, end_ns and limit must be integers"})
            return
        with Catalog(self.supervisor.catalog.path, readonly=True) as catalog:
            if what == "recordings":
                rows: list[Any] = catalog.recordings(camera, start, end, limit)
            elif what == "events":
                rows = catalog.motion_events(camera, start, end)
            else:
                rows = catalog.gaps(camera, start, end)
        self._send(200, {what: [dataclasses.asdict(r) for r in rows]})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        if urlparse(self.path).path != "/api/command":
            self._send(404, {"ok": False, "error": f"no route {self.path}; see the README"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(400, {"ok": False, "error": "Content-Length must be an integer"})
            return
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send(413, {"ok": False, "error": "command body too large"})
            return
        try:
            msg = parse_command(self.rfile.read(length))
        except RequestError as err:
            self._send(400, {"ok": False, "error": str(err), "code": err.code})
            return
        try:
            status, result = self.supervisor.command(msg)
        except Exception:
            log.exception("command %s failed", msg.command)
            status, result = 500, {"ok": False, "error": "internal error; see the engine log"}
        self._send(status, result)


def _json(value: Any) -> Any:
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
