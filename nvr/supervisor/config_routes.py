"""API routes for editing the configuration (the console's and the web's camera editor).

- ``GET /api/config/document``  the configuration in force as JSON, the SHA-256 of the file's
  text (send it back as ``save_config``'s ``base_sha256``) and the history's version in force
- ``GET /api/config/history``   the saved versions, newest first (``?limit=``)
- ``GET /api/config/version``   one version's text (``?version=``)
- ``GET /api/config/diff``      a unified diff between two versions (``?from=&to=``; ``to``
  defaults to the newest)
- ``POST /api/probe``            test a stream: ``{"url", "transport", "timeout_s"}``, or a
  configured camera's ``{"camera_id", "stream": "main"|"sub"}`` (``nvr.worker.probe``)

Changes go through ``POST /api/command`` (``save_config``, ``revert_config``), so they run in the
supervisor's loop like every other change. Stream credentials never leave: URLs in JSON and in
texts are redacted (``rtsp://***@host/...``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nvr.config import Config
from nvr.errors import EngineBusyError, NotFoundError, RequestError
from nvr.protocol.commands import load_json
from nvr.protocol.queries import optional_integer, parse_query, required_integer
from nvr.redact import redact_text, redact_url
from nvr.storage.catalog import Catalog
from nvr.supervisor.httpserver import Response
from nvr.worker.probe import probe

DOCUMENT = "/api/config/document"
HISTORY = "/api/config/history"
VERSION = "/api/config/version"
DIFF = "/api/config/diff"
PROBE = "/api/probe"
ROUTES = (DOCUMENT, HISTORY, VERSION, DIFF, PROBE)
MAX_PROBES = 2  # at once: each holds an API thread for up to the stream's timeout


class ConfigRoutes:
    def __init__(
        self, catalog_path: Path, config_file: Path | None, config: Callable[[], Config]
    ) -> None:
        self._catalog_path = catalog_path
        self._file = config_file
        self._config = config
        self._probes = threading.BoundedSemaphore(MAX_PROBES)

    @staticmethod
    def method(path: str) -> str:
        return "POST" if path == PROBE else "GET"

    def answer(self, path: str, query_text: str, body: bytes) -> Response:
        if path == PROBE:
            return self._probe(body)
        if path == DOCUMENT:
            parse_query(query_text, ())
            return Response.json(200, self._document())
        with Catalog(self._catalog_path, readonly=True) as catalog:
            if path == HISTORY:
                query = parse_query(query_text, ("limit",))
                versions = catalog.config_versions(optional_integer(query, "limit", 100, 1, 1000))
                return Response.json(200, {"versions": [dataclasses.asdict(v) for v in versions]})
            if path == VERSION:
                query = parse_query(query_text, ("version",))
                version = catalog.config_version(required_integer(query, "version", 1))
                if version is None:
                    raise NotFoundError("there is no such configuration version; see the history")
                return Response.json(
                    200,
                    dataclasses.asdict(
                        dataclasses.replace(version, text=redact_text(version.text))
                    ),
                )
            query = parse_query(query_text, ("from", "to"))
            old = catalog.config_version(required_integer(query, "from", 1))
            new = catalog.config_version(
                required_integer(query, "to", 1) if "to" in query else None
            )
            if old is None or new is None:
                raise NotFoundError("there is no such configuration version; see the history")
            lines = difflib.unified_diff(
                redact_text(old.text).splitlines(keepends=True),
                redact_text(new.text).splitlines(keepends=True),
                f"version {old.version}",
                f"version {new.version}",
                n=6,  # enough lines around a change to see whose camera it is
            )
            return Response.json(
                200, {"from": old.version, "to": new.version, "diff": "".join(lines)}
            )

    def _document(self) -> dict[str, Any]:
        config = self._config()
        data = config.model_dump(mode="json")
        for cam in data["cameras"]:
            for key in ("main", "sub"):
                if cam.get(key):
                    cam[key] = redact_url(cam[key])
        digest = ""
        if self._file is not None:
            with contextlib.suppress(OSError):
                digest = hashlib.sha256(self._file.read_bytes()).hexdigest()
        return {"sha256": digest, "path": str(self._file or ""), "config": data}

    def _probe(self, body: bytes) -> Response:
        data = load_json(body, "probe")
        if not isinstance(data, dict) or set(data) - {
            "url",
            "camera_id",
            "stream",
            "transport",
            "timeout_s",
        }:
            raise RequestError(
                'bad probe: send {"url", "transport", "timeout_s"} or {"camera_id", "stream"}'
            )
        transport = data.get("transport", "tcp")
        timeout_s = data.get("timeout_s", 5)
        if "camera_id" in data and "url" in data:
            raise RequestError("bad probe: send a url or a camera_id, not both")
        if "camera_id" in data:
            cam = self._config().camera(str(data["camera_id"]))
            if cam is None:
                raise NotFoundError(
                    f"no camera {str(data['camera_id'])[:40]!r} in the configuration"
                )
            url = cam.sub if data.get("stream") == "sub" else cam.main
            if url is None:
                raise RequestError(f"{cam.id} has no sub stream")
            transport, timeout_s = cam.transport, cam.timeout_s
        else:
            url = data.get("url")
            if (
                not isinstance(url, str)
                or not url.startswith(("rtsp://", "rtsps://"))
                or len(url) > 2000
            ):
                raise RequestError("bad probe: url must be an rtsp:// or rtsps:// URL")
            if any(c.isspace() or not c.isprintable() for c in url):
                raise RequestError("bad probe: the url has spaces or control characters")
        if transport not in ("tcp", "udp"):
            raise RequestError("bad probe: transport is tcp or udp")
        if (
            isinstance(timeout_s, bool)
            or not isinstance(timeout_s, int | float)
            or not 1 <= timeout_s <= 30
        ):
            raise RequestError("bad probe: timeout_s is a number of seconds from 1 to 30")
        if not self._probes.acquire(blocking=False):
            raise EngineBusyError(f"{MAX_PROBES} stream tests are running; try again in a moment")
        try:
            result = probe(url, transport, float(timeout_s))
        finally:
            self._probes.release()
        return Response.json(200, dataclasses.asdict(result))
