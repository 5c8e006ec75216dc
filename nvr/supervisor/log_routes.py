"""API route over the engine's logs: ``GET /api/logs?level=&camera_id=&component=&q=&since_ns=
&until_ns=&limit=``, newest first, from the log index (``nvr.storage.logindex``), brought up to
date before each answer (only what the files gained since is read)."""

from __future__ import annotations

import threading
from pathlib import Path

from nvr.errors import RequestError
from nvr.protocol.queries import optional_integer, parse_query
from nvr.storage.logindex import LEVELS, MAX_LIMIT, LogIndex
from nvr.supervisor.httpserver import Response

LOGS = "/api/logs"
_KEYS = ("level", "camera_id", "component", "q", "since_ns", "until_ns", "limit")


class LogRoutes:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._index: LogIndex | None = None
        self._lock = threading.Lock()  # API threads: one index

    def answer(self, query_text: str) -> Response:
        query = parse_query(query_text, _KEYS)
        level = query.get("level", "").upper() or None
        if level is not None and level not in LEVELS:
            raise RequestError(f"level must be one of {', '.join(LEVELS)}, not {level[:20]!r}")
        text = query.get("q", "")
        if len(text) > 200:
            raise RequestError("q is at most 200 characters")
        since = optional_integer(query, "since_ns", -1)
        until = optional_integer(query, "until_ns", -1)
        with self._lock:
            index = self._index = self._index or LogIndex(self.log_dir)
        index.update()
        entries = index.query(
            level=level,
            camera_id=query.get("camera_id"),
            component=query.get("component") or None,
            text=text,
            since_ns=None if since < 0 else since,
            until_ns=None if until < 0 else until,
            limit=optional_integer(query, "limit", 500, 1, MAX_LIMIT),
        )
        return Response.json(
            200,
            {
                "entries": [
                    {
                        "id": e.id,
                        "ts_ns": e.ts_ns,
                        "level": e.level,
                        "camera_id": e.camera_id,
                        "component": e.component,
                        "message": e.message,
                        "exception": e.exception,
                    }
                    for e in entries
                ]
            },
        )

    def stop(self) -> None:
        if self._index is not None:
            self._index.close()
