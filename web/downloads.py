"""Clip downloads, two ways, the same clip frame for frame (stream copy, exact start):

- ``GET /api/v1/recordings/{camera}/clip.mp4?start_ns=&end_ns=`` (operator): the range as one
  MP4 laid out over the segment files (``nvr.storage.streamed_clip``), sent at once, with byte
  ranges; up to ``MAX_STREAMED_NS`` and one picture size (``409`` otherwise);
- the engine's clip export run as a job for a user, for any range up to a day (one file per
  picture size, a report of the gaps), kept a day to fetch later:
- ``POST /api/v1/exports`` ``{"camera_id", "start_ns", "end_ns"}`` (operator): starts a job;
- ``GET /api/v1/exports``: the user's clips (an admin's: everyone's), with their progress;
- ``GET /api/v1/exports/{id}``: one clip;
- ``GET /api/v1/exports/{id}/{n}.mp4``: its n-th file (a camera whose picture size changed
  within the range gets one file per size), with byte ranges so a download resumes.

Clips not played by a live share link are deleted ``KEEP_CLIPS_NS`` after they were asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    MalformedRangeHeader,
    RangeNotSatisfiable,
    Response,
    StreamingResponse,
)

from nvr.errors import EngineUnreachableError, NvrError
from nvr.storage import streamed_clip
from nvr.storage.streamed_clip import NothingRecordedError, SplitClipError, StreamedClip
from web.accounts import Session
from web.clips import Clip
from web.context import WebContext, context
from web.guard import Denied, ask_engine, check_csrf, json_body, require
from web.playback import Footage, RangeFile, etag_matches, footage_of, read, window

log = logging.getLogger(__name__)
MAX_CLIP_NS = 24 * 3600 * 10**9
MAX_STREAMED_NS = 6 * 3600 * 10**9
MAX_STREAMED_RECORDINGS = 4400  # 6 hours of the shortest segments (5 s)
LAYING_OUT = 2  # clip layouts at once, for all users (and one at a time per user)
LAID_OUT_KEPT = 16  # clips laid out lately, kept while their files are unchanged
KEEP_CLIPS_NS = 24 * 3600 * 10**9
_NS_MAX = 2**63 - 2


def exports_root(ctx: WebContext) -> Path:
    return Path(ctx.config.storage.path) / "exports"


async def start_clip(
    request: Request, session: Session, camera_id: str, start_ns: int, end_ns: int
) -> Clip:
    """Ask the engine for a clip of one camera; 404 when nothing was recorded then, 503 when
    the engine does not answer or is busy."""
    ctx = context(request)
    job = await ask_engine(
        request, ctx.engine.client.export, [camera_id], start_ns, end_ns, refused=404
    )
    return await asyncio.to_thread(
        ctx.clips.add_clip, str(job["id"]), session.user.name, camera_id, start_ns, end_ns
    )


def clip_range(body: dict[str, Any]) -> tuple[str, int, int]:
    camera_id, start_ns, end_ns = body.get("camera_id"), body.get("start_ns"), body.get("end_ns")
    if not isinstance(camera_id, str) or not camera_id:
        raise Denied(400, "camera_id is required", "bad_request")
    if not all(type(v) is int and 0 <= v <= _NS_MAX for v in (start_ns, end_ns)):
        raise Denied(400, "start_ns and end_ns are times in epoch nanoseconds", "bad_request")
    assert isinstance(start_ns, int) and isinstance(end_ns, int)
    if not 0 < end_ns - start_ns <= MAX_CLIP_NS:
        raise Denied(
            400, "a clip must end after it starts and last at most 24 hours", "bad_request"
        )
    return camera_id, start_ns, end_ns


async def create(request: Request) -> Response:
    session = require(request, "operator")
    check_csrf(request, session)
    camera_id, start_ns, end_ns = clip_range(await json_body(request))
    require(request, "operator", camera_id)
    ctx = context(request)
    params = {"start_ns": start_ns, "end_ns": end_ns}
    try:
        clip = await start_clip(request, session, camera_id, start_ns, end_ns)
    except Denied as denied:
        ctx.audit.record(session.user.name, ctx.address(request), "export.create", camera_id,
                         params, denied.reason, ok=False)  # fmt: skip
        raise
    ctx.audit.record(
        session.user.name, ctx.address(request), "export.create", camera_id, params, clip.job_id
    )
    return JSONResponse(await view(request, clip), status_code=202)


async def list_clips(request: Request) -> Response:
    session = require(request, "operator")
    ctx = context(request)
    mine = None if session.user.has_role("admin") else session.user.name
    clips = await asyncio.to_thread(ctx.clips.clips, mine)
    shown = [c for c in clips if session.user.may_see(c.camera_id)]
    return JSONResponse({"exports": [await view(request, c) for c in shown]})


async def one(request: Request) -> Response:
    session = require(request, "operator")
    return JSONResponse(await view(request, _own(request, session)))


async def file(request: Request) -> Response:
    """A clip's file as a download (``Content-Disposition: attachment``), by byte ranges."""
    session = require(request, "operator")
    ctx = context(request)
    clip = await sync(request, _own(request, session))
    number = request.path_params["n"]
    if clip.state != "done" or not 1 <= number <= len(clip.files):
        raise Denied(404, f"clip {clip.job_id} has no file {number} (it is {clip.state})", "gone")
    path, stat = await clip_file(ctx, clip.files[number - 1])
    name = download_name(clip.camera_id, clip.start_ns, number)
    response = RangeFile(path, media_type="video/mp4", stat_result=stat, filename=name)
    if (what := file_sent(request, response)) is not None:
        ctx.audit.record(
            session.user.name, ctx.address(request), "export.download", clip.camera_id,
            {"clip": clip.job_id, "file": number, **what},
        )  # fmt: skip
    return response


