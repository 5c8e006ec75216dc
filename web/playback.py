"""Recorded footage for the browser, within the user's cameras.

- ``GET /api/v1/recordings/{camera}/index.m3u8?start_ns=&end_ns=``: an HLS playlist of the
  recordings in a window of up to 6 hours (``web.hls``), and ``index.json`` its time map;
- ``GET /api/v1/recordings/{camera}/{id}.mp4``: a segment file's bytes (``206`` byte ranges,
  ``ETag``, ``If-Range``; at most ``MAX_RANGES`` ranges in one request), what the playlists
  point at;
- ``GET /api/v1/recordings/{camera}/frame.jpg?at_ns=&width=``: the exact recorded frame at an
  instant (the engine's ``/api/frame``), for scrubbing and frame steps;
- ``GET /api/v1/timeline?cameras=&start_ns=&end_ns=&buckets=``: the engine's timeline;
- ``GET /api/v1/thumbnails/{recording|event}/{id}.jpg``: a recording's or an event's picture;
- ``GET /api/v1/eventlist?cameras=&start_ns=&end_ns=&type=&order=&limit=``: motion events and
  alarms (newest first unless ``order=asc``).

Playlists and bytes come from the catalog (read-only) and the files: playback goes on while the
engine is down. Pictures and the timeline come from the engine, the same as the console's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, MalformedRangeHeader, Response
from starlette.types import Receive, Scope, Send

from nvr.errors import CatalogError
from nvr.storage.catalog import Catalog, Recording
from nvr.storage.fmp4 import FragmentIndex, fragment_index, playable_length
from nvr.storage.playback import SegmentTimes
from web import hls
from web.context import context
from web.guard import Denied, ask_engine, require, visible_cameras

MAX_WINDOW_NS = 6 * 3600 * 10**9  # one playlist covers at most this much wall time
MAX_TIMELINE_NS = 31 * 86_400 * 10**9
MAX_RECORDINGS = 2000  # per playlist (6 h of 10-second segments)
MAX_RANGES = 8  # more ranges in one request are ignored: the whole file is sent once
INDEX_CACHE = 4096  # fragment indexes kept (a few kB each)
TIMES_CACHE = 256  # sample tables kept for streamed clips (tens of kB each)
EVENT_KINDS = ("all", "motion", "alarm")
MAX_EVENTS = 500
_NS_MAX = 2**63 - 2


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` list names ``etag`` (weak comparison) or is ``*``."""
    if if_none_match is None or not etag:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


