"""Share links: a clip or an event that someone without an account may watch.

- ``POST /api/v1/shares`` (operator): ``{"camera_id", "start_ns", "end_ns"}`` or
  ``{"event_id"}``, with ``expires_hours`` (1 to 720, default 24), ``download`` (default false)
  and a ``note``; answers the link ``/s/<token>`` once (only the token's hash is stored);
- ``GET /api/v1/shares``: the user's links (an admin's: everyone's) with their views;
- ``DELETE /api/v1/shares/{id}``: revoke (the link's maker or an admin);
- ``GET /s/<token>``: the page that plays the clip, no login; ``/s/<token>/clip.mp4`` its bytes
  (``?download=1`` as a file, when the link allows it). An expired or revoked link answers
  ``410`` with a plain page, an unknown one ``404``.

The clip is an engine export made when the link is made: the link shows exactly that, whatever
retention later does to the recordings. Every create, view, download and revocation is audited.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web import downloads, pages
from web.clips import Clip, Share
from web.context import context
from web.guard import Denied, check_csrf, json_body, require
from web.playback import RangeFile

DEFAULT_HOURS = 24
MAX_HOURS = 30 * 24
MAX_SHARE_NS = 3600 * 10**9  # a shared clip lasts at most an hour
EVENT_BEFORE_NS = 5 * 10**9  # an event's clip starts this long before it...
EVENT_AFTER_NS = 5 * 10**9  # ...and ends this long after it (30 s for one still going)
HOUR_NS = 3600 * 10**9


def _view(share: Share, now_ns: int) -> dict[str, Any]:
    return {
        "id": share.id,
        "camera_id": share.camera_id,
        "start_ns": share.start_ns,
        "end_ns": share.end_ns,
        "event_id": share.event_id,
        "download": share.download,
        "note": share.note,
        "created_by": share.created_by,
        "created_ns": share.created_ns,
        "expires_ns": share.expires_ns,
        "revoked_ns": share.revoked_ns,
        "revoked_by": share.revoked_by,
        "views": share.views,
        "last_view_ns": share.last_view_ns,
        "state": share.state(now_ns),
    }


async def create(request: Request) -> Response:
    session = require(request, "operator")
    check_csrf(request, session)
    body = await json_body(request)
    ctx = context(request)
    hours = body.get("expires_hours", DEFAULT_HOURS)
    if type(hours) is not int or not 1 <= hours <= MAX_HOURS:
        raise Denied(
            400, f"expires_hours must be a whole number from 1 to {MAX_HOURS}", "bad_request"
        )
    download = body.get("download", False)
    note = body.get("note", "")
    if not isinstance(download, bool) or not isinstance(note, str) or len(note) > 200:
        raise Denied(400, "download is true or false; note is text of at most 200 characters",
                     "bad_request")  # fmt: skip
    event_id = body.get("event_id")
    if event_id is not None:
        camera_id, start_ns, end_ns = await _event_range(request, event_id)
    else:
        camera_id, start_ns, end_ns = downloads.clip_range(body)
    if end_ns - start_ns > MAX_SHARE_NS:
        raise Denied(
            400, "a shared clip lasts at most one hour: pick a shorter range", "bad_request"
        )
    require(request, "operator", camera_id)
    params = {"camera_id": camera_id, "start_ns": start_ns, "end_ns": end_ns,
              "event_id": event_id, "expires_hours": hours, "download": download}  # fmt: skip
    try:
        clip = await downloads.start_clip(request, session, camera_id, start_ns, end_ns)
    except Denied as denied:
        ctx.audit.record(session.user.name, ctx.address(request), "share.create", camera_id,
                         params, denied.reason, ok=False)  # fmt: skip
        raise
    share, token = await asyncio.to_thread(
        ctx.clips.add_share, clip.job_id, camera_id, start_ns, end_ns, event_id, download, note,
        session.user.name, hours * HOUR_NS,
    )  # fmt: skip
    ctx.audit.record(
        session.user.name, ctx.address(request), "share.create", f"share {share.id}", params
    )
    url = f"{request.base_url}".rstrip("/") + f"/s/{token}"
    return JSONResponse({"share": _view(share, time.time_ns()), "url": url}, status_code=201)


async def _event_range(request: Request, event_id: Any) -> tuple[str, int, int]:
    if type(event_id) is not int or not 0 < event_id < 2**63:
        raise Denied(400, "event_id must be a motion event's id", "bad_request")
    footage = request.app.state.footage
    event = await asyncio.to_thread(lambda: footage.catalog().motion_event(event_id))
    if event is None:
        raise Denied(404, f"no motion event {event_id}", "gone")
    require(request, "operator", event.camera_id)
    end = event.end_ns if event.end_ns is not None else event.start_ns + 25 * 10**9
    return event.camera_id, event.start_ns - EVENT_BEFORE_NS, end + EVENT_AFTER_NS


async def list_shares(request: Request) -> Response:
    session = require(request, "operator")
    ctx = context(request)
    mine = None if session.user.has_role("admin") else session.user.name
    found = await asyncio.to_thread(ctx.clips.shares, mine)
    now = time.time_ns()
    shown = [_view(s, now) for s in found if session.user.may_see(s.camera_id)]
    return JSONResponse({"shares": shown})


async def revoke(request: Request) -> Response:
    session = require(request, "operator")
    check_csrf(request, session)
    ctx = context(request)
    share = ctx.clips.share(request.path_params["share_id"])
    if share is None or not (
        share.created_by == session.user.name or session.user.has_role("admin")
    ):
        raise Denied(404, "no such share link of yours", "gone")
    done = await asyncio.to_thread(ctx.clips.revoke, share.id, session.user.name)
    result = "ok" if done else "already revoked"
    ctx.audit.record(session.user.name, ctx.address(request), "share.revoke", f"share {share.id}",
                     {"camera_id": share.camera_id}, result)  # fmt: skip
    return JSONResponse({"ok": True, "revoked": done})


# -- what a visitor with the link sees (no account) ----------------------------------------------


def _live_share(request: Request) -> Share:
    """The link's share, or a plain 404 (unknown) or 410 (expired or revoked) page."""
    ctx = context(request)
    share = ctx.clips.share_by_token(request.path_params["token"])
    if share is None:
        raise Denied(404, "this link does not exist: check that it was copied whole", "no_share")
    state = share.state(time.time_ns())
    if state != "active":
        ctx.audit.record("-", ctx.address(request), "share.view", f"share {share.id}", {},
                         f"refused: {state}", ok=False)  # fmt: skip
        why = "was revoked" if state == "revoked" else "has expired"
        raise Denied(410, f"this link {why}: ask whoever sent it for a new one", f"share_{state}")
    return share


