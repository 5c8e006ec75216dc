"""API routes over alarms and the event stream (``nvr.protocol.alarms``).

- ``GET /api/alarms``: the alarms not yet cleared, newest first, with the event ``seq`` they
  are current at (answered from what the loop published);
- ``GET /api/alarms/log?camera_id=&start_ns=&end_ns=&limit=``: alarms raised in a range, newest
  first, with who acknowledged and cleared them (the catalog, read-only);
- ``GET /api/stream?after=SEQ&wait_s=S``: the events after ``SEQ``; when there are none yet the
  request is held up to ``S`` seconds (at most ``MAX_WAIT_S``) on the server's event loop.

Acknowledging and clearing are commands (``ack_alarm``, ``clear_alarm`` on ``POST
/api/command``), run in the loop like every other state change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nvr.protocol.alarms import AlarmList, EventBatch
from nvr.protocol.codec import to_json
from nvr.protocol.queries import optional_integer, parse_query
from nvr.storage.catalog import Catalog
from nvr.supervisor.httpserver import Hold, Response

ALARMS, LOG, STREAM = "/api/alarms", "/api/alarms/log", "/api/stream"
ROUTES = (ALARMS, LOG, STREAM)
MAX_WAIT_S = 25
LOG_LIMIT, MAX_LOG_LIMIT = 200, 10_000
_MAX_SEQ = 2**62


class AlarmRoutes:
    def __init__(
        self,
        catalog_path: Path,
        alarms: Callable[[], AlarmList],
        events_after: Callable[[int], EventBatch],
        events_ready: Callable[[int], bool],
    ) -> None:
        self.catalog_path = catalog_path
        self._alarms = alarms
        self._after = events_after
        self._ready = events_ready

    def inline(self, path: str) -> bool:
        """Answered from memory: cheap enough for the event loop."""
        return path in (ALARMS, STREAM)

    def hold(self, query_text: str) -> Hold | None:
        """How a stream request waits; None when it is answered at once (or is malformed)."""
        try:
            query = parse_query(query_text, ("after", "wait_s"))
            after = optional_integer(query, "after", 0, 0, _MAX_SEQ)
            wait_s = optional_integer(query, "wait_s", 0, 0, MAX_WAIT_S)
        except Exception:
            return None
        if not wait_s or self._ready(after):
            return None
        return Hold(lambda: self._ready(after), wait_s)

    def answer(self, path: str, query_text: str) -> Response:
        if path == ALARMS:
            parse_query(query_text, ())
            return Response.json(200, to_json(self._alarms()))
        if path == STREAM:
            query = parse_query(query_text, ("after", "wait_s"))
            optional_integer(query, "wait_s", 0, 0, MAX_WAIT_S)  # checked, waited already
            after = optional_integer(query, "after", 0, 0, _MAX_SEQ)
            return Response.json(200, to_json(self._after(after)))
        query = parse_query(query_text, ("camera_id", "start_ns", "end_ns", "limit"))
        start_ns = optional_integer(query, "start_ns", -1)
        end_ns = optional_integer(query, "end_ns", -1)
        limit = optional_integer(query, "limit", LOG_LIMIT, 1, MAX_LOG_LIMIT)
        with Catalog(self.catalog_path, readonly=True) as catalog:
            alarms = catalog.alarm_log(
                query.get("camera_id") or None,
                None if start_ns < 0 else start_ns,
                None if end_ns < 0 else end_ns,
                limit,
            )
        return Response.json(200, {"alarms": [to_json(a) for a in alarms]})
