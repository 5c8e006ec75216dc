"""Loopback HTTP API: health, Prometheus metrics, commands, catalog queries (JSON).

Routes (documented in the README):
- ``GET /health``                   engine and per-camera health
- ``GET /metrics``                  Prometheus text format
- ``GET /api/cameras``              cameras with state and frame-ring names (for the console)
- ``GET /api/config``               the config in force and the last reload result
- ``GET /api/recordings``           ``?camera_id=&start_ns=&end_ns=&limit=``
- ``GET /api/events``               motion events, same filters
- ``GET /api/gaps``                 stream gaps, same filters
- ``POST /api/command``             a ``Command`` as JSON

Handlers read the health the supervisor last published and queue commands for its loop
(``Engine``); they never touch its state. A refused request gets ``{"ok": false, "error":
..., "code": ...}`` with the error's code from ``nvr.errors``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

from nvr.errors import NotFoundError, NvrError, RequestError, TooLargeError
from nvr.protocol.codec import to_json
from nvr.protocol.commands import Command, CommandReply, parse_command
from nvr.protocol.health import Health
from nvr.storage.catalog import Catalog
from nvr.supervisor.metrics import render_metrics

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class Engine(Protocol):
    """What the API needs of the supervisor (thread-safe)."""

    def health(self) -> Health: ...

    def health_json(self) -> bytes: ...

    def submit(self, command: Command) -> tuple[int, CommandReply]: ...

    @property
    def catalog_path(self) -> Path: ...


class ApiServer:
    """Serves the API on a loopback address in background threads."""

    def __init__(self, engine: Engine, host: str, port: int) -> None:
        handler = type("Handler", (_Handler,), {"engine": engine})
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
    engine: Engine
    server_version = "nvr"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode())

    def _refuse(self, err: NvrError) -> None:
        self._json(err.http_status, {"ok": False, "error": str(err), "code": err.code})

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        engine = self.engine
        try:
            if url.path == "/health":
                self._send(200, engine.health_json())
            elif url.path == "/metrics":
                text = render_metrics(engine.health())
                self._send(200, text.encode(), "text/plain; version=0.0.4")
            elif url.path == "/api/cameras":
                cameras = engine.health().cameras.values()
                self._json(200, {"cameras": [to_json(c) for c in cameras]})
            elif url.path == "/api/config":
                self._json(200, to_json(engine.health().config))
            elif url.path in ("/api/recordings", "/api/events", "/api/gaps"):
                self._json(200, self._catalog_query(url.path.rsplit("/", 1)[1], query))
            else:
                raise NotFoundError(f"no route {url.path}; see the README")
        except NvrError as err:
            self._refuse(err)

    def _catalog_query(self, what: str, query: dict[str, str]) -> dict[str, Any]:
        try:
            camera = query.get("camera_id") or None
            start = int(query["start_ns"]) if "start_ns" in query else None
            end = int(query["end_ns"]) if "end_ns" in query else None
            limit = int(query["limit"]) if "limit" in query else None
        except ValueError:
            raise RequestError("start_ns, end_ns and limit must be integers") from None
        with Catalog(self.engine.catalog_path, readonly=True) as catalog:
            if what == "recordings":
                rows: list[Any] = catalog.recordings(camera, start, end, limit)
            elif what == "events":
                rows = catalog.motion_events(camera, start, end)
            else:
                rows = catalog.gaps(camera, start, end)
        return {what: [dataclasses.asdict(r) for r in rows]}

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        try:
            if urlparse(self.path).path != "/api/command":
                raise NotFoundError(f"no route {self.path}; see the README")
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise RequestError("Content-Length must be an integer") from None
            if length < 0:
                raise RequestError("Content-Length must be 0 or more")
            if length > MAX_BODY_BYTES:
                raise TooLargeError(f"command body too large (at most {MAX_BODY_BYTES} bytes)")
            command = parse_command(self.rfile.read(length))
        except NvrError as err:
            self._refuse(err)
            return
        try:
            status, reply = self.engine.submit(command)
        except Exception:
            log.exception("command %s failed", command.command)
            self._refuse(NvrError("internal error; see the engine log"))
            return
        self._json(status, reply.to_json())