async def _clip_of(request: Request, share: Share) -> Clip:
    """A link's clip, brought up to date with the engine while it is made."""
    clip = context(request).clips.clip(share.job_id)
    assert clip is not None  # a link is made with its clip and never outlives it
    return await downloads.sync(request, clip)


async def page(request: Request) -> Response:
    share = _live_share(request)
    ctx = context(request)
    clip = await _clip_of(request, share)
    if request.method == "GET":  # a HEAD (a link preview) is not a view
        await asyncio.to_thread(ctx.clips.viewed, share.id)
        ctx.audit.record("-", ctx.address(request), "share.view", f"share {share.id}",
                         {"camera_id": share.camera_id}, clip.state)  # fmt: skip
    health = ctx.engine.snapshot.health
    cam = health.cameras.get(share.camera_id) if health else None
    return pages.render(
        request,
        "share.html",
        session=None,
        share=share,
        clip=clip,
        camera_name=(cam.name if cam else "") or share.camera_id,
        token=request.path_params["token"],
        progress=round(100 * clip.progress),
    )


async def clip_bytes(request: Request) -> Response:
    share = _live_share(request)
    ctx = context(request)
    clip = await _clip_of(request, share)
    if clip.state != "done":
        raise Denied(404, "the clip is not ready yet: reload the page in a moment", "not_ready")
    path, stat = await downloads.clip_file(ctx, clip.files[0])
    as_file = request.query_params.get("download") == "1"
    if as_file and not share.download:
        raise Denied(403, "this link lets you watch the clip, not download it", "no_download")
    name = downloads.download_name(clip.camera_id, clip.start_ns) if as_file else None
    response = RangeFile(path, media_type="video/mp4", stat_result=stat, filename=name)
    if as_file and (what := downloads.file_sent(request, response)) is not None:
        ctx.audit.record("-", ctx.address(request), "share.download", f"share {share.id}",
                         {"camera_id": share.camera_id, **what})  # fmt: skip
    response.headers["X-Robots-Tag"] = "noindex"
    return response
