"""The HTML pages (Jinja2 templates, HTMX partials): login, dashboard, live, playback, admin.

Every figure and badge comes from the engine's latest ``/health`` as the web server last read
it; when the engine stops answering, the pages say so and show no badge they cannot vouch for.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from nvr.config import format_size
from nvr.protocol.alarms import KIND_TITLES
from nvr.protocol.health import CameraStatus
from web.accounts import Session
from web.api import audit_rows, health_view
from web.context import context
from web.guard import Denied, optional_session, require, visible_cameras

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
LAYOUTS = (1, 4, 9, 16)
MAX_PLAYBACK = 4  # cameras played in step on one page
_STATE_TEXT = {
    "live": ("LIVE", "ok"),
    "starting": ("STARTING", "warn"),
    "connecting": ("CONNECTING", "warn"),
    "reconnecting": ("RECONNECTING", "warn"),
    "stalled": ("STALLED", "bad"),
    "offline": ("OFFLINE", "bad"),
    "stopped": ("STOPPED", "bad"),
    "disabled": ("DISABLED", "dim"),
}


def _when(ns: int | None) -> str:
    if not ns:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns / 1e9))


def _when_local(ns: int | None) -> str:
    """The recorder's local time, with its zone: a visitor may be anywhere."""
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(ns / 1e9)) if ns else ""


TEMPLATES.env.filters["when"] = _when
TEMPLATES.env.filters["when_local"] = _when_local


@dataclass(frozen=True, slots=True)
class CameraCard:
    id: str
    key: str  # a DOM id for the camera, whatever characters its id has
    name: str
    state_text: str
    state_class: str
    recording: bool
    rec_type: str
    rec_since: str
    motion: bool
    error: str | None
    stale: bool


def cards(request: Request, session: Session) -> list[CameraCard]:
    ctx = context(request)
    snap = ctx.engine.snapshot
    stale = snap.error is not None or snap.health is None
    health = snap.health
    out = []
    for cam_id in visible_cameras(request, session):
        cam = health.cameras.get(cam_id) if health else None
        out.append(_card(cam_id, cam, stale or cam is None))
    return out


def _card(cam_id: str, cam: CameraStatus | None, stale: bool) -> CameraCard:
    key = "c" + hashlib.sha1(cam_id.encode()).hexdigest()[:10]
    if cam is None:
        return CameraCard(cam_id, key, cam_id, "?", "dim", False, "", "", False, None, True)
    text, cls = _STATE_TEXT.get(cam.state, (cam.state.upper(), "warn"))
    rec = cam.recording
    return CameraCard(
        cam_id,
        key,
        cam.name or cam_id,
        text,
        cls,
        rec.active,
        (rec.type or "").upper(),
        _when(rec.since_ns),
        cam.motion,
        cam.error or rec.error,
        stale,
    )


def _engine(request: Request) -> dict[str, Any]:
    """The header's engine badge: as the user may see it (another camera's trouble is not
    theirs to see, nor to be alarmed by)."""
    snap = context(request).engine.snapshot
    session = optional_session(request)
    if snap.health is None or snap.error is not None or session is None:
        error = snap.error or ("not answered yet" if snap.health is None else None)
        return {
            "error": error,
            "status": "unknown",
            "text": "Engine unreachable" if error else "",
            "title": error or "",
        }
    view = health_view(request, session)
    status = view["status"]
    text = "Engine OK" if status == "ok" else "Engine degraded"
    return {"error": None, "status": status, "text": text, "title": "; ".join(view["problems"])}