@dataclasses.dataclass(slots=True)
class _UserTurns:
    """One user's layouts: one at a time, and how many are running or waiting."""

    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    waiting: int = 0


class Layouts:
    """The web server's streamed clips being laid out, and those laid out lately.

    Laying out reads every segment's sample table (about 1 ms each, 2160 for 6 hours of 10 s
    segments): one at a time per user and ``LAYING_OUT`` in all, so a burst of long downloads
    waits its turn instead of taking every core or everyone else's downloads. A clip laid out
    lately is reused while its recordings and their files are unchanged: a download asks
    ``HEAD``, then ``GET``, then maybe ranges.
    """

    def __init__(self) -> None:
        self._all = asyncio.Semaphore(LAYING_OUT)
        self._users: dict[str, _UserTurns] = {}
        self._kept: OrderedDict[tuple[str, int, int], tuple[tuple[Any, ...], StreamedClip]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def turn(self, user: str) -> AsyncIterator[None]:
        """Wait for this user's turn and a free place; a user with no request left is
        forgotten."""
        turns = self._users.setdefault(user, _UserTurns())
        turns.waiting += 1
        try:
            async with turns.lock, self._all:
                yield
        finally:
            turns.waiting -= 1
            if not turns.waiting:
                del self._users[user]

    def users(self) -> int:
        """Users with a layout running or waiting."""
        return len(self._users)

    def lay_out(self, footage: Footage, camera_id: str, start_ns: int, end_ns: int) -> StreamedClip:
        """The streamed clip of a range (off the event loop): the one laid out lately for it
        while its recordings and their files are unchanged, else laid out from the catalog and
        the files' sample tables."""
        recordings = footage.catalog().recordings(
            camera_id, start_ns, end_ns, limit=MAX_STREAMED_RECORDINGS + 1
        )
        if len(recordings) > MAX_STREAMED_RECORDINGS:
            raise Denied(
                400, f"the range holds more than {MAX_STREAMED_RECORDINGS} recordings: too many"
                " to stream; make it as a clip job", "too_long",
            )  # fmt: skip
        states = {r.file_path: _file_state(footage.root / r.file_path) for r in recordings}
        sources = tuple((r.id, *states[r.file_path]) for r in recordings)
        key = (camera_id, start_ns, end_ns)
        with self._lock:
            found = self._kept.get(key)
        if found is not None and found[0] == sources:
            return found[1]
        clip = streamed_clip.plan(
            recordings, footage.root, camera_id, start_ns, end_ns, footage.times, states
        )
        with self._lock:
            self._kept[key] = (sources, clip)
            self._kept.move_to_end(key)
            while len(self._kept) > LAID_OUT_KEPT:
                self._kept.popitem(last=False)
        return clip


def layouts_of(request: Request) -> Layouts:
    found: Layouts = request.app.state.layouts
    return found


async def streamed(request: Request) -> Response:
    """A range of one camera as an MP4 download that starts at once; ``Range`` (one range),
    ``If-Range``, ``If-None-Match`` and ``HEAD`` as for a file."""
    session = require(request, "operator")
    camera_id = request.path_params["camera_id"]
    require(request, "operator", camera_id)
    start_ns, end_ns = window(request, MAX_STREAMED_NS)
    layouts = layouts_of(request)
    try:
        async with layouts.turn(session.user.name):
            footage = footage_of(request)
            clip = await read(request, layouts.lay_out, footage, camera_id, start_ns, end_ns)
    except NothingRecordedError as err:
        raise Denied(404, str(err), "not_recorded") from None
    except SplitClipError as err:
        raise Denied(409, str(err), "clip_split") from None
    etag = f'"{clip.etag}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Content-Disposition": f'attachment; filename="{download_name(camera_id, start_ns)}"',
        "X-Clip-Start-Ns": str(clip.start_ns),
        "X-Clip-End-Ns": str(clip.end_ns),
        "X-Clip-Frames": str(clip.frames),
    }
    if etag_matches(request.headers.get("if-none-match"), etag):  # the client has these bytes
        return Response(status_code=304, headers={"ETag": etag})
    start, end, status = 0, clip.size, 200
    asked, condition = request.headers.get("range"), request.headers.get("if-range")
    if asked is not None and (condition is None or condition == etag):
        try:
            ranges = RangeFile._parse_range_header(asked, clip.size)
        except MalformedRangeHeader:
            ranges = []  # ignored: the whole clip, as for a file
        except RangeNotSatisfiable:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{clip.size}"})
        if len(ranges) == 1:  # several ranges of a download: the whole clip once
            (start, end), status = ranges[0], 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{clip.size}"
    headers["Content-Length"] = str(end - start)
    if (what := sent(request, clip.size)) is not None:
        ctx = context(request)
        ctx.audit.record(
            session.user.name, ctx.address(request), "export.download", camera_id,
            {"start_ns": start_ns, "end_ns": end_ns, **what, "streamed": True},
        )  # fmt: skip
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type="video/mp4")
    return StreamingResponse(
        _bytes_of(clip, start, end), status_code=status, headers=headers, media_type="video/mp4"
    )


