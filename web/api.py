"""The JSON API under ``/api/v1/`` (besides login and logout, in ``web.session``): health and
cameras filtered to the user's cameras, commands to the engine with their role checks and
audit, live snapshots, and the audit log for admins (JSON and CSV)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nvr.errors import EngineUnreachableError, NvrError
from nvr.protocol.codec import to_json
from nvr.protocol.commands import COMMANDS, SCHEMA_VERSION, parse_command
from web.accounts import Session
from web.audit import to_csv
from web.context import context
from web.engine import unreachable_text
from web.guard import (
    Denied,
    check_csrf,
    command_role,
    json_body,
    known_cameras,
    require,
    visible_cameras,
)
from web.snapshots import NoPicture

log = logging.getLogger(__name__)
EVERY_CAMERA_COMMANDS = ("panic",)
_ADMIN_ONLY_CAMERA_KEYS = ("pid", "ring", "main_ring", "last_exit")


def health_view(request: Request, session: Session) -> dict[str, Any]:
    """The engine's health as this user may see it: only their cameras, and the engine's
    internals (process ids, config paths) for admins only. Made once per request (a page's
    header, summary and cards all read it)."""
    state = request.scope.setdefault("state", {})
    if "health_view" not in state:
        state["health_view"] = _health_view(request, session)
    found: dict[str, Any] = state["health_view"]
    return found


def _health_view(request: Request, session: Session) -> dict[str, Any]:
    ctx = context(request)
    snap = ctx.engine.snapshot
    view: dict[str, Any] = {
        "engine": "unreachable" if snap.error else "ok",
        "engine_error": snap.error,
        "age_s": round(snap.age_s, 1),
    }
    health = snap.health
    if health is None:
        return view | {"status": "unknown", "cameras": {}, "problems": []}
    mine = set(visible_cameras(request, session))
    hidden = [c for c in health.cameras if c not in mine]
    admin = session.user.has_role("admin")
    cameras = {}
    for cam_id, cam in health.cameras.items():
        if cam_id not in mine:
            continue
        data = to_json(cam)
        if not admin:
            for key in _ADMIN_ONLY_CAMERA_KEYS:
                data.pop(key, None)
        if snap.error:  # what the engine said last may no longer hold: not vouched for
            data = {
                "id": cam_id,
                "name": data["name"],
                "enabled": data["enabled"],
                "state": "unknown",
                "motion": None,
                "manual": None,
                "recording": {"active": None},
                "sub": None,
                "main": None,
                "ptz": None,
            }
        cameras[cam_id] = data
    storage = to_json(health.storage)
    storage["cameras"] = {k: v for k, v in storage["cameras"].items() if k in mine}
    if not admin:
        storage.pop("path", None)
        storage.pop("id", None)
    problems = [p for p in health.problems if not any(h in p for h in hidden)]
    view |= {
        "status": "unknown" if snap.error else "degraded" if problems else "ok",
        "problems": problems,
        "uptime_s": None if snap.error else health.uptime_s,
        "panic": None if snap.error else health.panic,
        "storage": None if snap.error else storage,
        "cameras": cameras,
    }
    if admin:
        view |= {
            "pid": health.pid,
            "cpu_pct": health.cpu_pct,
            "rss_bytes": health.rss_bytes,
            "catalog_bytes": health.catalog_bytes,
            "config": to_json(health.config),
        }
    return view


async def health(request: Request) -> Response:
    return JSONResponse(health_view(request, require(request)))


async def cameras(request: Request) -> Response:
    session = require(request)
    view = health_view(request, session)
    rows = [
        {
            "id": cam_id,
            "name": cam.get("name") or cam_id,
            "state": cam.get("state"),
            "recording": cam.get("recording"),
            "motion": cam.get("motion"),
            "sub": cam.get("sub"),
            "main": cam.get("main"),
            "manual": cam.get("manual"),
            "ptz": _ptz(cam.get("ptz")),
        }
        for cam_id, cam in view["cameras"].items()
    ]
    return JSONResponse({"cameras": rows, "panic": view.get("panic"), "engine": view["engine"]})


async def command(request: Request) -> Response:
    """``POST /api/v1/command``: a ``UICommandMessage``; the server fills ``ui_session_id`` and
    any ``by`` with the user, checks the role and the camera, and audits the result."""
    ctx = context(request)
    session = require(request)
    check_csrf(request, session)
    body = await json_body(request)
    name = body.get("command")
    if not isinstance(name, str) or name not in COMMANDS:
        raise Denied(400, f"unknown command {str(name)[:40]!r}", "bad_command")
    user = session.user
    params = body.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise Denied(400, "params must be a JSON object", "bad_command")
    camera_id = body.get("camera_id", "*")
    if not isinstance(camera_id, str):
        raise Denied(400, "camera_id must be a camera id (text), or * for every camera", "bad_id")
    if name in ("ack_alarm", "clear_alarm"):  # alarms are checked one by one, not by camera_id
        require(request, command_role(name))
        params["alarm_id"] = own_alarms(request, session, params.get("alarm_id"))
    elif name in EVERY_CAMERA_COMMANDS:  # in force on every camera whatever camera_id says
        require(request, command_role(name), "*")
    else:
        require(request, command_role(name), camera_id)
    if name == "save_config":
        check_remote_edits(request, params.get("edits"))
    if "by" in COMMANDS[name]:
        params["by"] = user.name
    message = {
        "schema_version": body.get("schema_version", SCHEMA_VERSION),
        "command": name,
        "camera_id": camera_id,
        "ui_session_id": f"web:{user.name}:{session.id}",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "params": params,
    }
    try:
        parsed = parse_command(_json_bytes(message))
    except NvrError as err:
        ctx.audit.record(
            user.name,
            ctx.address(request),
            f"command.{name}",
            message["camera_id"],
            params,
            str(err),
            ok=False,
        )
        raise Denied(400, str(err), getattr(err, "code", "bad_command")) from None
    try:
        status, reply = await ctx.engine.command(
            parsed.command, parsed.camera_id, parsed.ui_session_id, dict(parsed.params)
        )
    except NvrError as err:
        reason = unreachable_text(err) if isinstance(err, EngineUnreachableError) else str(err)
        ctx.audit.record(
            user.name, ctx.address(request), f"command.{name}", parsed.camera_id, params, reason,
            ok=False,
        )  # fmt: skip
        log.warning("command %s from %s not delivered: %s", name, user.name, reason)
        raise Denied(503, reason, "engine_unreachable") from None
    in_force = reply.ok or status == 202  # 202: in force, not every camera answered yet
    result = "ok" if reply.ok else (reply.error or reply.detail or f"HTTP {status}")
    if not in_force:
        log.warning("command %s from %s on %s refused: %s", name, user.name, parsed.camera_id,
                    result)  # fmt: skip
    ctx.audit.record(
        user.name, ctx.address(request), f"command.{name}", parsed.camera_id, params, result,
        ok=in_force,
    )  # fmt: skip
    await ctx.engine.refresh()  # the pages read the state the command left, not the one before
    return JSONResponse(_reply_for(session, reply.to_json()), status_code=status)


# What remote configuration may change: the cameras and the storage budget. Where the files go
# (storage.path, logging.dir), the API, the web server and its proxies stay for whoever holds
# the file on the recorder: a stolen admin session must not point them elsewhere.
REMOTE_EDITABLE = (("cameras",), ("storage", "max_bytes"), ("storage", "min_free_bytes"),
                   ("storage", "retention_check_s"), ("alarms",))  # fmt: skip
MAX_EDIT_DEPTH = 12


def check_remote_edits(request: Request, edits: Any) -> None:
    """Refuse edits outside ``REMOTE_EDITABLE``, a new camera over an existing id, and values
    nested deeper than any setting is."""
    if not isinstance(edits, list):
        return  # the engine's own check names what is wrong
    existing = set(known_cameras(request))
    for edit in edits:
        if not isinstance(edit, dict) or not isinstance(edit.get("path"), list):
            continue
        path = tuple(edit["path"])
        if not any(path[: len(p)] == p for p in REMOTE_EDITABLE):
            shown = ".".join(str(k) for k in path)[:80]
            raise Denied(403, f"{shown} can be changed only in the configuration file on the "
                         "recorder, not from the web", "not_remote")  # fmt: skip
        new_camera = len(path) == 2 and path[0] == "cameras" and not edit.get("delete")
        if new_camera and path[1] in existing:
            raise Denied(409, f"a camera {str(path[1])[:64]!r} exists already: pick another id, "
                         "or edit that camera", "camera_exists")  # fmt: skip
        if _depth(edit.get("value")) > MAX_EDIT_DEPTH:
            raise Denied(400, "a value is nested deeper than any setting", "bad_command")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_EDIT_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _reply_for(session: Session, reply: dict[str, Any]) -> dict[str, Any]:
    """The engine's reply without what the user may not see (other cameras' answers)."""
    if session.user.cameras is None:
        return reply
    if "cameras" in reply:
        reply["cameras"] = {k: v for k, v in reply["cameras"].items() if session.user.may_see(k)}
    if "alarms" in reply:
        reply["alarms"] = [a for a in reply["alarms"] if _may_see(session, a["camera_id"])]
    if reply.get("detail"):
        reply["detail"] = "some of the cameras did not answer in time"
    return reply


def _ptz(ptz: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a page needs to steer a camera: whether it answers, zooms, and its presets."""
    if ptz is None:
        return None
    return {
        "reachable": ptz["reachable"],
        "error": ptz["error"],
        "zoom": ptz["zoom"],
        "presets": [p["name"] for p in ptz["presets"]],
    }