def _summary(request: Request, session: Session) -> dict[str, Any]:
    view = health_view(request, session)
    cams = view.get("cameras", {})
    storage = view.get("storage")
    out: dict[str, Any] = {
        "total": len(cams),
        "live": sum(1 for c in cams.values() if c.get("state") == "live"),
        "recording": sum(1 for c in cams.values() if c.get("recording", {}).get("active")),
        "panic": view.get("panic", False),
        "problems": view.get("problems", []),
        "storage": None,
        "alarms": _alarms(request, session),
        "can_panic": session.user.has_role("operator") and session.user.cameras is None,
    }
    if storage and storage.get("total_bytes"):
        days = storage.get("days_capacity")
        out["storage"] = {
            "free": format_size(storage["free_bytes"]),
            "total": format_size(storage["total_bytes"]),
            "recordings": format_size(storage["recordings_bytes"] + storage["writing_bytes"]),
            "days": f"room for about {_days(days)} at this write rate" if days else "",
            "low": bool(storage.get("warning"))
            or storage["free_bytes"] < storage["min_free_bytes"],
        }
    if view.get("engine") != "ok":  # nothing the engine said before may still hold
        age = round(view.get("age_s", 0))
        out |= {"live": "?", "recording": "?", "panic": False, "storage": None, "can_panic": False}
        out["problems"] = [f"{view.get('engine_error')} (last answer {age} s ago)"]
    return out


MAX_ALARMS_SHOWN = 8


def _alarms(request: Request, session: Session) -> list[dict[str, Any]]:
    """The uncleared alarms of the user's cameras (and the engine's own), newest first."""
    operator = session.user.has_role("operator")
    link = context(request).engine
    reachable = link.snapshot.error is None  # a button that could only fail is not shown
    health = link.snapshot.health
    out = []
    for alarm in link.alarms:
        if alarm.camera_id and not session.user.may_see(alarm.camera_id):
            continue
        acked = f"acknowledged by {alarm.acked_by}" if alarm.acked_by else ""
        out.append(
            {
                "id": alarm.id,
                "title": KIND_TITLES.get(alarm.kind, alarm.kind),
                "camera": _camera_name(health, alarm.camera_id),
                "message": alarm.message,
                "raised": _when(alarm.raised_ns),
                "state": ("active" if alarm.active else "ended") + (f", {acked}" if acked else ""),
                "active": alarm.active,
                "can_ack": reachable and operator and not alarm.acknowledged,
                "can_clear": reachable and operator and not alarm.active,
            }
        )
    return out[:MAX_ALARMS_SHOWN]


def _days(days: float) -> str:
    return "1 day" if round(days) == 1 else f"{days:.0f} days" if days >= 1 else "less than a day"


def _camera_name(health: Any, camera_id: str) -> str:
    if not camera_id:
        return "engine"
    cam = health.cameras.get(camera_id) if health is not None else None
    return (cam.name if cam is not None else "") or camera_id


def render(request: Request, name: str, code: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("session", optional_session(request))
    values.setdefault("engine", _engine(request))
    values.setdefault("badge_query", "")
    session = values["session"]
    if session is not None and not name.startswith("_"):  # names for the notifications
        health = context(request).engine.snapshot.health
        values["camera_names"] = {
            cam: (health.cameras[cam].name if health and cam in health.cameras else "") or cam
            for cam in visible_cameras(request, session)
        }
    return TEMPLATES.TemplateResponse(request, name, values, status_code=code)


def login_page(
    request: Request, error: str = "", status: int = 200, username: str = "", then: str = ""
) -> Response:
    """The login form; ``then`` (or ``?next=``) is where it goes once logged in."""
    return render(
        request,
        "login.html",
        status,
        session=None,
        error=error,
        username=username[:64],
        next=(then or request.query_params.get("next", "/"))[:200],
    )


def error_page(request: Request, denied: Denied) -> Response:
    if denied.status == 401:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303)
    titles = {403: "Not allowed", 404: "Not found", 410: "Link no longer valid",
              429: "Too many requests"}  # fmt: skip
    response = render(
        request,
        "error.html",
        denied.status,
        status=denied.status,
        title=titles.get(denied.status, "Cannot do that"),
        reason=denied.reason,
    )
    if denied.retry_after:
        response.headers["Retry-After"] = str(denied.retry_after)
    return response


async def login(request: Request) -> Response:
    if optional_session(request) is not None:
        return RedirectResponse("/", status_code=303)
    return login_page(request)


async def dashboard(request: Request) -> Response:
    session = require(request)
    return render(
        request,
        "dashboard.html",
        page="dashboard",
        cameras=cards(request, session),
        summary=_summary(request, session),
    )


