"""Loopback HTTP API: health, Prometheus metrics, commands, catalog queries (JSON).

Routes (documented in the README):
- ``GET /health``                   engine and per-camera health (no token)
- ``GET /metrics``                  Prometheus text format (no token)
- ``GET /api/cameras``              cameras with state and frame-ring names
- ``GET /api/config``               the config in force and the last reload result
- ``GET /api/recordings``           ``?camera_id=&start_ns=&end_ns=&limit=&order=``
- ``GET /api/events``               motion events, same query
- ``GET /api/gaps``                 stream gaps, same query
- ``POST /api/command``             a ``Command`` as JSON
- ``GET /api/timeline``, ``/api/frame``, ``/api/thumbnail``, ``POST /api/export``,
  ``GET /api/export/{id}``           recorded footage (``footage.py``)
- ``GET /api/alarms``, ``/api/alarms/log``, ``/api/stream``  alarms and the event stream
  (``alarm_routes.py``)
- ``GET /api/logs``                 the engine's logs, filtered (``log_routes.py``)
- ``GET /api/workers/history``      ``?camera_id=``: each worker's last hour, one sample per 10 s
  (``worker_history.py``)
- ``GET /api/ptz``                  ``?camera_id=``: the camera's PTZ (capabilities, position,
  moving, presets, last error) and the presets mirrored in the catalog
- ``GET /api/config/document``, ``/api/config/history``, ``/api/config/version``,
  ``/api/config/diff``, ``POST /api/probe``  the camera editor's (``config_routes.py``)
- ``GET``/``POST /api/backup``, ``POST /api/restore``, ``GET /api/report``  backups, restore
  and the health report (``maintenance_routes.py``)

Every request is checked, in this order: its ``Host`` is the engine's own loopback address (a
web page on a rebound name is refused), any ``Origin`` is the engine's own (a cross-site page
is refused), the route and method exist, ``/api/*`` carries the engine's token (``Authorization:
Bearer``, from ``<storage>/run/api.token``), and a command is ``application/json`` (a form post
is refused). Handlers read the health the supervisor last published and queue commands for its
loop (``Engine``); they never touch its state. While the engine restores a backup (it stops and
starts again) every route answers 503 but ``GET /api/backup``, which tells the restore's
progress; then the routes serve the new engine. A refused request gets ``{"ok": false, "error":
..., "code": ...}``. The transport (limits, timeouts, connection floods) is ``httpserver.py``.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from nvr.config import Config
from nvr.errors import (
    ConflictError,
    EngineBusyError,
    ForbiddenHostError,
    ForbiddenOriginError,
    MethodNotAllowedError,
    NotFoundError,
    NvrError,
    UnauthorizedError,
    UnknownCameraError,
    UnsupportedMediaError,
)
from nvr.protocol.alarms import AlarmList, EventBatch
from nvr.protocol.codec import to_json
from nvr.protocol.commands import Command, CommandReply, parse_command
from nvr.protocol.health import Health
from nvr.protocol.queries import parse_list_query
from nvr.storage.backup import Staged
from nvr.storage.catalog import Catalog
from nvr.supervisor import alarm_routes, config_routes, maintenance_routes
from nvr.supervisor.alarm_routes import AlarmRoutes
from nvr.supervisor.config_routes import ConfigRoutes
from nvr.supervisor.footage import FootageRoutes
from nvr.supervisor.httpserver import Hold, HttpServer, Request, Response
from nvr.supervisor.log_routes import LOGS, LogRoutes
from nvr.supervisor.maintenance_routes import MaintenanceRoutes
from nvr.supervisor.metrics import render_metrics

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
PUBLIC = ("/health", "/metrics")  # read-only, for monitoring: no token
SNAPSHOT = (*PUBLIC, "/api/cameras", "/api/config")  # answered from the published health
LISTS = ("/api/recordings", "/api/events", "/api/gaps")
COMMAND = "/api/command"
WORKER_HISTORY = "/api/workers/history"
PTZ = "/api/ptz"
_LIST_METHODS = {"recordings": "recordings", "events": "motion_events", "gaps": "gaps"}
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class Engine(Protocol):
    """What the API needs of the supervisor (thread-safe)."""

    def health(self) -> Health: ...

    def health_json(self) -> bytes: ...

    def submit(self, command: Command) -> tuple[int, CommandReply]: ...

    def alarm_list(self) -> AlarmList: ...

    def events_after(self, after: int) -> EventBatch: ...

    def events_ready(self, after: int) -> bool: ...

    def worker_history(self, camera_id: str | None) -> dict[str, Any]: ...

    @property
    def catalog_path(self) -> Path: ...

    @property
    def log_dir(self) -> Path: ...

    @property
    def config_file(self) -> Path | None: ...

    def config_in_force(self) -> Config: ...


class ApiServer:
    """The API on a loopback address, served from its own thread (``httpserver.HttpServer``)."""

    def __init__(
        self,
        engine: Engine,
        host: str,
        port: int,
        token: str,
        restart_from: Callable[[Staged, str], None] | None = None,
    ) -> None:
        """``restart_from``: how the engine restores a backup (``maintenance_routes``)."""
        self._routes = ApiRoutes(engine, token, restart_from)
        self._http = HttpServer(self._routes, host, port, MAX_BODY_BYTES)
        self._routes.port = self._http.address[1]

    @property
    def url(self) -> str:
        host, port = self._http.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        self._http.start()
        log.info("API listening on %s", self.url)

    @property
    def upkeep(self) -> MaintenanceRoutes:
        return self._routes.upkeep

    def pause(self, reason: str) -> None:
        """Answer 503 with ``reason`` (but the restore's progress) until ``serve``."""
        self._routes.paused = reason

    def serve(self, engine: Engine) -> None:
        """Serve ``engine``, started again after a restore (the catalog is opened anew)."""
        self._routes.stop_parts()
        self._routes.attach(engine)
        self._routes.paused = None

    def stop(self) -> None:
        self._http.stop()
        self._routes.stop_parts()


class ApiRoutes:
    """Checks every request, then answers it (``httpserver.Handler``)."""

    def __init__(
        self,
        engine: Engine,
        token: str,
        restart_from: Callable[[Staged, str], None] | None = None,
    ) -> None:
        self.port = 0  # the port the server listens on, once bound
        self._token = token.encode()
        self.paused: str | None = None  # why every route but the restore's progress is 503
        # The upkeep outlives a restore: it tells how the restore went.
        self.upkeep = MaintenanceRoutes(
            engine.catalog_path.parent,
            engine.config_file,
            lambda: self.engine.config_in_force(),
            lambda: self.engine.health(),
            restart_from,
        )
        self.attach(engine)

    def attach(self, engine: Engine) -> None:
        """The routes that read ``engine``'s catalog, logs and state."""
        self.engine = engine
        self.footage = FootageRoutes(
            engine.catalog_path.parent, lambda: set(engine.health().cameras)
        )
        self.logs = LogRoutes(engine.log_dir)
        self.config = ConfigRoutes(engine.catalog_path, engine.config_file, engine.config_in_force)
        self.alarms = AlarmRoutes(
            engine.catalog_path, engine.alarm_list, engine.events_after, engine.events_ready
        )

    def stop_parts(self) -> None:
        self.footage.stop()
        self.logs.stop()

    def inline(self, request: Request) -> bool:
        path = urlsplit(request.target).path
        return request.method == "GET" and (path in SNAPSHOT or self.alarms.inline(path))

    def hold(self, request: Request) -> Hold | None:
        """A stream request waits for events, once it has passed every check."""
        url = urlsplit(request.target)
        if request.method != "GET" or url.path != alarm_routes.STREAM or self.paused:
            return None
        try:
            self._check_origin(request)
            self._check_token(request)
        except NvrError:
            return None
        return self.alarms.hold(url.query)

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except NvrError as err:
            return Response.error(err)

    def _route(self, request: Request) -> Response:
        self._check_origin(request)
        url = urlsplit(request.target)
        path = url.path
        footage = self.footage.handles(path)
        alarms = path in alarm_routes.ROUTES
        config = path in config_routes.ROUTES
        upkeep = path in maintenance_routes.ROUTES
        if path not in (*SNAPSHOT, *LISTS, COMMAND, LOGS, WORKER_HISTORY, PTZ) and not (
            footage or alarms or config or upkeep
        ):
            raise NotFoundError(f"no route {path[:200]}; see the README's HTTP API")
        method = (
            "POST"
            if path == COMMAND
            else self.footage.method(path)
            if footage
            else self.config.method(path)
            if config
            else self.upkeep.method(path, request.method)
            if upkeep
            else "GET"
        )
        if request.method != method:
            raise MethodNotAllowedError(f"{path} takes {method}")
        if path not in PUBLIC:
            self._check_token(request)
        if self.paused and not (path == maintenance_routes.BACKUP and method == "GET"):
            raise EngineBusyError(self.paused)
        if method == "POST":
            self._check_json(request)
        if path == COMMAND:
            return self._command(request)
        if footage:
            return self.footage.answer(path, url.query, request.body)
        if alarms:
            return self.alarms.answer(path, url.query)
        if config:
            return self.config.answer(path, url.query, request.body)
        if upkeep:
            return self.upkeep.answer(path, method, request.body)
        if path == LOGS:
            return self.logs.answer(url.query)
        if path in LISTS:
            return self._list(path.rsplit("/", 1)[1], url.query)
        if path == PTZ:
            return self._ptz(parse_qs(url.query).get("camera_id", [""])[0])
        if path == WORKER_HISTORY:
            camera = parse_qs(url.query).get("camera_id", [None])[0]
            return Response.json(200, self.engine.worker_history(camera))
        engine = self.engine
        if path == "/health":
            return Response(200, engine.health_json())
        health = engine.health()
        if path == "/metrics":
            return Response(200, render_metrics(health).encode(), "text/plain; version=0.0.4")
        if path == "/api/cameras":
            return Response.json(200, {"cameras": [to_json(c) for c in health.cameras.values()]})
        return Response.json(200, to_json(health.config))

    def _check_origin(self, request: Request) -> None:
        """Only the engine's own loopback address, by any of its names: a rebound name (DNS
        rebinding) or a cross-site page carries another ``Host`` or ``Origin``. A client that
        sends no ``Host`` (HTTP/1.0) is no browser."""
        host = request.headers.get("host", "")
        if host and not self._own(host):
            raise ForbiddenHostError(f"Host {host[:100]!r} is not this engine's address")
        origin = request.headers.get("origin")
        if origin is not None and not (
            origin.startswith("http://") and self._own(origin.removeprefix("http://"))
        ):
            raise ForbiddenOriginError(f"requests from web pages ({origin[:100]}) are refused")

    def _own(self, host: str) -> bool:
        """Whether ``host`` (a Host header, or an Origin without its scheme) is this engine."""
        name, port = host, ""
        if host.startswith("["):  # [::1] or [::1]:8765
            name, _, rest = host.partition("]")
            name += "]"
            if rest and not rest.startswith(":"):
                return False
            port = rest[1:]
        elif host.count(":") == 1:
            name, port = host.split(":")
        return name in _LOOPBACK_NAMES and port in ("", str(self.port))

    def _check_token(self, request: Request) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        right = hmac.compare_digest(given.strip().encode(), self._token)
        if scheme.lower() != "bearer" or not right:  # the scheme is case-insensitive (RFC 9110)
            raise UnauthorizedError(
                "missing or wrong API token: send 'Authorization: Bearer <token>' with the "
                "token in <storage>/run/api.token (nvr console -c CONFIG reads it)"
            )

    @staticmethod
    def _check_json(request: Request) -> None:
        """A POST is JSON: a form post (what a cross-site page can send) is refused."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise UnsupportedMediaError(
                f"send JSON: Content-Type: application/json, not {kind[:60]!r}"
            )

    def _command(self, request: Request) -> Response:
        command = parse_command(request.body)
        status, reply = self.engine.submit(command)
        return Response.json(status, reply.to_json())

    def _ptz(self, camera_id: str) -> Response:
        cam = self.engine.health().cameras.get(camera_id)
        if cam is None:
            raise UnknownCameraError(f"no camera {camera_id[:40]!r}; send ?camera_id=")
        if cam.ptz is None:
            raise ConflictError(
                f"{camera_id} has no PTZ: give it an onvif section in the configuration"
            )
        with Catalog(self.engine.catalog_path, readonly=True) as catalog:
            mirrored = [{"name": p.preset_name, **p.position} for p in catalog.presets(camera_id)]
        return Response.json(
            200, {"camera_id": camera_id, "ptz": to_json(cam.ptz), "mirrored_presets": mirrored}
        )

    def _list(self, what: str, query_text: str) -> Response:
        query = parse_list_query(query_text)
        window = (query.camera_id, query.start_ns, query.end_ns)
        with Catalog(self.engine.catalog_path, readonly=True) as catalog:
            rows_of = getattr(catalog, _LIST_METHODS[what])  # same window, limit and order
            rows = rows_of(*window, limit=query.limit, descending=query.descending)
        return Response(200, json.dumps({what: [dataclasses.asdict(r) for r in rows]}).encode())