def own_alarms(request: Request, session: Session, alarm_id: Any) -> Any:
    """The alarms a user may acknowledge or clear: those of their cameras and the engine's own.
    ``"*"`` means all of them; ids of other cameras' alarms are refused."""
    if session.user.cameras is None or alarm_id is None:
        return alarm_id  # every camera's: the engine checks the ids
    mine = [a.id for a in context(request).engine.alarms if _may_see(session, a.camera_id)]
    if alarm_id == "*":
        if not mine:
            raise Denied(409, "none of your cameras has an alarm to act on", "no_alarm")
        return mine
    ids = alarm_id if isinstance(alarm_id, list) else [alarm_id]
    for one in ids:
        if one not in mine:
            raise Denied(403, f"alarm {str(one)[:20]} is not one of your cameras'", "camera")
    return alarm_id


def _may_see(session: Session, camera_id: str) -> bool:
    return not camera_id or session.user.may_see(camera_id)


async def snapshot(request: Request) -> Response:
    camera_id = request.path_params["camera_id"]
    require(request, camera=camera_id)
    ctx = context(request)
    width = _int_param(request, "width", 640, 64, 1920)
    health = ctx.engine.snapshot.health
    cam = health.cameras.get(camera_id) if health else None
    try:
        jpeg = await asyncio.to_thread(
            request.app.state.snapshots.jpeg, camera_id, cam.ring if cam else None, width
        )
    except NoPicture as err:
        raise Denied(404, str(err), "no_picture") from None
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