async def live(request: Request) -> Response:
    session = require(request)
    layout = _choice(request, "layout", LAYOUTS, 4)
    cams = cards(request, session)
    pages = max(1, -(-len(cams) // layout))
    page_index = min(_int(request, "page", 0), pages - 1)
    shown = cams[page_index * layout : (page_index + 1) * layout]
    return render(
        request,
        "live.html",
        page="live",
        cameras=shown,
        layout=layout,
        pages=pages,
        page_index=page_index,
        single=None,
    )


async def live_one(request: Request) -> Response:
    camera_id = request.path_params["camera_id"]
    session = require(request, camera=camera_id)
    card = next(c for c in cards(request, session) if c.id == camera_id)
    return render(
        request,
        "live.html",
        page="live",
        cameras=[card],
        layout=1,
        single=card,
        badge_query="?" + urlencode({"camera": camera_id}),
    )


async def playback(request: Request) -> Response:
    """Recorded footage of up to ``MAX_PLAYBACK`` of the user's cameras, played in step."""
    session = require(request)
    mine = visible_cameras(request, session)
    asked = [c for c in request.query_params.get("cameras", "").split(",") if c]
    for cam in asked:
        require(request, camera=cam)
    chosen = list(dict.fromkeys(asked))[:MAX_PLAYBACK] or mine[:1]
    at = request.query_params.get("t", "")
    if not (at.isdigit() and len(at) <= 19 and int(at) < time.time_ns() + 86_400 * 10**9):
        at = ""  # no time, or one that cannot be a recording's: start at the newest
    names = {c.id: c.name for c in cards(request, session)}
    return render(
        request,
        "playback.html",
        page="playback",
        all_cameras=[{"id": c, "name": names.get(c, c)} for c in mine],
        chosen=chosen,
        at_ns=int(at) if at.isdigit() and len(at) <= 19 else 0,
        max_cameras=MAX_PLAYBACK,
    )


async def admin(request: Request) -> Response:
    require(request, "admin")
    return render(request, "admin.html", page="admin")


async def admin_config(request: Request) -> Response:
    require(request, "admin")
    return render(request, "config.html", page="config")


async def system_page(request: Request) -> Response:
    """Workers and storage for operators; the engine's log and backups for admins too."""
    require(request, "operator")
    return render(request, "system.html", page="system")


# -- HTMX partials ------------------------------------------------------------------------------


async def engine_partial(request: Request) -> Response:
    require(request)
    return render(request, "_engine.html")


async def summary_partial(request: Request) -> Response:
    session = require(request)
    return render(request, "_summary.html", summary=_summary(request, session))


async def badges_partial(request: Request) -> Response:
    """Every badge of the page, swapped in by id; ``?camera=`` for a page of one camera."""
    session = require(request)
    only = request.query_params.get("camera")
    shown = [c for c in cards(request, session) if only is None or c.id == only]
    return render(request, "_badges_oob.html", cameras=shown)


async def users_partial(request: Request) -> Response:
    session = require(request, "admin")
    ctx = context(request)
    counts: dict[str, int] = {}
    for s in ctx.accounts.sessions():
        counts[s.user.name] = counts.get(s.user.name, 0) + 1
    return render(
        request, "_users.html", users=ctx.accounts.users(), counts=counts, me=session.user.name
    )


async def sessions_partial(request: Request) -> Response:
    session = require(request, "admin")
    return render(
        request, "_sessions.html", sessions=context(request).accounts.sessions(), current=session.id
    )


async def audit_partial(request: Request) -> Response:
    require(request, "admin")
    try:
        rows = audit_rows(request)
    except Denied as denied:
        return render(request, "_audit.html", rows=[], error=denied.reason)
    return render(request, "_audit.html", rows=rows, error=None)


def _int(request: Request, name: str, default: int) -> int:
    text = request.query_params.get(name, "")
    return int(text) if text.isdigit() and len(text) < 6 else default


def _choice(request: Request, name: str, allowed: tuple[int, ...], default: int) -> int:
    value = _int(request, name, default)
    return value if value in allowed else default