class RangeFile(FileResponse):
    """A file with byte ranges, capped so one request cannot ask for thousands of pieces; a
    malformed ``Range`` is ignored (the whole file), as HTTP allows, not a bare-text 400. A
    request whose ``If-None-Match`` names the file's ETag gets 304 and no bytes."""

    max_ranges = MAX_RANGES

    def unchanged(self, headers: Headers) -> bool:
        """The client that sent ``headers`` already has this file (its ``If-None-Match``): the
        reply is a 304."""
        return etag_matches(headers.get("if-none-match"), self.headers.get("etag", ""))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.unchanged(Headers(scope=scope)):
            etag = self.headers["etag"]
            await Response(status_code=304, headers={"ETag": etag})(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader:
            return []


class Footage:
    """The web server's read-only view of the recordings: a catalog connection per thread, and
    the fragment indexes and sample tables of the files it has read (keyed by size and time: a
    file cut by recovery is read again)."""

    def __init__(self, storage: Path) -> None:
        self.root = storage / "recordings"
        self.catalog_path = storage / "catalog.db"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._indexes: OrderedDict[tuple[str, int, int], FragmentIndex | None] = OrderedDict()
        self._times: OrderedDict[tuple[str, int, int], SegmentTimes] = OrderedDict()
        self._opened: list[Catalog] = []

    def catalog(self) -> Catalog:
        """This thread's read-only catalog; ``CatalogError`` before the engine made one."""
        found: Catalog | None = getattr(self._local, "catalog", None)
        if found is None:
            found = Catalog(self.catalog_path, readonly=True)
            self._local.catalog = found
            with self._lock:
                self._opened.append(found)
        return found

    def index(self, rec: Recording) -> FragmentIndex | None:
        """Where each complete fragment of a recording lies; None for a file that is missing or
        cannot be read."""
        path = self.root / rec.file_path
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (rec.file_path, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._indexes:
                self._indexes.move_to_end(key)
                return self._indexes[key]
        try:
            length, _ = playable_length(path)
            found: FragmentIndex | None = fragment_index(path, length) if length else None
        except (OSError, ValueError):
            found = None
        with self._lock:
            self._indexes[key] = found
            while len(self._indexes) > INDEX_CACHE:
                self._indexes.popitem(last=False)
        return found

    def times(self, rec: Recording) -> SegmentTimes:
        """A recording's samples and their wall times; raises like ``SegmentTimes``."""
        stat = (self.root / rec.file_path).stat()
        key = (rec.file_path, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._times:
                self._times.move_to_end(key)
                return self._times[key]
        found = SegmentTimes(rec, self.root)
        with self._lock:
            self._times[key] = found
            while len(self._times) > TIMES_CACHE:
                self._times.popitem(last=False)
        return found

    def parts(self, camera_id: str, start_ns: int, end_ns: int) -> list[hls.Part]:
        recordings = self.catalog().recordings(camera_id, start_ns, end_ns, limit=MAX_RECORDINGS)
        return hls.plan(recordings, self.index)

    def close(self) -> None:
        with self._lock:
            for catalog in self._opened:
                with contextlib.suppress(Exception):
                    catalog.close()
            self._opened.clear()


def footage_of(request: Request) -> Footage:
    found: Footage = request.app.state.footage
    return found


async def read(request: Request, fn: Any, *args: Any) -> Any:
    """A catalog read off the loop; 503 when there is no catalog to read yet."""
    try:
        return await asyncio.to_thread(fn, *args)
    except CatalogError as err:
        raise Denied(503, f"the recordings catalog cannot be read ({err})", "no_catalog") from None


def window(request: Request, limit_ns: int = MAX_WINDOW_NS) -> tuple[int, int]:
    start_ns, end_ns = _ns(request, "start_ns"), _ns(request, "end_ns")
    if not 0 < end_ns - start_ns <= limit_ns:
        hours = limit_ns // (3600 * 10**9)
        span = f"{hours} hours" if hours < 48 else f"{hours // 24} days"
        raise Denied(400, f"end_ns must come after start_ns, at most {span} later", "bad_query")
    return start_ns, end_ns


def _ns(request: Request, name: str) -> int:
    text = request.query_params.get(name, "")
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > _NS_MAX:
        raise Denied(400, f"{name} must be a time in epoch nanoseconds", "bad_query")
    return int(text)


async def playlist(request: Request) -> Response:
    camera_id = request.path_params["camera_id"]
    require(request, camera=camera_id)
    start_ns, end_ns = window(request)
    parts = await read(request, footage_of(request).parts, camera_id, start_ns, end_ns)
    if request.url.path.endswith(".json"):
        return JSONResponse(
            {
                "camera_id": camera_id,
                "start_ns": start_ns,
                "end_ns": end_ns,
                "chunks": hls.time_map(parts),
            }
        )
    text = hls.playlist(parts, lambda rec: f"{rec.id}.mp4")
    return Response(text, media_type="application/vnd.apple.mpegurl")


async def segment(request: Request) -> Response:
    """A recording's file, by byte ranges; 404 for a recording of another camera or none."""
    camera_id = request.path_params["camera_id"]
    require(request, camera=camera_id)
    footage = footage_of(request)
    rec = await read(request, lambda: footage.catalog().recording(request.path_params["rec"]))
    if rec is None or rec.camera_id != camera_id:
        raise Denied(404, f"this camera has no recording {request.path_params['rec']}", "gone")
    path = footage.root / rec.file_path
    try:
        stat = await asyncio.to_thread(os.stat, path)
    except OSError:
        raise Denied(404, "the recording's file is missing", "gone") from None
    return RangeFile(path, media_type="video/mp4", stat_result=stat)


async def frame(request: Request) -> Response:
    camera_id = request.path_params["camera_id"]
    require(request, camera=camera_id)
    at_ns = _ns(request, "at_ns")
    width_text = request.query_params.get("width", "")
    width = int(width_text) if width_text.isdigit() and 64 <= int(width_text) <= 1920 else None
    if width_text and width is None:
        raise Denied(400, "width must be a whole number from 64 to 1920", "bad_query")
    ctx = context(request)
    found = await ask_engine(request, ctx.engine.client.frame, camera_id, at_ns, width, refused=404)
    if found is None:
        raise Denied(404, "nothing was recorded at that time", "not_recorded")
    headers = {"X-Frame-Time-Ns": str(found.time_ns), "X-Frame-End-Ns": str(found.end_ns)}
    return Response(found.jpeg, media_type="image/jpeg", headers=headers)


async def timeline(request: Request) -> Response:
    session = require(request)
    start_ns, end_ns = window(request, MAX_TIMELINE_NS)
    cameras = _cameras(request, session)
    buckets_text = request.query_params.get("buckets", "200")
    if not buckets_text.isdigit() or not 1 <= int(buckets_text) <= 2000:
        raise Denied(400, "buckets must be a whole number from 1 to 2000", "bad_query")
    client = context(request).engine.client
    found = await ask_engine(
        request, client.timeline, cameras, start_ns, end_ns, int(buckets_text), refused=404
    )
    return JSONResponse(found)


async def thumbnail(request: Request) -> Response:
    """A recording's or an event's picture, when its camera is the user's."""
    session = require(request)
    kind, item = request.path_params["kind"], request.path_params["item"]
    if kind not in ("recording", "event"):
        raise Denied(404, "no such picture", "http")
    catalog = footage_of(request).catalog
    if kind == "recording":
        row = await read(request, lambda: catalog().recording(item))
    else:
        row = await read(request, lambda: catalog().motion_event(item))
    if row is None or not session.user.may_see(row.camera_id):
        raise Denied(404, f"no such {kind}", "gone")
    client = context(request).engine.client
    if kind == "recording":
        jpeg = await ask_engine(request, lambda: client.thumbnail(recording_id=item), refused=404)
    else:
        jpeg = await ask_engine(request, lambda: client.thumbnail(event_id=item), refused=404)
    return Response(
        jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"}
    )


async def eventlist(request: Request) -> Response:
    """Motion events and alarms of the user's cameras in a range (up to 31 days)."""
    session = require(request)
    start_ns, end_ns = window(request, MAX_TIMELINE_NS)
    cameras = _cameras(request, session)
    kind = request.query_params.get("type", "all")
    if kind not in EVENT_KINDS:
        raise Denied(400, f"type must be one of {', '.join(EVENT_KINDS)}", "bad_query")
    order = request.query_params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise Denied(400, "order must be asc (oldest first) or desc (newest first)", "bad_query")
    limit_text = request.query_params.get("limit", str(MAX_EVENTS))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_EVENTS:
        raise Denied(400, f"limit must be a whole number from 1 to {MAX_EVENTS}", "bad_query")
    limit, newest_first = int(limit_text), order == "desc"
    footage = footage_of(request)

    def events() -> list[dict[str, Any]]:
        catalog = footage.catalog()
        out: list[dict[str, Any]] = []
        for cam in cameras:
            if kind in ("all", "motion"):
                events = catalog.motion_events(
                    cam, start_ns, end_ns, limit=limit, descending=newest_first
                )
                for ev in events:
                    out.append(
                        {
                            "kind": "motion",
                            "id": ev.id,
                            "camera_id": cam,
                            "start_ns": ev.start_ns,
                            "end_ns": ev.end_ns,
                            "text": _motion_text(ev.start_ns, ev.end_ns, ev.confidence),
                            "thumbnail": f"/api/v1/thumbnails/event/{ev.id}.jpg",
                        }
                    )
            if kind in ("all", "alarm"):
                for alarm in catalog.alarm_log(cam, start_ns, end_ns, limit=None):
                    out.append(
                        {
                            "kind": "alarm",
                            "id": alarm.id,
                            "camera_id": cam,
                            "start_ns": alarm.raised_ns,
                            "end_ns": alarm.ended_ns,
                            "text": f"{alarm.kind.replace('_', ' ')}: {alarm.message}",
                            "thumbnail": None,
                        }
                    )
        out.sort(key=lambda e: e["start_ns"], reverse=newest_first)
        return out

    found = await read(request, events)
    return JSONResponse({"events": found[:limit], "truncated": len(found) > limit})


def _motion_text(start_ns: int, end_ns: int | None, confidence: float) -> str:
    lasted = "still going" if end_ns is None else f"{max(0, end_ns - start_ns) / 1e9:.0f} s"
    return f"motion, {lasted}, confidence {confidence:.0%}"


def _cameras(request: Request, session: Any) -> list[str]:
    """The ``cameras`` asked for (every one of the user's when none), each checked."""
    asked = [c for c in request.query_params.get("cameras", "").split(",") if c]
    if not asked:
        return visible_cameras(request, session)
    if len(asked) > 64:
        raise Denied(400, "at most 64 cameras at once", "bad_query")
    for cam in asked:
        require(request, camera=cam)
    return list(dict.fromkeys(asked))
