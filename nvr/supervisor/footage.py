"""API routes over recorded footage: the timeline, a frame at any instant, thumbnails, exports.

- ``GET /api/timeline?camera_id=a,b&start_ns=&end_ns=&buckets=``: spans, events, gaps and
  density (``nvr.storage.timeline``);
- ``GET /api/frame?camera_id=&at_ns=[&width=]``: the recorded frame shown at that instant as
  ``image/jpeg`` (the last frame whose time is at or before it; full size, or scaled down to
  ``width`` pixels for scrubbing thumbnails), its time in
  ``X-Frame-Time-Ns`` (and ``X-Frame-End-Ns``, and ``X-Recording-Id`` unless the frame is in
  the segment being written); 404 where nothing was recorded;
- ``GET /api/thumbnail?recording_id=`` or ``?event_id=``: ``image/jpeg``;
- ``POST /api/export`` ``{"camera_ids": [...], "start_ns": ..., "end_ns": ...}``: starts an
  export job (202); ``GET /api/export/{id}``: its state, progress and files.

They read the catalog and the files through read-only connections of their own (one playback
reader per API thread, with its open segments cached), never the supervisor's state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import av

from nvr.clock import iso_utc
from nvr.errors import NotFoundError, RequestError, UnknownCameraError
from nvr.protocol.commands import load_json
from nvr.protocol.queries import optional_integer, parse_query, required_integer
from nvr.storage import thumbnails
from nvr.storage.catalog import Catalog
from nvr.storage.playback import PlaybackReader
from nvr.storage.timeline import MAX_CAMERAS, timeline
from nvr.supervisor.exports import ExportJobs
from nvr.supervisor.httpserver import Response

GET_ROUTES = ("/api/timeline", "/api/frame", "/api/thumbnail")
EXPORT = "/api/export"
MAX_EXPORT_NS = 7 * 86_400 * 1_000_000_000
MAX_AT_NS = 2**63 - 2  # the catalog's integers hold at_ns + 1


class FootageRoutes:
    def __init__(self, storage: Path, configured: Callable[[], set[str]]) -> None:
        self.storage = storage
        self.recordings = storage / "recordings"
        self.catalog_path = storage / "catalog.db"
        self.configured = configured  # the camera ids in the config in force
        self.exports = ExportJobs(storage)
        self._local = threading.local()

    def handles(self, path: str) -> bool:
        return path in GET_ROUTES or path == EXPORT or path.startswith(EXPORT + "/")

    @staticmethod
    def method(path: str) -> str:
        return "POST" if path == EXPORT else "GET"

    def answer(self, path: str, query_text: str, body: bytes) -> Response:
        if path == "/api/timeline":
            return self._timeline(query_text)
        if path == "/api/frame":
            return self._frame(query_text)
        if path == "/api/thumbnail":
            return self._thumbnail(query_text)
        if path == EXPORT:
            return self._export(body)
        job = self.exports.get(path.removeprefix(EXPORT + "/"))
        if job is None:
            raise NotFoundError(f"no export job {path.removeprefix(EXPORT + '/')[:60]!r}")
        return Response.json(200, job)

    def stop(self) -> None:
        self.exports.stop()

    # -- routes ------------------------------------------------------------------------------

    def _timeline(self, query_text: str) -> Response:
        query = parse_query(query_text, ("camera_id", "start_ns", "end_ns", "buckets"))
        cameras = [c for c in query.get("camera_id", "").split(",") if c]
        if not cameras:
            raise RequestError("camera_id is required: one id, or several separated by commas")
        if len(cameras) > MAX_CAMERAS:
            raise RequestError(f"at most {MAX_CAMERAS} cameras in one timeline")
        start_ns, end_ns = required_integer(query, "start_ns"), required_integer(query, "end_ns")
        buckets = optional_integer(query, "buckets", 200, 1, 2000)
        catalog = self._reader().catalog
        self._check_cameras(catalog, cameras)
        result = timeline(catalog, list(dict.fromkeys(cameras)), start_ns, end_ns, buckets)
        return Response.json(200, result.to_json())

    def _frame(self, query_text: str) -> Response:
        query = parse_query(query_text, ("camera_id", "at_ns", "width"))
        camera_id = query.get("camera_id", "")
        if not camera_id:
            raise RequestError("camera_id is required")
        at_ns = required_integer(query, "at_ns", 0, MAX_AT_NS)
        width = optional_integer(query, "width", 0, 64, 3840) or None  # None: full size
        reader = self._reader()
        self._check_cameras(reader.catalog, [camera_id])
        frame = reader.frame_at(camera_id, at_ns)
        if frame is None:
            raise NotFoundError(
                f"nothing of camera {camera_id!r} was recorded at {iso_utc(at_ns)} (at_ns={at_ns})"
            )
        headers = [("X-Frame-Time-Ns", str(frame.time_ns)), ("X-Frame-End-Ns", str(frame.end_ns))]
        if frame.recording_id > 0:  # none yet for the segment being written
            headers.append(("X-Recording-Id", str(frame.recording_id)))
        jpeg = thumbnails.jpeg_from_frame(frame.image, width=width)
        return Response(200, jpeg, "image/jpeg", headers=tuple(headers))

    def _thumbnail(self, query_text: str) -> Response:
        query = parse_query(query_text, ("recording_id", "event_id"))
        if ("recording_id" in query) == ("event_id" in query):
            raise RequestError("give recording_id or event_id (one of them)")
        reader = self._reader()
        catalog = reader.catalog
        if "recording_id" in query:
            rec = catalog.recording(required_integer(query, "recording_id"))
            if rec is None:
                raise NotFoundError(f"no recording {query['recording_id']}")
            stored = rec.thumbnail_path
            if stored is None:  # not made yet (the backfill will): made now, not kept
                return self._jpeg(lambda: thumbnails.from_segment(self.recordings / rec.file_path))
        else:
            event = catalog.motion_event(required_integer(query, "event_id"))
            if event is None:
                raise NotFoundError(f"no motion event {query['event_id']}")
            stored = event.frame_thumbnail
            if stored is None:  # the recorded frame it started on, if any
                frame = reader.frame_at(event.camera_id, event.start_ns)
                if frame is None:
                    raise NotFoundError(f"motion event {event.id} has no picture")
                return Response(200, thumbnails.jpeg_from_frame(frame.image), "image/jpeg")
        return self._jpeg(lambda: (self.recordings / stored).read_bytes())

    def _export(self, body: bytes) -> Response:
        request = load_json(body, "export request")
        if not isinstance(request, dict) or set(request) != {"camera_ids", "start_ns", "end_ns"}:
            raise RequestError('an export takes {"camera_ids": [...], "start_ns": N, "end_ns": N}')
        cameras, start_ns, end_ns = request["camera_ids"], request["start_ns"], request["end_ns"]
        if not (
            isinstance(cameras, list)
            and 1 <= len(cameras) <= 16
            and all(isinstance(c, str) and c for c in cameras)
        ):
            raise RequestError("camera_ids is a list of 1 to 16 camera ids")
        if not all(type(v) is int and 0 <= v < 2**63 for v in (start_ns, end_ns)):
            raise RequestError("start_ns and end_ns are epoch nanoseconds (integers)")
        if not 0 < end_ns - start_ns <= MAX_EXPORT_NS:
            raise RequestError("an export must end after it starts and span at most 7 days")
        catalog = self._reader().catalog
        cameras = list(dict.fromkeys(cameras))
        self._check_cameras(catalog, cameras)
        if not any(catalog.recordings(c, start_ns, end_ns, limit=1) for c in cameras):
            raise NotFoundError(
                f"nothing of {', '.join(cameras)} was recorded between {iso_utc(start_ns)} and "
                f"{iso_utc(end_ns)}"
            )
        job = self.exports.submit(cameras, start_ns, end_ns)
        return Response.json(202, {"ok": True, "job": job.to_json()})

    # -- helpers -----------------------------------------------------------------------------

    def _reader(self) -> PlaybackReader:
        """This thread's playback reader (its catalog connection and open segments)."""
        reader: PlaybackReader | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = PlaybackReader(Catalog(self.catalog_path, readonly=True), self.recordings)
            self._local.reader = reader
        return reader

    def _check_cameras(self, catalog: Catalog, cameras: list[str]) -> None:
        known = self.configured() | set(catalog.bytes_by_camera())
        unknown = [c for c in cameras if c not in known]
        if unknown:
            raise UnknownCameraError(
                f"unknown camera {unknown[0][:60]!r}; cameras: {', '.join(sorted(known))}"
            )

    @staticmethod
    def _jpeg(read: Callable[[], bytes]) -> Response:
        try:
            return Response(200, read(), "image/jpeg")
        except (OSError, ValueError, av.error.FFmpegError) as err:
            raise NotFoundError(f"no thumbnail: {err}") from None