def _file_state(path: Path) -> tuple[int, int]:
    """(size, modification time) of a file; (-1, -1) when it is gone."""
    try:
        stat = path.stat()
    except OSError:
        return -1, -1
    return stat.st_size, stat.st_mtime_ns


def _bytes_of(clip: StreamedClip, start: int, end: int) -> Iterator[bytes]:
    """A clip's bytes for a response; a file removed meanwhile (retention) ends it short, said
    in the log (the client sees fewer bytes than announced)."""
    try:
        yield from clip.read(start, end)
    except OSError as err:
        log.warning("a download of %s stopped short: %s", clip.camera_id, err)


async def clip_file(ctx: WebContext, entry: dict[str, Any]) -> tuple[Path, Any]:
    """A clip file's path (always inside the exports folder) and its ``stat``; 404 when gone."""
    root = exports_root(ctx)
    path = root / str(entry["path"])
    try:
        if root.resolve() not in path.resolve().parents:
            raise OSError("outside the exports folder")
        stat = await asyncio.to_thread(path.stat)
    except OSError:
        raise Denied(404, "the clip's file is gone: make the clip again", "gone") from None
    return path, stat


def download_name(camera_id: str, start_ns: int, number: int = 1) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%SZ", time.gmtime(start_ns / 1e9))  # UTC, said
    suffix = "" if number == 1 else f"-{number}"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in camera_id)[:40]
    return f"{safe}-{stamp}{suffix}.mp4"


