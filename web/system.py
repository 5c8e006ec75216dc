"""System pages' API: worker health (operators restart workers with the ``restart_worker``
command), the engine's log (admins), and backups (admins).

- ``GET /api/v1/workers``: each of the user's cameras' worker, and its last hour sampled;
- ``GET /api/v1/logs?level=&camera_id=&component=&q=&since=&limit=``: the engine's log,
  newest first (credentials are redacted by the engine);
- ``POST /api/v1/backup`` ``{"with_recordings": false}``: start a backup; ``GET
  /api/v1/backup``: the job and the archives; ``GET /api/v1/backup/{name}``: download one.

Storage figures are in ``GET /api/v1/health`` (every role, for their cameras).
"""

from __future__ import annotations

import asyncio
import re
from functools import partial
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web.api import health_view, since_ns
from web.context import context
from web.downloads import file_sent
from web.guard import Denied, ask_engine, check_csrf, json_body, require, visible_cameras
from web.playback import RangeFile

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_LOG_ROWS = 1000
_ARCHIVE = re.compile(r"nvr-backup-[0-9A-Za-z_.-]{1,80}\.tar")
_WORKER_KEYS = ("id", "name", "enabled", "state", "restarts", "last_exit", "error", "uptime_s",
                "cpu_pct", "rss_bytes", "fps_in", "fps_out", "bitrate_bps", "segments",
                "last_frame_age_s", "mode")  # fmt: skip


async def workers(request: Request) -> Response:
    session = require(request, "operator")
    view = health_view(request, session)
    rows = [{k: cam.get(k) for k in _WORKER_KEYS} for cam in view["cameras"].values()]
    if session.user.has_role("admin"):
        for row, cam in zip(rows, view["cameras"].values(), strict=True):
            row["pid"] = cam.get("pid")
    history: dict[str, Any] = {}
    if rows and view["engine"] == "ok":
        found = await ask_engine(request, context(request).engine.client.worker_history)
        mine = set(visible_cameras(request, session))
        history = {
            "sample_s": found.get("sample_s"),
            "cameras": {k: v for k, v in found.get("cameras", {}).items() if k in mine},
        }
    return JSONResponse({"engine": view["engine"], "workers": rows, "history": history})


async def logs(request: Request) -> Response:
    require(request, "admin")
    q = request.query_params
    filters: dict[str, str | int] = {}
    level = q.get("level", "")
    if level:
        if level.upper() not in LOG_LEVELS:
            raise Denied(400, f"level is one of {', '.join(LOG_LEVELS)}", "bad_query")
        filters["level"] = level.upper()
    for key in ("camera_id", "component", "q"):
        value = q.get(key, "")
        if len(value) > 200:
            raise Denied(400, f"{key} is at most 200 characters", "bad_query")
        if value:
            filters[key] = value
    if q.get("since"):
        filters["since_ns"] = since_ns(q["since"])
    limit = q.get("limit", "200")
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LOG_ROWS:
        raise Denied(400, f"limit is a whole number from 1 to {MAX_LOG_ROWS}", "bad_query")
    filters["limit"] = int(limit)
    client = context(request).engine.client
    entries = await ask_engine(request, partial(client.logs, **filters))
    camera = filters.get("camera_id")
    if isinstance(camera, str):  # the supervisor's lines about it name it first ("door: ...")
        about = {k: v for k, v in filters.items() if k != "camera_id"}
        about["q"] = f"{about['q']} {camera}" if "q" in about else camera
        more = await ask_engine(request, partial(client.logs, **about))
        seen = {e["id"] for e in entries}
        entries += [
            e for e in more
            if e["id"] not in seen and not e.get("camera_id")
            and str(e.get("message", "")).startswith(f"{camera}:")
        ]  # fmt: skip
        entries.sort(key=lambda e: e["ts_ns"], reverse=True)
        entries = entries[: int(filters["limit"])]
    return JSONResponse({"entries": entries})


async def start_backup(request: Request) -> Response:
    session = require(request, "admin")
    check_csrf(request, session)
    body = await json_body(request)
    with_recordings = body.get("with_recordings", False)
    if not isinstance(with_recordings, bool):
        raise Denied(400, "with_recordings is true or false", "bad_request")
    ctx = context(request)
    params = {"with_recordings": with_recordings}
    try:
        job = await ask_engine(request, ctx.engine.client.backup, with_recordings)
    except Denied as denied:
        ctx.audit.record(session.user.name, ctx.address(request), "backup.create", "", params,
                         denied.reason, ok=False)  # fmt: skip
        raise
    ctx.audit.record(session.user.name, ctx.address(request), "backup.create", "", params)
    return JSONResponse({"job": _without_paths(job)}, status_code=202)


async def backups(request: Request) -> Response:
    require(request, "admin")
    found = await ask_engine(request, context(request).engine.client.backups)
    return JSONResponse(
        {
            "job": _without_paths(found.get("job")),
            "archives": [
                {"name": a["name"], "bytes": a["bytes"], "mtime": a["mtime"]}
                for a in found.get("archives", [])
            ],
        }
    )


async def backup_file(request: Request) -> Response:
    session = require(request, "admin")
    name = request.path_params["name"]
    if not _ARCHIVE.fullmatch(name):
        raise Denied(404, "no such backup", "gone")
    ctx = context(request)
    path = Path(ctx.config.storage.path) / "backups" / name
    try:
        stat = await asyncio.to_thread(path.stat)
    except OSError:
        raise Denied(
            404, "no such backup (it may have been replaced by newer ones)", "gone"
        ) from None
    response = RangeFile(path, media_type="application/x-tar", stat_result=stat, filename=name)
    if (what := file_sent(request, response)) is not None:
        ctx.audit.record(session.user.name, ctx.address(request), "backup.download", name,
                         what)  # fmt: skip
    return response


def _without_paths(job: Any) -> Any:
    """A job as the browser sees it: no server paths."""
    if not isinstance(job, dict):
        return job
    shown = {k: v for k, v in job.items() if k not in ("path", "folder")}
    if isinstance(shown.get("archive"), str):
        shown["archive"] = Path(shown["archive"]).name
    return shown