async def audit(request: Request) -> Response:
    session = require(request, "admin")
    ctx = context(request)
    rows = audit_rows(request)
    if request.url.path.endswith(".csv"):
        ctx.audit.record(
            session.user.name,
            ctx.address(request),
            "audit.download",
            "",
            dict(request.query_params),
            f"{len(rows)} rows",
        )
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        return Response(
            to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="nvr-audit-{stamp}.csv"'},
        )
    return JSONResponse(
        {
            "rows": [
                {
                    "id": r.id,
                    "time_ns": r.time_ns,
                    "user": r.user,
                    "address": r.address,
                    "action": r.action,
                    "target": r.target,
                    "params": r.params,
                    "result": r.result,
                    "ok": r.ok,
                }
                for r in rows
            ]
        }
    )


def audit_rows(request: Request) -> list[Any]:
    q = request.query_params
    since = q.get("since")
    return context(request).audit.rows(
        user=q.get("user") or None,
        action=q.get("action") or None,
        since_ns=since_ns(since) if since else None,
        limit=_int_param(request, "limit", 200, 1, 10_000),
    )


def since_ns(text: str) -> int:
    """``since`` as epoch nanoseconds: an integer (ns), or an ISO date or date-time (UTC)."""
    if text.isdigit():
        if len(text) > 19 or int(text) > 2**63 - 1:
            raise Denied(400, "since is too large for a time in nanoseconds", "bad_query")
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Denied(
            400, f"since {text[:40]!r} is not a date (2026-12-01T08:00) or ns", "bad_query"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if not 1970 <= when.year <= 2262:  # what int64 nanoseconds since 1970 can hold
        raise Denied(400, f"since {text[:40]!r} is outside 1970..2262", "bad_query")
    return int(when.timestamp() * 1e9)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise Denied(400, f"{name} must be a whole number from {low} to {high}", "bad_query")
    return int(text)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()