def sent(request: Request, size: int) -> dict[str, Any] | None:
    """What a download's audit row says it sent (its size, the range asked for), or None for a
    request that sends no bytes (``HEAD``). Every ``GET`` is a row: any range of a file is
    footage, and a resumed or split download is several."""
    if request.method != "GET":
        return None
    return {"bytes": size, "range": request.headers.get("range", "")[:80] or "all"}


def file_sent(request: Request, response: RangeFile) -> dict[str, Any] | None:
    """``sent`` for a file's response: nothing either when the client already has the file."""
    if response.unchanged(request.headers):
        return None
    return sent(request, int(response.headers["content-length"]))


def _own(request: Request, session: Session) -> Clip:
    ctx = context(request)
    clip = ctx.clips.clip(str(request.path_params["job_id"])[:80])
    allowed = clip is not None and (
        clip.user == session.user.name or session.user.has_role("admin")
    )
    if clip is None or not allowed or not session.user.may_see(clip.camera_id):
        raise Denied(404, "no such clip of yours", "gone")
    return clip


async def view(request: Request, clip: Clip) -> dict[str, Any]:
    """A clip as the API shows it, brought up to date with the engine while it is made."""
    return (await sync(request, clip)).to_json()


async def sync(request: Request, clip: Clip) -> Clip:
    """Read a clip's job from the engine until it is done or failed, and keep the result; a
    clip still being made comes back with the engine's progress."""
    if clip.state in ("done", "failed", "expired"):
        return clip
    ctx = context(request)
    try:
        job = await ctx.engine.call(ctx.engine.client.export_status, clip.job_id)
    except EngineUnreachableError:
        return clip  # said by the engine badge; the clip is still asked for
    except NvrError:
        await asyncio.to_thread(
            ctx.clips.update_clip, clip.job_id, "failed", [],
            "the engine restarted before the clip was made: ask for it again",
        )  # fmt: skip
        found = ctx.clips.clip(clip.job_id)
        assert found is not None
        return found
    state = str(job.get("state", "queued"))
    if state not in ("done", "failed"):
        return dataclasses.replace(clip, state=state, progress=float(job.get("progress", 0.0)))
    root = exports_root(ctx).resolve()
    files = []
    for entry in job.get("files", []):
        if entry.get("report") or "frames" not in entry:
            continue
        with contextlib.suppress(ValueError, OSError):
            relative = Path(str(entry["path"])).resolve().relative_to(root)
            files.append(
                {
                    "path": str(relative),
                    "size_bytes": entry["size_bytes"],
                    "start_ns": entry["start_ns"],
                    "end_ns": entry["end_ns"],
                    "frames": entry["frames"],
                }
            )
    error = "; ".join(str(e) for e in job.get("errors", []))
    final = "done" if files else "failed"
    await asyncio.to_thread(ctx.clips.update_clip, clip.job_id, final, files, error)
    found = ctx.clips.clip(clip.job_id)
    assert found is not None
    return found


def drop_old_clips(ctx: WebContext, now_ns: int) -> int:
    """Delete the files of clips older than ``KEEP_CLIPS_NS`` that no live share plays."""
    root = exports_root(ctx).resolve()
    dropped = 0
    for clip in ctx.clips.old_clips(now_ns - KEEP_CLIPS_NS):
        folders = {(root / str(f["path"])).resolve().parent for f in clip.files}
        for folder in folders:
            if root in folder.parents:
                shutil.rmtree(folder, ignore_errors=True)
        ctx.clips.update_clip(clip.job_id, "expired", [], "deleted a day after it was made")
        dropped += 1
    if dropped:
        log.info("deleted %d clip(s) older than a day", dropped)
    return dropped
