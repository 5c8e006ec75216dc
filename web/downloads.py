"""Clip downloads: the engine's clip export (stream copy, exact start) run as a job for a user.

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
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nvr.errors import EngineUnreachableError, NvrError
from web.accounts import Session
from web.clips import Clip
from web.context import WebContext, context
from web.engine import unreachable_text
from web.guard import Denied, check_csrf, json_body, require
from web.playback import RangeFile

log = logging.getLogger(__name__)
MAX_CLIP_NS = 24 * 3600 * 10**9
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
    try:
        job = await ctx.engine.call(ctx.engine.client.export, [camera_id], start_ns, end_ns)
    except EngineUnreachableError as err:
        raise Denied(503, unreachable_text(err), "engine_unreachable") from None
    except NvrError as err:
        reason = str(err).removeprefix("export refused: ")
        status = 503 if "HTTP 503" in reason or "HTTP 429" in reason else 404
        reason = reason.split(": ", 1)[-1] if reason.startswith("HTTP ") else reason
        raise Denied(status, reason[:300], "no_clip") from None
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
    if is_first_request(request):
        ctx.audit.record(
            session.user.name, ctx.address(request), "export.download", clip.camera_id,
            {"clip": clip.job_id, "file": number, "bytes": stat.st_size},
        )  # fmt: skip
    return RangeFile(
        path, media_type="video/mp4", stat_result=stat, filename=download_name(clip, number)
    )


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


def download_name(clip: Clip, number: int) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%SZ", time.gmtime(clip.start_ns / 1e9))  # UTC, said
    suffix = "" if number == 1 else f"-{number}"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in clip.camera_id)[:40]
    return f"{safe}-{stamp}{suffix}.mp4"


def is_first_request(request: Request) -> bool:
    """A download is audited once: its first request (no range, or one from byte 0)."""
    sent = request.headers.get("range", "").replace(" ", "")
    return request.method == "GET" and (not sent or sent.startswith("bytes=0-"))


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
    clip = await sync(request, clip)
    shown = clip.to_json()
    shown["progress"] = 1.0 if clip.state == "done" else request.scope.get("progress", 0.0)
    return shown


async def sync(request: Request, clip: Clip) -> Clip:
    """Read a clip's job from the engine until it is done or failed, and keep the result."""
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
    request.scope["progress"] = float(job.get("progress", 0.0))
    state = str(job.get("state", "queued"))
    if state not in ("done", "failed"):
        return dataclasses.replace(clip, state=state)
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
